"""The HTTP server: one thread per connection, one lock around the state, faults applied before the routes.

Standard library only (ThreadingHTTPServer), HTTP/1.1 with keep-alive so alpaca-py's pooled session behaves
as it does against Alpaca. Stopping the server also closes the connections it accepted, so a client whose
pooled connection outlives a restart reconnects to the new server instead of talking to the old one.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import json
import socket
import sys
import threading
import traceback
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

from .api_routes import api
from .control_routes import control
from .errors import BadRequest, BrokerError, MissingCredentials, NotAuthorized
from .faults import Fault, FaultBoard, RequestLog
from .routing import BROKER_AUTH, NO_AUTH, Call, RouteTable
from .state import BrokerStore, SandboxSettings, account_by_key
from .wire import decimal_text

CONTROL_PREFIX = "/_sandbox/"
JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
INTERNAL_ERROR = {"code": 50010000, "message": "internal server error occurred"}

routes = RouteTable()
routes.extend(api)
routes.extend(control)


def _encode(value: object) -> str:
    if isinstance(value, Decimal):
        return decimal_text(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def encode_json(body: object) -> bytes:
    return json.dumps(body, default=_encode).encode()


def authenticate(data: dict, headers, auth: str) -> dict:
    """The account whose key the request carries. No key at all is the gateway's 403, a wrong one Alpaca's 401."""
    key_id, secret = headers.get("APCA-API-KEY-ID"), headers.get("APCA-API-SECRET-KEY")
    authorization = headers.get("Authorization") or ""
    if auth == BROKER_AUTH and not key_id and authorization.startswith("Basic "):
        try:
            key_id, _, secret = base64.b64decode(authorization[6:]).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            key_id = secret = None
    if not key_id or not secret:
        raise MissingCredentials("forbidden.")
    account = account_by_key(data, key_id)
    if account is None or not hmac.compare_digest(account["secret_key"].encode(), secret.encode()):
        raise NotAuthorized("unauthorized" if auth == BROKER_AUTH else "request is not authorized")
    return account


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, settings: SandboxSettings, host: str, port: int) -> None:
        self.store = BrokerStore(settings)
        self.faults = FaultBoard()
        self.request_log = RequestLog()
        self.stopping = threading.Event()
        self._connections: set[socket.socket] = set()
        self._connections_lock = threading.Lock()
        super().__init__((host, port), SandboxRequestHandler)

    @property
    def base_url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def reset(self) -> None:
        self.store.reset()
        self.faults.clear()
        self.request_log.clear()

    def track(self, connection: socket.socket, open_: bool) -> None:
        with self._connections_lock:
            (self._connections.add if open_ else self._connections.discard)(connection)

    def stop(self) -> None:
        """Stop accepting, wake stalled handlers, close every live connection, release the port."""
        self.stopping.set()
        self.shutdown()
        with self._connections_lock:
            connections = list(self._connections)
        for connection in connections:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self.server_close()


class SandboxRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body go out in two writes; without this each answer waits ~40 ms
    server: SandboxServer

    def setup(self) -> None:
        super().setup()
        self.server.track(self.connection, True)

    def finish(self) -> None:
        self.server.track(self.connection, False)
        super().finish()

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the request log at /_sandbox/requests is the record, not stderr."""

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def _serve(self) -> None:
        split = urlsplit(self.path)
        path = unquote(split.path)
        query = dict(parse_qsl(split.query, keep_blank_values=True))
        raw_body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        is_control = path.startswith(CONTROL_PREFIX)
        fault = None if is_control else self.server.faults.take(self.command, path)
        entry = {"method": self.command, "path": path, "query": query, "body": _loggable(raw_body),
                 "account": None, "fault": fault.kind if fault else None}

        if fault and fault.kind in ("http_error", "rate_limit"):
            status, body, headers = fault.error_answer()
        elif fault and fault.kind == "timeout" and not fault.process_request:
            self._stall(fault, entry)
            return
        else:
            status, body = self._dispatch(path, query, raw_body, entry)
            headers = {}
            if fault and fault.kind == "timeout":
                self._stall(fault, entry)
                return
        entry["status"] = status
        if not is_control:
            self.server.request_log.record(entry)
        if fault and fault.kind == "truncated_page":
            self._send_truncated(status, body, fault)
        else:
            self._send(status, body, headers)

    def _dispatch(self, path: str, query: dict[str, str], raw_body: bytes, entry: dict) -> tuple[int, object]:
        store = self.server.store
        try:
            route, params = routes.resolve(self.command, path)
            body = _parse_body(raw_body)
            if route.auth == NO_AUTH and not isinstance(body, dict):
                raise BadRequest("request body format is invalid")
            with store.lock:
                caller = None if route.auth == NO_AUTH else authenticate(store.data, self.headers, route.auth)
                entry["account"] = caller["name"] if caller else None
                try:
                    return route.handler(Call(store.data, caller, params, query, body, self.headers, self.server))
                finally:
                    if route.mutates:
                        store.save()
        except BrokerError as refusal:
            return refusal.status, refusal.body()
        except Exception:  # a sandbox bug: answer like Alpaca's 500 and show the traceback to whoever runs it
            traceback.print_exc(file=sys.stderr)
            return 500, INTERNAL_ERROR

    def _stall(self, fault: Fault, entry: dict) -> None:
        """Hold the request past the client's timeout, then close the connection without answering."""
        entry["status"] = None
        self.server.request_log.record(entry)
        self.server.stopping.wait(fault.delay_seconds)
        self.close_connection = True

    def _send(self, status: int, body: object, headers: dict[str, str]) -> None:
        payload = b"" if status == 204 or body is None else encode_json(body)
        self.send_response(status)
        if payload:
            self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _send_truncated(self, status: int, body: object, fault: Fault) -> None:
        if fault.truncation == "short_page":
            if isinstance(body, list):
                body = body[: len(body) // 2 if fault.keep_items is None else fault.keep_items]
            self._send(status, body, {})
            return
        payload = encode_json(body)
        cut = payload[: len(payload) // 2]
        self.send_response(status)
        self.send_header("Content-Type", JSON_CONTENT_TYPE)
        self.send_header("Content-Length", str(len(cut) if fault.truncation == "bad_json" else len(payload)))
        self.end_headers()
        self.wfile.write(cut)
        self.close_connection = True


def _parse_body(raw_body: bytes) -> object:
    if not raw_body.strip():
        return {}
    try:
        return json.loads(raw_body, parse_float=Decimal)
    except ValueError:
        raise BadRequest("request body format is invalid") from None


def _loggable(raw_body: bytes) -> object:
    try:
        return json.loads(raw_body, parse_float=str) if raw_body.strip() else None
    except ValueError:
        return raw_body.decode(errors="replace")
