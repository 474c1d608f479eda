"""Dividend entitlements, exact to the cent: pure functions over Decimals (no database, no chain).

THE ROUNDING RULE (what every payout run applies, and what the report and the tests check):

1. A holder's share equivalent is their token balance at the record date divided by tokens_per_share (exact).
2. gross  = shares x rate, rounded DOWN to the cent. (Down, so the sum of grosses never exceeds the
           dividend due on those shares: we never promise money we did not receive.)
3. tax    = gross x the holder's withholding rate, rounded HALF-UP to the cent (from the gross).
4. fee    = gross x the instrument's fee rate, rounded HALF-UP to the cent, at most gross - tax.
5. net    = gross - tax - fee.
6. Minimum payout: available = net + carried_in (amounts carried for this holder from earlier dividends of
   the instrument on the same network). If available >= the minimum (and > 0, and in reinvest mode buys at
   least one 10^-REINVEST_SHARE_PLACES share) the holder is paid `available`
   and the carried amount is released. Otherwise, by the instrument's rule,
     carry   -> net is carried forward to the holder's next dividend (carried_in stays carried);
     forfeit -> available (net and anything carried before) is forfeited to the issuer.
   Tax and fee are withheld in every case: they are due on the dividend, whether or not it is paid now.
7. Reinvest mode: the paid amount buys shares at the run's stated reference price, rounded DOWN to
   REINVEST_SHARE_PLACES places; cost = shares x price, and available - cost goes to the residue.
8. residue = received - sum(gross) [+ the reinvest remainders]: the cash received that is owed to no
   holder: sub-cent remainders of rule 2, the share of tokens in issuer wallets, and any shares in custody
   beyond the tokens outstanding. It is booked to dividends:residue:<SYM>. received < sum(gross) is refused.

So, per dividend, exactly (Decimal arithmetic, no tolerance):

    paid + withheld + fees + carried_forward + forfeited + residue == received + carried_in_released

and with no earlier carries (carried_in = 0) this is the issue's identity: paid + withheld + carried or
forfeited + residue == the dividend received.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

from ledger.canonical import EXACT, normalize_decimal

CENT = Decimal("0.01")
REINVEST_SHARE_PLACES = 6
REINVEST_QUANTUM = Decimal(1).scaleb(-REINVEST_SHARE_PLACES)
PAY, CARRY, FORFEIT, NONE = "pay", "carry", "forfeit", "none"


@dataclass(frozen=True)
class Holding:
    """One holder on one network at the record date."""

    network: str
    address: str
    balance_units: int
    shares: Decimal
    tax_category: str
    tax_rate: Decimal
    carried_in: Decimal = Decimal(0)


@dataclass(frozen=True)
class Terms:
    rate: Decimal  # gross per share
    received: Decimal  # cash received for the dividend (to the cent)
    minimum_payout: Decimal
    below_minimum: str  # "carry" | "forfeit"
    fee_rate: Decimal = Decimal(0)
    reference_price: Decimal | None = None  # set: reinvest mode


@dataclass(frozen=True)
class Entitlement:
    holding: Holding
    gross: Decimal
    tax: Decimal
    fee: Decimal
    net: Decimal
    outcome: str  # pay | carry | forfeit | none
    paid: Decimal  # cash value delivered now (airdrop: available; reinvest: cost of the shares)
    carried_forward: Decimal  # newly carried for the holder (carry outcome)
    forfeited: Decimal
    carried_in_released: Decimal  # earlier carries paid out or forfeited now
    reinvest_shares: Decimal = Decimal(0)
    reinvest_remainder: Decimal = Decimal(0)


@dataclass(frozen=True)
class Allocation:
    terms: Terms
    entitlements: tuple[Entitlement, ...]
    gross: Decimal
    tax: Decimal
    fees: Decimal
    paid: Decimal
    carried_forward: Decimal
    forfeited: Decimal
    carried_in_released: Decimal
    residue: Decimal
    tax_by_category: dict[str, Decimal] = field(default_factory=dict)

    def totals(self) -> dict[str, Decimal]:
        return {"received": self.terms.received, "gross": self.gross, "tax": self.tax, "fees": self.fees,
                "paid": self.paid, "carried_forward": self.carried_forward, "forfeited": self.forfeited,
                "carried_in_released": self.carried_in_released, "residue": self.residue}


class ShortfallError(ValueError):
    """received < sum of gross entitlements."""

    def __init__(self, received: Decimal, gross: Decimal):
        super().__init__(f"received {received} is less than the holders' gross entitlements {gross}")
        self.received = received
        self.gross = gross


def round_down_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_DOWN, context=EXACT)


def round_half_up_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_UP, context=EXACT)


def entitlement(holding: Holding, terms: Terms) -> Entitlement:
    """Rules 2-7 for one holder."""
    gross = round_down_cent(EXACT.multiply(holding.shares, terms.rate))
    tax = round_half_up_cent(EXACT.multiply(gross, holding.tax_rate))
    fee = min(round_half_up_cent(EXACT.multiply(gross, terms.fee_rate)), gross - tax)
    net = gross - tax - fee
    available = net + holding.carried_in
    zero = Decimal(0)
    if available <= 0:
        return Entitlement(holding, gross, tax, fee, net, NONE, zero, zero, zero, zero)
    shares = zero
    if terms.reference_price is not None:
        shares = EXACT.divide(available, terms.reference_price).quantize(REINVEST_QUANTUM, rounding=ROUND_DOWN,
                                                                          context=EXACT)
    if available < terms.minimum_payout or (terms.reference_price is not None and shares == 0):
        if terms.below_minimum == CARRY:
            return Entitlement(holding, gross, tax, fee, net, CARRY, zero, net, zero, zero)
        return Entitlement(holding, gross, tax, fee, net, FORFEIT, zero, zero, available, holding.carried_in)
    if terms.reference_price is None:
        return Entitlement(holding, gross, tax, fee, net, PAY, available, zero, zero, holding.carried_in)
    cost = EXACT.multiply(shares, terms.reference_price)
    return Entitlement(holding, gross, tax, fee, net, PAY, normalize_decimal(cost), zero, zero, holding.carried_in,
                       reinvest_shares=normalize_decimal(shares),
                       reinvest_remainder=normalize_decimal(available - cost))


def allocate(holdings: Sequence[Holding], terms: Terms) -> Allocation:
    """Every holder's entitlement and the run's totals; ShortfallError if the cash received does not cover
    the gross entitlements."""
    entitlements = tuple(entitlement(holding, terms) for holding in holdings)
    gross = _sum(e.gross for e in entitlements)
    if gross > terms.received:
        raise ShortfallError(terms.received, gross)
    tax_by_category: dict[str, Decimal] = {}
    for e in entitlements:
        if e.tax:
            category = e.holding.tax_category
            tax_by_category[category] = tax_by_category.get(category, Decimal(0)) + e.tax
    residue = terms.received - gross + _sum(e.reinvest_remainder for e in entitlements)
    return Allocation(
        terms=terms, entitlements=entitlements, gross=gross, tax=_sum(e.tax for e in entitlements),
        fees=_sum(e.fee for e in entitlements), paid=_sum(e.paid for e in entitlements),
        carried_forward=_sum(e.carried_forward for e in entitlements),
        forfeited=_sum(e.forfeited for e in entitlements),
        carried_in_released=_sum(e.carried_in_released for e in entitlements),
        residue=normalize_decimal(residue), tax_by_category=tax_by_category,
    )


def _sum(amounts) -> Decimal:
    total = Decimal(0)
    for amount in amounts:
        total = EXACT.add(total, amount)
    return normalize_decimal(total)
