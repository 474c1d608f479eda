"""The rounding rule, over random holder sets (Hypothesis): every cent received is paid, withheld, charged,
carried, forfeited or documented residue — exactly, in Decimal — and each holder's postings balance."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from corporate_actions.entitlements import CENT, CARRY, FORFEIT, PAY, Holding, ShortfallError, Terms, allocate
from corporate_actions.runs import _entitlement_postings

RATES = {"unknown": Decimal("0.30"), "us_person": Decimal(0), "treaty_15": Decimal("0.15"), "exempt": Decimal(0)}


def decimals(low: str, high: str, places: int):
    return st.decimals(min_value=Decimal(low), max_value=Decimal(high), places=places, allow_nan=False,
                       allow_infinity=False)


holding = st.builds(
    lambda index, shares, category, carried: Holding("anvil", f"0x{index:040x}", int(shares * 10**6), shares, category,
                                                     RATES[category], carried),
    st.integers(min_value=1, max_value=10**9), decimals("0", "100000", 6), st.sampled_from(sorted(RATES)),
    st.one_of(st.just(Decimal(0)), decimals("0", "3", 2)))


@st.composite
def dividends(draw):
    holdings = draw(st.lists(holding, min_size=1, max_size=120, unique_by=lambda h: h.address))
    rate = draw(decimals("0.0001", "25", 4))
    due = sum((h.shares * rate for h in holdings), Decimal(0))
    received = (due + draw(decimals("0", "50", 2))).quantize(CENT)  # cash for issuer wallets, spare shares...
    price = draw(st.one_of(st.none(), decimals("0.5", "5000", 2)))
    terms = Terms(rate=rate, received=received, minimum_payout=draw(decimals("0", "5", 2)),
                  below_minimum=draw(st.sampled_from([CARRY, FORFEIT])), fee_rate=draw(decimals("0", "0.05", 4)),
                  reference_price=price)
    return holdings, terms


@settings(max_examples=300, deadline=None)
@given(dividends())
def test_paid_withheld_fees_carried_forfeited_and_residue_add_up_to_the_cash_received(dividend):
    holdings, terms = dividend
    allocation = allocate(holdings, terms)

    accounted = (allocation.paid + allocation.tax + allocation.fees + allocation.carried_forward + allocation.forfeited
                 + allocation.residue)
    assert accounted == terms.received + allocation.carried_in_released
    assert allocation.residue >= 0
    for e in allocation.entitlements:
        exact = e.holding.shares * terms.rate
        assert e.gross <= exact < e.gross + CENT and e.gross == e.gross.quantize(CENT)  # rounded down to the cent
        assert e.tax == (e.gross * e.holding.tax_rate).quantize(CENT, rounding="ROUND_HALF_UP")
        assert e.net == e.gross - e.tax - e.fee >= 0
        if e.outcome == PAY:
            assert e.paid + e.reinvest_remainder == e.net + e.holding.carried_in >= terms.minimum_payout
            if terms.reference_price is None:
                assert e.paid == e.paid.quantize(CENT)
            else:
                assert 0 <= e.reinvest_remainder < terms.reference_price * Decimal("0.000001")
        else:
            assert e.paid == 0


@settings(max_examples=200, deadline=None)
@given(dividends())
def test_each_holders_postings_balance_and_clear_the_receivable_by_their_gross(dividend):
    holdings, terms = dividend
    allocation = allocate(holdings, terms)
    action = SimpleNamespace(id="ca-test", symbol="TEST", currency="USD", pay_date=date(2026, 3, 13))
    receivable = "dividends:receivable:TEST:2026-03-13"

    for e in allocation.entitlements:
        totals: dict[str, Decimal] = defaultdict(Decimal)
        legs = _entitlement_postings(action, e)
        for leg in legs:
            assert leg.amount != 0
            totals[leg.asset] += leg.amount
        assert all(total == 0 for total in totals.values())
        assert sum(leg.amount for leg in legs if leg.account == receivable) == e.gross


@given(st.lists(holding, min_size=1, max_size=20, unique_by=lambda h: h.address), decimals("0.01", "10", 2))
def test_less_cash_than_the_gross_entitlements_is_refused(holdings, rate):
    gross = sum(((h.shares * rate).quantize(CENT, rounding="ROUND_DOWN") for h in holdings), Decimal(0))
    assume(gross > 0)
    terms = Terms(rate=rate, received=gross - CENT, minimum_payout=Decimal(0), below_minimum=CARRY)
    with pytest.raises(ShortfallError) as shortfall:
        allocate(holdings, terms)
    assert shortfall.value.gross == gross
