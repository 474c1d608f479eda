"""Every way an append can fail has a name (TigerBeetle-style), each mapped once to an API code."""
from __future__ import annotations


class DomainError(Exception):
    """Base of every named business failure in every app. `code` is the stable machine-readable name the
    API returns (problem+json) and `http_status` its status; management commands print `message` on one
    line and exit 1. Apps subclass it in their own errors.py."""

    code = "domain_error"
    http_status = 400

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class LedgerError(DomainError):
    """Base of ledger failures."""

    code = "ledger_error"


class InvalidEvent(LedgerError):
    """The event or its postings are malformed (bad field, float amount, unknown stream type...)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class UnbalancedPostings(LedgerError):
    code = "unbalanced_postings"


class ConcurrencyError(LedgerError):
    """The stream moved on since the caller read it: expected version is stale."""

    code = "stale_expected_version"
    http_status = 409

    def __init__(self, stream: str, expected: int | None, actual: int):
        super().__init__(f"stream {stream} is at version {actual}, caller expected {expected}")
        self.stream = stream
        self.expected = expected
        self.actual = actual


class IdempotencyConflict(LedgerError):
    """The idempotency key was used before with a different request."""

    code = "idempotency_conflict"
    http_status = 409
