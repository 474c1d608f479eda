"""A run as of a past time compares an Alpaca account's positions observation (taken at a precise moment) with
the ledger's balance at that time. Alpaca dates its non-trade activities (JNLS, SPLIT...) without a time, so
custody books them at the start of their New York day: the ledger then holds a journal from 00:00 that the
broker made at 14:00. An observation taken that morning cannot show it, and must not be called drift."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from custody.activity_sync import record_activity
from custody.models import CustodyAccount
from custody.services import create_instrument
from ledger import store
from ledger.store import NewEvent
from reconciliation import services

from .conftest import OPS, valid_isin

pytestmark = pytest.mark.django_db

DAY = "2025-11-24"  # New York is UTC-5 that day


def ny(hour: int, minute: int = 0) -> datetime:
    return datetime(2025, 11, 24, hour + 5, minute, tzinfo=UTC)


@pytest.fixture
def broker_account(db, unique) -> tuple[CustodyAccount, str]:
    """An Alpaca account that bought 100 shares at 09:35, was observed holding them at 10:00, received a journal
    of 10 shares at 14:00 (Alpaca says only: on DAY) and was observed holding 110 at 14:05."""
    symbol = f"D{unique[:8].upper()}"
    create_instrument(symbol, "Dated Activity Test", valid_isin(f"XS{unique[:9].upper()}"), actor=OPS)
    account = CustodyAccount.objects.create(name=f"alpaca-{unique}", kind="alpaca")
    record_activity(account.name, {"id": f"20251124093500000::{uuid.uuid4()}", "activity_type": "FILL",
                                   "symbol": symbol, "side": "buy", "qty": "100", "price": "10",
                                   "transaction_time": ny(9, 35).isoformat()})
    observe(account, symbol, "100", ny(10))
    record_activity(account.name, {"id": f"20251124140000000::{uuid.uuid4()}", "activity_type": "JNLS",
                                   "symbol": symbol, "qty": "10", "net_amount": "0", "date": DAY,
                                   "description": "partner journal"})
    observe(account, symbol, "110", ny(14, 5))
    return account, symbol


def observe(account: CustodyAccount, symbol: str, qty: str, at: datetime) -> None:
    store.append("custody_account", account.name, [NewEvent("positions_observed", {
        "positions": {symbol: {"qty": qty, "qty_available": qty}}, "as_of": at.isoformat(), "raw_sha256": "0" * 64,
    })], metadata={"actor": OPS})


def custody_source(result, account: CustodyAccount) -> dict:
    from reconciliation.models import ReconciliationRun
    run = ReconciliationRun.objects.get(run_id=result.run_id)
    return next(source for source in run.sources if source["source"] == f"custody:{account.name}")


def test_a_run_as_of_the_morning_does_not_call_a_journal_dated_that_day_drift(broker_account):
    account, symbol = broker_account

    result = services.run_reconciliation([symbol], as_of=ny(10, 30))

    assert "ledger_drift" not in {outcome.found.kind for outcome in result.breaks}
    (line,) = result.instruments
    assert line.status == "incomplete" and line.shares_in_custody is None
    source = custody_source(result, account)
    assert source["status"] == "stale"
    assert f"JNLS on {DAY}" in source["detail"] and "time within the day" in source["detail"]


def test_a_run_as_of_after_the_observation_that_shows_the_journal_compares_it(broker_account):
    account, symbol = broker_account

    result = services.run_reconciliation([symbol], as_of=ny(14, 20))

    assert "ledger_drift" not in {outcome.found.kind for outcome in result.breaks}
    assert custody_source(result, account)["status"] == "ok"
    (line,) = result.instruments
    assert line.shares_in_custody == Decimal(110)


def test_a_fill_after_the_observation_is_not_drift_either(broker_account):
    account, symbol = broker_account
    record_activity(account.name, {"id": f"20251124143000000::{uuid.uuid4()}", "activity_type": "FILL",
                                   "symbol": symbol, "side": "sell", "qty": "5", "price": "10",
                                   "transaction_time": ny(14, 30).isoformat()})
    observe(account, symbol, "105", ny(14, 50))

    result = services.run_reconciliation([symbol], as_of=ny(14, 40))

    assert "ledger_drift" not in {outcome.found.kind for outcome in result.breaks}
    source = custody_source(result, account)
    assert source["status"] == "stale" and "FILL at" in source["detail"]
    before_the_fill = services.run_reconciliation([symbol], as_of=ny(14, 20))
    assert custody_source(before_the_fill, account)["status"] == "ok"
