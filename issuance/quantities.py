"""Token quantities: Decimal in the API and database, integer base units on chain, shares in the ledger."""
from __future__ import annotations

from decimal import ROUND_DOWN, Decimal, InvalidOperation

from ledger.canonical import EXACT, normalize_decimal

from .errors import InvalidQuantity

LEDGER_MAX_DECIMALS = 18


def parse_qty(value: object, decimals: int) -> Decimal:
    """A positive token quantity with at most `decimals` places; never a float."""
    if isinstance(value, (float, bool)) or not isinstance(value, (Decimal, int, str)):
        raise InvalidQuantity(f"qty must be a decimal string, integer or Decimal, not {type(value).__name__}")
    try:
        qty = Decimal(value.strip()) if isinstance(value, str) else Decimal(value)
    except InvalidOperation:
        raise InvalidQuantity(f"qty {value!r} is not a decimal number") from None
    if not qty.is_finite() or qty <= 0:
        raise InvalidQuantity(f"qty must be greater than zero, got {value!r}")
    qty = normalize_decimal(qty)
    if -qty.as_tuple().exponent > min(decimals, LEDGER_MAX_DECIMALS):
        raise InvalidQuantity(f"qty {value} has more than {min(decimals, LEDGER_MAX_DECIMALS)} decimal places")
    if qty.adjusted() >= 38 - LEDGER_MAX_DECIMALS:
        raise InvalidQuantity(f"qty {value} is too large")
    return qty


def to_base_units(qty: Decimal, decimals: int) -> int:
    units = EXACT.multiply(qty, Decimal(10) ** decimals)
    if units != units.to_integral_value():
        raise InvalidQuantity(f"qty {qty} is finer than the token's {decimals} decimals")
    return int(units)


def from_base_units(units: int, decimals: int) -> Decimal:
    return normalize_decimal(EXACT.divide(Decimal(units), Decimal(10) ** decimals))


def to_shares(qty: Decimal, tokens_per_share: Decimal) -> Decimal:
    """Share equivalent of a token quantity; must be exact within the ledger's 18 decimal places."""
    shares = normalize_decimal(EXACT.divide(qty, tokens_per_share))
    if -shares.as_tuple().exponent > LEDGER_MAX_DECIMALS:
        raise InvalidQuantity(f"{qty} tokens is not an exact number of shares at {tokens_per_share} tokens per share")
    return shares


def shares_rounded_down(qty: Decimal, tokens_per_share: Decimal) -> Decimal:
    """Share equivalent cut to the ledger's 18 places, for quantities the chain hands us that may not be exact in
    shares (a deposit, a mint nobody requested): they are recorded all the same, never overstated."""
    shares = EXACT.divide(qty, tokens_per_share)
    return normalize_decimal(shares.quantize(Decimal(1).scaleb(-LEDGER_MAX_DECIMALS), ROUND_DOWN, EXACT))
