"""How the deliverer reaches a partner's server: requests, with two rules it does not keep by itself.

- Connect only to a checked address. requests resolves the host again after any check of ours, and a DNS
  answer that changes in between (rebinding, a zero TTL) would reach 127.0.0.1 or our internal network. So the
  connection resolves once, checks every address (endpoints.allowed_addresses) and connects to one of them;
  the URL's host name stays the Host header, the TLS server name and the name the certificate must match.
- A total deadline. requests' timeout bounds the connect and each read, not the whole answer: a server sending
  a byte every few seconds would keep an attempt alive past its claim (delivery.py). At the deadline a timer
  shuts the socket down, which ends whatever read or write is waiting.
Proxies from the environment are ignored: a proxy would resolve the host itself, past the check.
"""
from __future__ import annotations

import contextlib
import socket
import threading
import time

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError
from urllib3.util.connection import create_connection

from .endpoints import allowed_addresses


class _Deadline:
    """Shuts a connection's socket down when the attempt's time is up."""

    def __init__(self, sock: socket.socket, seconds: float):
        self._sock = sock.dup()  # its own descriptor of the same connection: still open after TLS wraps `sock`
        self._timer = threading.Timer(max(seconds, 0.0), self._cut)
        self._timer.daemon = True
        self._timer.start()

    def _cut(self) -> None:
        with contextlib.suppress(OSError):  # already closed: nothing left to cut
            self._sock.shutdown(socket.SHUT_RDWR)

    def cancel(self) -> None:
        self._timer.cancel()
        self._sock.close()


class _CheckedConnection:
    """urllib3's connection, but connected to a checked address of one resolution, within the deadline."""

    _deadline: _Deadline | None = None

    def _new_conn(self) -> socket.socket:
        deadline = time.monotonic() + settings.API_WEBHOOK_TIMEOUT_SECONDS
        error: OSError | None = None
        for address in allowed_addresses(self.host, self.port):
            try:
                sock = create_connection((address, self.port), max(deadline - time.monotonic(), 0.001),
                                         source_address=self.source_address, socket_options=self.socket_options)
            except OSError as exc:  # the next address, as the system would try it
                error = exc
                continue
            self._deadline = _Deadline(sock, deadline - time.monotonic())
            return sock
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")

    def close(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().close()


class _CheckedHTTPConnection(_CheckedConnection, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnection, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST once, without following redirects; the HTTP status of the answer (its body is not read: only the
    status counts). InvalidWebhookUrl when the host resolves to an address we may not reach, requests.Timeout
    past the deadline, another requests.RequestException for anything else that went wrong on the way."""
    timeout = settings.API_WEBHOOK_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        session.trust_env = False
        session.mount("http://", _CheckedAdapter())
        session.mount("https://", _CheckedAdapter())
        try:
            with session.post(url, data=body, headers=headers, allow_redirects=False, stream=True,
                              timeout=timeout) as response:
                status_code = response.status_code
        except requests.RequestException:
            if time.monotonic() < deadline:
                raise
    if time.monotonic() >= deadline:  # cut at the deadline: what arrived before the cut is no answer
        raise requests.Timeout(f"no complete answer within {timeout:g} s")
    return status_code
