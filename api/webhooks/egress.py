"""How the deliverer reaches a partner's server: requests, with rules it does not keep by itself.

- Connect only to a checked address. requests resolves the host again after any check of ours, and a DNS
  answer that changes in between (rebinding, a zero TTL) would reach 127.0.0.1 or our internal network. So the
  connection resolves once, checks every address (endpoints.allowed_addresses) and connects to one of them;
  the URL's host name stays the Host header, the TLS server name and the name the certificate must match.
- Verify certificates with the CA bundle the operator configured (API_WEBHOOK_CA_BUNDLE, by default
  REQUESTS_CA_BUNDLE or SSL_CERT_FILE; requests' own certifi bundle when none is set): a partner behind a
  private CA, or a network that inspects TLS, is reached as the rest of the process reaches its services.
- A total deadline. requests' timeout bounds the connect and each read, not the whole answer: a server sending
  a byte every few seconds would keep an attempt alive past its claim (delivery.py). At the deadline a timer
  shuts the socket down, which ends whatever read or write is waiting.
- Proxies: only API_WEBHOOK_PROXY_URL, never the environment's (HTTPS_PROXY... are set for the process's other
  clients, and a proxy resolves the host itself, past our check). Through it, each attempt opens a CONNECT
  tunnel to the URL's host and port, by name: the address is the proxy's to resolve, so refusing non-public
  destinations is then the proxy's job (docs/security.md). TLS still runs end to end through the tunnel, verified
  against the URL's host name.
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


class _DeadlineConnection:
    """urllib3's connection, connected within the attempt's deadline, which then keeps watching it."""

    _deadline: _Deadline | None = None

    def _new_conn(self) -> socket.socket:
        deadline = time.monotonic() + settings.API_WEBHOOK_TIMEOUT_SECONDS
        sock = self._connect(deadline)
        self._deadline = _Deadline(sock, deadline - time.monotonic())
        return sock

    def _connect(self, deadline: float) -> socket.socket:
        raise NotImplementedError

    def close(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        super().close()


class _CheckedConnection(_DeadlineConnection):
    """Connected to a checked address of one resolution of the partner's host."""

    def _connect(self, deadline: float) -> socket.socket:
        error: OSError | None = None
        for address in allowed_addresses(self.host, self.port):
            try:
                return create_connection((address, self.port), max(deadline - time.monotonic(), 0.001),
                                         source_address=self.source_address, socket_options=self.socket_options)
            except OSError as exc:  # the next address, as the system would try it
                error = exc
        raise NewConnectionError(self, f"Failed to establish a new connection: {error}")


class _ProxyConnection(_DeadlineConnection):
    """Connected to the operator's proxy (its host and port are the connection's), which the partner's URL cannot
    name: whatever it resolves to is where the operator chose to send webhooks."""

    def _connect(self, deadline: float) -> socket.socket:
        try:
            return create_connection((self.host, self.port), max(deadline - time.monotonic(), 0.001),
                                     source_address=self.source_address, socket_options=self.socket_options)
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc


class _CheckedHTTPConnection(_CheckedConnection, HTTPConnection):
    pass


class _CheckedHTTPSConnection(_CheckedConnection, HTTPSConnection):
    pass


class _ProxyHTTPConnection(_ProxyConnection, HTTPConnection):
    pass


class _ProxyHTTPSConnection(_ProxyConnection, HTTPSConnection):
    pass


class _CheckedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _CheckedHTTPConnection


class _CheckedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _CheckedHTTPSConnection


class _ProxyHTTPPool(HTTPConnectionPool):
    ConnectionCls = _ProxyHTTPConnection


class _ProxyHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _ProxyHTTPSConnection


class _CheckedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _CheckedHTTPPool, "https": _CheckedHTTPSPool}

    def proxy_manager_for(self, proxy: str, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        manager.pool_classes_by_scheme = {"http": _ProxyHTTPPool, "https": _ProxyHTTPSPool}
        return manager


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    """POST once, without following redirects; the HTTP status of the answer (its body is not read: only the
    status counts). InvalidWebhookUrl when the host resolves to an address we may not reach, requests.Timeout
    past the deadline, another requests.RequestException for anything else that went wrong on the way."""
    timeout = settings.API_WEBHOOK_TIMEOUT_SECONDS
    deadline = time.monotonic() + timeout
    with requests.Session() as session:
        session.trust_env = False  # neither proxies nor a CA bundle from the environment: settings say which
        session.verify = settings.API_WEBHOOK_CA_BUNDLE or True
        if settings.API_WEBHOOK_PROXY_URL:
            session.proxies = {"http": settings.API_WEBHOOK_PROXY_URL, "https": settings.API_WEBHOOK_PROXY_URL}
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
