"""Faults a test arms for the next N matching requests, and the log of what clients actually sent.

A fault matches on HTTP method ("*" for any) and a path prefix, fires on the next `count` matching requests,
then disarms itself. Kinds:

  http_error      answer `status` (default 500) with Alpaca's error body, before the request takes effect
  rate_limit      answer 429 with a Retry-After header (seconds), before the request takes effect
  timeout         stall for delay_seconds, then drop the connection without an answer; with
                  process_request=true the request takes effect first (an order placed whose answer is lost)
  truncated_page  let the request take effect, then damage the answer: short_page (a list cut to keep_items,
                  default half), bad_json (the body cut in the middle, Content-Length honest) or
                  incomplete_body (Content-Length promises more than is sent before the connection closes)

Both live in memory only: they belong to one test, not to the broker's books.
"""
from __future__ import annotations

import threading
from collections import deque
from dataclasses import asdict, dataclass

from .errors import InvalidRequest
from .wire import timestamp_text, utc_now

FAULT_KINDS = ("http_error", "rate_limit", "timeout", "truncated_page")
TRUNCATIONS = ("short_page", "bad_json", "incomplete_body")
ERROR_MESSAGES = {
    500: "internal server error occurred",
    502: "bad gateway",
    503: "service unavailable",
    504: "gateway timeout",
}
REQUEST_LOG_LIMIT = 10_000


@dataclass
class Fault:
    kind: str
    method: str = "*"
    path_prefix: str = "/"
    count: int = 1
    status: int = 500
    retry_after: int = 1
    delay_seconds: float = 10.0
    process_request: bool = False
    truncation: str = "short_page"
    keep_items: int | None = None

    def matches(self, method: str, path: str) -> bool:
        return self.method in ("*", method) and path.startswith(self.path_prefix)

    def error_answer(self) -> tuple[int, dict, dict[str, str]]:
        """The status, body and headers of an http_error or rate_limit fault."""
        if self.kind == "rate_limit":
            return 429, {"code": 42910000, "message": "rate limit exceeded"}, {"Retry-After": str(self.retry_after)}
        return self.status, {"code": self.status * 100_000 + 10_000,
                             "message": ERROR_MESSAGES.get(self.status, "request failed")}, {}


def parse_fault(spec: dict) -> Fault:
    known = set(Fault.__dataclass_fields__)
    unknown = set(spec) - known
    if unknown:
        raise InvalidRequest(f"unknown fault fields: {', '.join(sorted(unknown))}")
    try:
        fault = Fault(**spec)
    except TypeError:
        raise InvalidRequest("kind is required") from None
    if fault.kind not in FAULT_KINDS:
        raise InvalidRequest(f"kind must be one of {', '.join(FAULT_KINDS)}")
    if fault.truncation not in TRUNCATIONS:
        raise InvalidRequest(f"truncation must be one of {', '.join(TRUNCATIONS)}")
    numbers = (fault.count, fault.status, fault.retry_after, fault.delay_seconds)
    if not all(isinstance(number, (int, float)) and not isinstance(number, bool) for number in numbers):
        raise InvalidRequest("count, status, retry_after and delay_seconds must be numbers")
    if fault.count < 1 or not 400 <= fault.status <= 599 or fault.delay_seconds < 0:
        raise InvalidRequest("count must be at least 1, status 400-599, delay_seconds not negative")
    fault.method = fault.method.upper()
    return fault


class FaultBoard:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[Fault] = []

    def arm(self, spec: dict) -> Fault:
        fault = parse_fault(spec)
        with self._lock:
            self._faults.append(fault)
        return fault

    def clear(self) -> None:
        with self._lock:
            self._faults.clear()

    def armed(self) -> list[dict]:
        with self._lock:
            return [asdict(fault) for fault in self._faults]

    def take(self, method: str, path: str) -> Fault | None:
        """The first armed fault matching this request, with one use spent."""
        with self._lock:
            for fault in self._faults:
                if fault.matches(method, path):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None


class RequestLog:
    """The last REQUEST_LOG_LIMIT Alpaca-API requests with what was answered, for assertions in tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: deque[dict] = deque(maxlen=REQUEST_LOG_LIMIT)
        self._sequence = 0

    def record(self, entry: dict) -> None:
        with self._lock:
            self._sequence += 1
            self._entries.append({"seq": self._sequence, "at": timestamp_text(utc_now()), **entry})

    def entries(self, method: str | None = None, path_prefix: str | None = None) -> list[dict]:
        with self._lock:
            return [entry for entry in self._entries
                    if (method is None or entry["method"] == method.upper())
                    and (path_prefix is None or entry["path"].startswith(path_prefix))]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
