"""Canonical encoding: the bytes every event hash is computed over.

The rule, reproducible in any language (tools/verify_export.py re-implements it with the standard library):
- JSON, UTF-8, object keys sorted by code point, separators "," and ":" with no whitespace, non-ASCII
  characters written as themselves (not \\u escapes).
- Decimals are JSON strings in plain notation: no exponent, no trailing zeros after the point, no point for
  integers, "0" for zero (never "-0"). `Decimal("1.50")` -> "1.5", `Decimal("1E+2")` -> "100".
- Timestamps are UTC ISO 8601 with exactly six fractional digits and a "Z": 2026-03-30T00:00:00.000000Z.
- Integers stay within +-(2**53 - 1) (I-JSON, RFC 7493) so every JSON reader keeps them exact; larger
  quantities (token base units) are decimal strings.
- Floats are refused everywhere: binary floats cannot represent share quantities or cents exactly.

orjson produces exactly these bytes (tests/ledger/test_canonical.py checks it against the standard
library encoder the standalone verifier uses) and is several times faster.
"""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from decimal import Context, Decimal, DecimalException, InvalidOperation
from typing import Any

import orjson

from .errors import InvalidEvent

GENESIS_HASH = "0" * 64
AMOUNT_MAX_SCALE = 18  # NUMERIC(38, 18) in the postings table
AMOUNT_MAX_INTEGER_DIGITS = 20
# Sums of NUMERIC(38, 18) amounts never round in this context (the default one keeps only 28 digits).
EXACT = Context(prec=100)
MAX_SAFE_INTEGER = 2**53 - 1


def normalize_decimal(value: Decimal) -> Decimal:
    """Strip trailing zeros exactly. Decimal.normalize() alone rounds to the context's 28 digits.

    A value beyond the context's exponent range (1E+999999999) raises decimal.Overflow, an ArithmeticError
    no caller expects: it becomes InvalidEvent, a named refusal, like any other malformed amount."""
    if value == 0:
        return Decimal(0)
    digits = len(value.as_tuple().digits)
    try:
        return value.normalize(EXACT if digits <= EXACT.prec else Context(prec=digits))
    except DecimalException:
        raise InvalidEvent("invalid_amount", f"{value} is outside the range of exact decimals") from None


def decimal_str(value: Decimal) -> str:
    if not value.is_finite():
        raise InvalidEvent("invalid_amount", f"amount must be a finite number, got {value}")
    return format(normalize_decimal(value), "f")


def parse_amount(value: Any, field: str = "amount") -> Decimal:
    """A posting amount: Decimal, int or decimal string; never float; at most 18 decimal places."""
    if isinstance(value, bool) or isinstance(value, float):
        raise InvalidEvent("float_not_allowed" if isinstance(value, float) else "invalid_amount",
                           f"{field} must be a Decimal or decimal string, not {type(value).__name__}")
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, str):
        try:
            amount = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidEvent("invalid_amount", f"{field} {value!r} is not a decimal number") from None
    else:
        raise InvalidEvent("invalid_amount", f"{field} must be a Decimal or decimal string, not {type(value).__name__}")
    if not amount.is_finite():
        raise InvalidEvent("invalid_amount", f"{field} must be finite, got {value!r}")
    normalized = normalize_decimal(amount)
    if normalized != 0 and -normalized.as_tuple().exponent > AMOUNT_MAX_SCALE:
        raise InvalidEvent("invalid_amount", f"{field} {value!r} has more than {AMOUNT_MAX_SCALE} decimal places")
    if normalized != 0 and normalized.adjusted() >= AMOUNT_MAX_INTEGER_DIGITS:
        raise InvalidEvent("invalid_amount", f"{field} {value!r} is too large")
    return normalized


def timestamp_str(value: datetime) -> str:
    if value.tzinfo is None:
        raise InvalidEvent("naive_timestamp", "timestamps must be timezone-aware")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def normalize_json(value: Any, path: str = "payload") -> Any:
    """Payload/metadata value -> JSON-safe value with decimals as canonical strings. Refuses floats."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, str):
        return _text(value, path)
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise InvalidEvent("integer_out_of_range", f"{path} is beyond 2**53; write large quantities as decimal strings")
        return value
    if isinstance(value, float):
        raise InvalidEvent("float_not_allowed", f"{path} is a float; use a Decimal or a decimal string")
    if isinstance(value, Decimal):
        return decimal_str(value)
    if isinstance(value, datetime):
        return timestamp_str(value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidEvent("invalid_payload", f"{path} has a non-string key {key!r}")
            out[_text(key, path)] = normalize_json(item, f"{path}.{key}")
        return out
    if isinstance(value, (list, tuple)):
        return [normalize_json(item, f"{path}[{i}]") for i, item in enumerate(value)]
    raise InvalidEvent("invalid_payload", f"{path} has unsupported type {type(value).__name__}")


def _text(value: str, path: str) -> str:
    """Strings must survive PostgreSQL's jsonb and UTF-8: no NUL, no lone surrogate."""
    if "\x00" in value:
        raise InvalidEvent("invalid_payload", f"{path} contains a NUL character")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidEvent("invalid_payload", f"{path} is not valid Unicode text") from None
    return value


def dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def loads(text: str | bytes) -> Any:
    return orjson.loads(text)


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def postings_json(legs: list[tuple[str, str, str]]) -> str:
    """Canonical JSON of postings given (account, asset, canonical amount string) triples."""
    return dumps([{"account": a, "asset": s, "amount": m} for a, s, m in legs])


def document_parts(*, event_type: str, schema_version: int, stream_id: str, stream_type: str,
                   payload_json: str, metadata_json: str, postings_json: str) -> tuple[str, str, str]:
    """The canonical event document, keys in sorted order, split around the fields only known under the
    append lock. The whole document is:

        '{"effective_at":"' + effective_at + head + position + mid + prev_hash
        + '","recorded_at":"' + recorded_at + '"' + tail + version + '}'

    which is byte for byte dumps() of the event dict. The same parts feed the Python hash below and the
    SQL function ledger_append_small (migrations 0003-0005).
    """
    head = '","event_type":' + dumps(event_type) + ',"metadata":' + metadata_json + ',"payload":' + payload_json + ',"position":'
    mid = ',"postings":' + postings_json + ',"prev_hash":"'
    tail = (',"schema_version":' + str(schema_version) + ',"stream_id":' + dumps(stream_id)
            + ',"stream_type":' + dumps(stream_type) + ',"version":')
    return head, mid, tail


def event_hash_from_parts(
    *,
    position: int,
    stream_type: str,
    stream_id: str,
    version: int,
    event_type: str,
    schema_version: int,
    payload_json: str,
    metadata_json: str,
    recorded_at: str,
    effective_at: str,
    postings_json: str,
    prev_hash: str,
) -> str:
    """SHA-256 of the canonical event document, assembled from already-canonical JSON parts (no payload is
    encoded twice on the write path, nor decoded and re-encoded beyond once in verify_ledger)."""
    head, mid, tail = document_parts(event_type=event_type, schema_version=schema_version, stream_id=stream_id,
                                     stream_type=stream_type, payload_json=payload_json,
                                     metadata_json=metadata_json, postings_json=postings_json)
    return sha256_hex('{"effective_at":"' + effective_at + head + str(position) + mid + prev_hash
                      + '","recorded_at":"' + recorded_at + '"' + tail + str(version) + "}")


def event_hash(*, payload: Any, metadata: Any, postings: list[dict[str, str]], **fields: Any) -> str:
    """SHA-256 over the canonical encoding of one event, its postings and the previous event's hash."""
    return event_hash_from_parts(
        payload_json=dumps(payload), metadata_json=dumps(metadata), postings_json=dumps(postings), **fields
    )
