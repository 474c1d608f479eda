"""Who gets how much withheld, and how an instrument's dividends are paid.

Withholding: each wallet has a tax category (set by operations from the holder's tax forms: W-8BEN with a
treaty rate, W-9 for US persons...); a wallet nobody classified is "unknown". Rates per category come from
DIVIDEND_WITHHOLDING_RATES (default: unknown 30%, the US statutory rate for foreign persons without a treaty
claim). Tax withheld is owed to DIVIDEND_WITHHOLDING_COUNTRY's tax authority: tax:withheld:<country>.

Payout policy per instrument (stream payout_policy/<ISIN>): airdrop (stablecoin to each holder) or reinvest
(new tokens at a stated reference price), the minimum payout and what happens below it (carry to the holder's
next dividend, or forfeit to the issuer), and a fee rate on the gross. Instruments without a policy use the
DIVIDEND_* defaults.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings

from ledger import store
from ledger.store import NewEvent
from partners.addresses import checksum_address
from partners.errors import InvalidAddress

from . import streams
from .errors import InvalidPolicy, PayoutNotConfigured, UnknownTaxCategory
from .instruments import instrument_for
from .models import HolderTaxProfile, PayoutPolicy

UNKNOWN_CATEGORY = "unknown"


@dataclass(frozen=True)
class Policy:
    mode: str
    minimum_payout: Decimal
    below_minimum: str
    fee_rate: Decimal


def withholding_rates() -> dict[str, Decimal]:
    rates = {category: _fraction(rate, f"DIVIDEND_WITHHOLDING_RATES[{category}]", PayoutNotConfigured)
             for category, rate in settings.DIVIDEND_WITHHOLDING_RATES.items()}
    if UNKNOWN_CATEGORY not in rates:
        raise PayoutNotConfigured("DIVIDEND_WITHHOLDING_RATES has no rate for the unknown category")
    return rates


def tax_categories_of(addresses: list[str]) -> dict[str, str]:
    """Category per address; unknown for wallets nobody classified."""
    known = dict(HolderTaxProfile.objects.filter(address__in=addresses).values_list("address", "category"))
    return {address: known.get(address, UNKNOWN_CATEGORY) for address in addresses}


def set_tax_category(address: str, category: str, *, actor: str) -> HolderTaxProfile:
    """Classify a holder wallet (from its tax forms); the category must have a configured rate."""
    try:
        address = checksum_address(address)
    except InvalidAddress as error:
        raise InvalidPolicy(error.message) from None
    if category not in withholding_rates():
        raise UnknownTaxCategory(f"no withholding rate for category {category!r}; configured: "
                                 f"{', '.join(sorted(settings.DIVIDEND_WITHHOLDING_RATES))}")
    current = HolderTaxProfile.objects.filter(address=address).first()
    store.append(streams.HOLDER_TAX_PROFILE, address, [NewEvent("tax_category_set", {
        "address": address, "category": category, "previous": current.category if current else None})],
        metadata={"actor": actor}, expected_version=current.stream_version if current else store.NO_STREAM)
    return HolderTaxProfile.objects.get(address=address)


def policy_for(isin: str) -> Policy:
    row = PayoutPolicy.objects.filter(isin=isin).first()
    if row is not None:
        return Policy(row.mode, row.minimum_payout, row.below_minimum, row.fee_rate)
    if settings.DIVIDEND_BELOW_MINIMUM not in PayoutPolicy.BelowMinimum.values:
        raise PayoutNotConfigured(f"DIVIDEND_BELOW_MINIMUM must be carry or forfeit, not {settings.DIVIDEND_BELOW_MINIMUM!r}")
    return Policy(PayoutPolicy.Mode.AIRDROP, _money(settings.DIVIDEND_MINIMUM_PAYOUT, "DIVIDEND_MINIMUM_PAYOUT"),
                  settings.DIVIDEND_BELOW_MINIMUM, _fraction(settings.DIVIDEND_FEE_RATE, "DIVIDEND_FEE_RATE"))


def set_payout_policy(symbol: str, *, mode: str, minimum_payout: Decimal | str, below_minimum: str,
                      fee_rate: Decimal | str = Decimal(0), actor: str) -> PayoutPolicy:
    instrument = instrument_for(symbol)
    if mode not in PayoutPolicy.Mode.values:
        raise InvalidPolicy(f"mode must be one of {', '.join(PayoutPolicy.Mode.values)}, not {mode!r}")
    if below_minimum not in PayoutPolicy.BelowMinimum.values:
        raise InvalidPolicy(f"below_minimum must be carry or forfeit, not {below_minimum!r}")
    minimum = _money(minimum_payout, "minimum_payout")
    fee = _fraction(fee_rate, "fee_rate")
    current = PayoutPolicy.objects.filter(isin=instrument.isin).first()
    store.append(streams.PAYOUT_POLICY, instrument.isin, [NewEvent("payout_policy_set", {
        "symbol": instrument.symbol, "isin": instrument.isin, "mode": mode, "minimum_payout": minimum,
        "below_minimum": below_minimum, "fee_rate": fee})],
        metadata={"actor": actor}, expected_version=current.stream_version if current else store.NO_STREAM)
    return PayoutPolicy.objects.get(isin=instrument.isin)


def _decimal(value: object, name: str, error: type = InvalidPolicy) -> Decimal:
    if isinstance(value, (float, bool)):
        raise error(f"{name} must be a decimal string, not a {type(value).__name__}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise error(f"{name} {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise error(f"{name} must be finite")
    return number


def _money(value: object, name: str) -> Decimal:
    amount = _decimal(value, name)
    if amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise InvalidPolicy(f"{name} must be a non-negative amount in whole cents, got {value!r}")
    return amount


def _fraction(value: object, name: str, error: type = InvalidPolicy) -> Decimal:
    rate = _decimal(value, name, error)
    if not 0 <= rate <= 1:
        raise error(f"{name} must be between 0 and 1, got {value!r}")
    return rate
