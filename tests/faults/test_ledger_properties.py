"""Property test of the ledger: random sequences of business operations, written as ledger events with the
postings of docs/chart-of-accounts.md (mint = shares secured then mint confirmed, redeem = burn confirmed then
shares released, dividends received and paid, corrections that reverse an earlier event back-dated to its
effective time, and back-dated events generally). After every step the postings verify, per instrument
custody + supply + pending == 0, and with nothing in flight custody == -supply; the bi-temporal
balance(as_of, known_at) matches a model kept in Python. At the end a projection rebuild reproduces exactly
the live projection tables."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test

from ledger import store
from ledger.balances import balance
from ledger.store import NewEvent, Posting
from ledger.verify import verify

from .rebuild import rebuilt_differs_from_live

pytestmark = pytest.mark.django_db
ACTOR = {"actor": "system:property-test"}
BASE = datetime.now(UTC).replace(microsecond=0) - timedelta(days=30)
quantities = st.integers(min_value=1, max_value=50).map(Decimal)
cents = st.integers(min_value=1, max_value=10**6).map(lambda c: Decimal(c) / 100)
back_dating = st.one_of(st.none(), st.integers(min_value=0, max_value=24 * 29).map(lambda h: BASE + timedelta(hours=h)))


@dataclass(frozen=True)
class Booked:
    """One posting as the model knows it."""
    account: str
    asset: str
    amount: Decimal
    effective_at: datetime
    recorded_at: datetime


def shares_accounts(symbol: str) -> dict[str, str]:
    """Each example trades its own symbols at its own custody account and partner, named after the symbol."""
    return {"custody": f"custody:prop-{symbol}:{symbol}", "supply": f"chain:anvil:{symbol}:supply",
            "pending_mint": f"partner:ap-{symbol}:pending-mint:{symbol}",
            "pending_redeem": f"partner:ap-{symbol}:pending-redeem:{symbol}"}


class LedgerMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        suffix = uuid.uuid4().hex[:8].upper()
        self.symbols = [f"P{suffix}A", f"P{suffix}B"]
        self.stream_id = f"property-{suffix}"
        self.booked: list[Booked] = []
        self.events: list[store.RecordedEvent] = []
        self.secured: dict[str, list[Decimal]] = {s: [] for s in self.symbols}  # secured, not yet minted
        self.burned: dict[str, list[Decimal]] = {s: [] for s in self.symbols}  # burned, shares not yet released
        self.dividends: list[tuple[str, str, Decimal]] = []  # (symbol, action id, received cash not yet paid)
        self.first_position: int | None = None

    def model_balance(self, account: str, asset: str, as_of: datetime | None = None,
                      known_at: datetime | None = None) -> Decimal:
        return sum((b.amount for b in self.booked if b.account == account and b.asset == asset
                    and (as_of is None or b.effective_at <= as_of)
                    and (known_at is None or b.recorded_at <= known_at)), Decimal(0))

    def outstanding(self, symbol: str) -> Decimal:
        return -self.model_balance(shares_accounts(symbol)["supply"], symbol)

    def book(self, event_type: str, payload: dict, postings: list[Posting], effective_at: datetime | None) -> None:
        result = store.append("journal", self.stream_id, [NewEvent(event_type, payload, postings=postings,
                                                                    effective_at=effective_at)], metadata=ACTOR)
        recorded = result.events[0]
        self.first_position = self.first_position or recorded.position
        self.events.append(recorded)
        self.booked += [Booked(p.account, p.asset, p.amount, recorded.effective_at, recorded.recorded_at)
                        for p in recorded.postings]

    @rule(symbol_index=st.integers(0, 1), qty=quantities, when=back_dating)
    def shares_secured(self, symbol_index, qty, when):
        symbol = self.symbols[symbol_index]
        a = shares_accounts(symbol)
        self.book("shares_secured", {"qty_shares": qty}, [Posting(a["custody"], symbol, qty),
                                                          Posting(a["pending_mint"], symbol, -qty)], when)
        self.secured[symbol].append(qty)

    @precondition(lambda self: any(self.secured.values()))
    @rule(data=st.data(), when=back_dating)
    def mint_confirmed(self, data, when):
        symbol = data.draw(st.sampled_from([s for s in self.symbols if self.secured[s]]))
        qty = self.secured[symbol].pop(0)
        a = shares_accounts(symbol)
        self.book("mint_confirmed", {"qty_shares": qty}, [Posting(a["pending_mint"], symbol, qty),
                                                          Posting(a["supply"], symbol, -qty)], when)

    @precondition(lambda self: any(self.outstanding(s) > 0 for s in self.symbols))
    @rule(data=st.data(), when=back_dating)
    def burn_confirmed(self, data, when):
        symbol = data.draw(st.sampled_from([s for s in self.symbols if self.outstanding(s) > 0]))
        qty = data.draw(st.integers(1, int(self.outstanding(symbol))).map(Decimal))
        a = shares_accounts(symbol)
        self.book("burn_confirmed", {"qty_shares": qty}, [Posting(a["supply"], symbol, qty),
                                                          Posting(a["pending_redeem"], symbol, -qty)], when)
        self.burned[symbol].append(qty)

    @precondition(lambda self: any(self.burned.values()))
    @rule(data=st.data(), when=back_dating)
    def shares_released(self, data, when):
        symbol = data.draw(st.sampled_from([s for s in self.symbols if self.burned[s]]))
        qty = self.burned[symbol].pop(0)
        a = shares_accounts(symbol)
        self.book("shares_released", {"qty_shares": qty}, [Posting(a["pending_redeem"], symbol, qty),
                                                           Posting(a["custody"], symbol, -qty)], when)

    @rule(symbol_index=st.integers(0, 1), amount=cents, when=back_dating)
    def dividend_received(self, symbol_index, amount, when):
        symbol, action = self.symbols[symbol_index], f"div-{len(self.events)}"
        self.book("dividend_received", {"amount": amount}, [
            Posting(f"custody:prop-{symbol}:cash:USD", "USD", amount),
            Posting(f"dividends:receivable:{symbol}:{action}", "USD", -amount)], when)
        self.dividends.append((symbol, action, amount))

    @precondition(lambda self: self.dividends)
    @rule(when=back_dating)
    def dividend_paid(self, when):
        symbol, action, amount = self.dividends.pop(0)
        self.book("dividend_paid", {"amount": amount}, [
            Posting(f"dividends:receivable:{symbol}:{action}", "USD", amount),
            Posting(f"custody:prop-{symbol}:cash:USD", "USD", -amount)], when)

    @precondition(lambda self: self.events)
    @rule(data=st.data())
    def correction_reverses_an_earlier_event(self, data):
        """A mistake is never edited: a new event negates it, effective when the original was."""
        original = data.draw(st.sampled_from(self.events))
        if original.event_type == "correction":
            return
        self.book("correction", {"reverses_position": original.position},
                  [Posting(p.account, p.asset, -p.amount) for p in original.postings], original.effective_at)
        self.events.remove(original)  # reversed once only
        self.forget_in_flight(original)

    def forget_in_flight(self, original: store.RecordedEvent) -> None:
        """Keep the model's queues of work in flight in step with a reversal."""
        qty = original.payload.get("qty_shares")
        symbol = original.postings[0].asset
        if original.event_type == "shares_secured" and Decimal(qty) in self.secured.get(symbol, []):
            self.secured[symbol].remove(Decimal(qty))
        elif original.event_type == "mint_confirmed":
            self.secured[symbol].append(Decimal(qty))
        elif original.event_type == "burn_confirmed" and Decimal(qty) in self.burned.get(symbol, []):
            self.burned[symbol].remove(Decimal(qty))
        elif original.event_type == "shares_released":
            self.burned[symbol].append(Decimal(qty))
        elif original.event_type == "dividend_received":
            self.dividends = [d for d in self.dividends if d[1] != original.postings[1].account.split(":")[-1]]

    @invariant()
    def postings_verify(self):
        if self.first_position:
            checked = verify(from_position=self.first_position)
            assert checked.ok, checked.summary()

    @invariant()
    def shares_are_conserved_per_instrument(self):
        for symbol in self.symbols:
            a = shares_accounts(symbol)
            custody, supply = balance(a["custody"], symbol), balance(a["supply"], symbol)
            pending = balance(a["pending_mint"], symbol) + balance(a["pending_redeem"], symbol)
            assert custody + supply + pending == 0
            assert custody == self.model_balance(a["custody"], symbol)
            assert supply == self.model_balance(a["supply"], symbol)
            if pending == 0:
                assert custody == -supply  # settled: every token is backed by one share in custody

    @invariant()
    def bitemporal_balances_match_the_model(self):
        if not self.booked:
            return
        moments = sorted({b.effective_at for b in self.booked} | {b.recorded_at for b in self.booked})
        probes = [moments[0] - timedelta(seconds=1), moments[len(moments) // 2], moments[-1]]
        accounts = {(b.account, b.asset) for b in self.booked}
        for account, asset in accounts:
            for as_of in probes:
                for known_at in probes:
                    assert balance(account, asset, as_of=as_of, known_at=known_at) == \
                        self.model_balance(account, asset, as_of, known_at), (account, as_of, known_at)


def test_random_business_operations_keep_the_ledger_balanced_and_bitemporally_exact(db):
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=30, stateful_step_count=20, deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much]))
    assert rebuilt_differs_from_live() == []
