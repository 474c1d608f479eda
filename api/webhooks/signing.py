"""Signatures receivers check (docs/webhooks.md): HMAC-SHA256 over "<timestamp>.<raw body>" with the
endpoint's secret, sent as `X-Shareledger-Signature: t=<unix seconds>,v1=<hex digest>`. The timestamp is
inside the signed text, so a captured request cannot be replayed later with a fresh timestamp."""
from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Shareledger-Signature"


def signature(secret: str, timestamp: int, body: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()


def signature_header(secret: str, timestamp: int, body: bytes) -> str:
    return f"t={timestamp},v1={signature(secret, timestamp, body)}"
