"""How values look on Alpaca's wire: decimals as plain strings, RFC 3339 timestamps, Eastern-time trade dates.

Alpaca sends every quantity and amount as a JSON string ("10", "190.12") and every timestamp in UTC with
microseconds and a Z. Keeping those conversions in one module means the state file and every response
share one spelling, and no float ever enters the arithmetic.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from .errors import InvalidRequest

EASTERN = ZoneInfo("America/New_York")


def decimal_text(value: Decimal) -> str:
    """Plain notation without exponent or trailing zeros: Decimal("100.00") -> "100", Decimal("0.50") -> "0.5"."""
    if value == 0:
        return "0"
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def parse_decimal(value: object, field: str) -> Decimal:
    """A decimal from a JSON string or a JSON number already parsed as Decimal (never via float)."""
    if isinstance(value, bool) or value is None:
        raise InvalidRequest(f"{field} is required" if value is None else f"invalid {field}")
    if isinstance(value, (Decimal, int)):
        number = Decimal(value)
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise InvalidRequest(f"invalid {field}: {value!r}") from None
    else:
        raise InvalidRequest(f"invalid {field}")
    if not number.is_finite():
        raise InvalidRequest(f"invalid {field}: {value!r}")
    return number


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


def timestamp_text(moment: datetime) -> str:
    """RFC 3339 in UTC with microseconds, the way Alpaca writes created_at and transaction_time."""
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def eastern_timestamp_text(moment: datetime) -> str:
    """RFC 3339 in New York time with its offset, the way /v2/clock writes its fields."""
    return moment.astimezone(EASTERN).isoformat()


def trade_date(moment: datetime) -> date:
    """US equities book by the New York calendar day."""
    return moment.astimezone(EASTERN).date()


def parse_timestamp(text: str, field: str) -> datetime:
    """Accept YYYY-MM-DD (midnight New York time) or an RFC 3339 timestamp with Z or an offset."""
    candidate = text.strip()
    try:
        if len(candidate) == 10:
            return datetime.combine(date.fromisoformat(candidate), time(0), EASTERN)
        moment = datetime.fromisoformat(candidate.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"failed to parse {field}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def parse_date(text: str, field: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise InvalidRequest(f"failed to parse {field}") from None


def activity_id_prefix(moment: datetime) -> str:
    """Alpaca activity ids start with the New York wall-clock time to the millisecond: 20190524113406977."""
    eastern = moment.astimezone(EASTERN)
    return eastern.strftime("%Y%m%d%H%M%S") + f"{eastern.microsecond // 1000:03d}"


def truncate_to_millisecond(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond // 1000 * 1000)


ONE_MILLISECOND = timedelta(milliseconds=1)
