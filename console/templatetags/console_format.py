"""Display helpers: decimals in plain notation (Decimal("1E+2") would print as 1E+2), ratios, ages."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from django import template

from ledger.canonical import normalize_decimal

register = template.Library()


@register.filter
def amount(value) -> str:
    """1234.5 -> "1,234.5"; exact, no rounding, no exponent."""
    if value is None or value == "":
        return ""
    return format(normalize_decimal(Decimal(value)), ",f")


@register.filter
def age(moment: datetime | None) -> str:
    """How long ago, coarse: "42 s", "17 min", "5 h", "3 d"."""
    if moment is None:
        return ""
    seconds = int((datetime.now(UTC) - moment).total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{seconds // size} {unit}"
    return f"{max(seconds, 0)} s"
