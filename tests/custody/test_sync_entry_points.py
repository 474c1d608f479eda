"""The ways a sync starts (management command, Celery task) and the read models it leaves behind."""
from __future__ import annotations

from decimal import Decimal
from io import StringIO

import pytest
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest
from django.core.management import call_command
from django.db import transaction

from custody.errors import CustodySyncFailed
from custody.models import (
    ActivityCursor,
    BrokerOrder,
    CustodyAccount,
    Instrument,
    PositionsObservation,
    StatementImport,
)
from custody.services import import_statement, pause_instrument, place_order_for_request
from custody.tasks import sync_custody_accounts
from ledger import projections

from .conftest import FIXTURES, OPS


def buy(client, qty: str) -> None:
    client.submit_order(MarketOrderRequest(symbol="AAPL", qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))


def test_the_sync_command_reports_each_account(alpaca_main, instruments, broker_client):
    buy(broker_client, "4")
    out = StringIO()

    call_command("sync_custody", "--account", "alpaca-main", stdout=out)
    call_command("sync_custody", stdout=out)

    assert out.getvalue().splitlines() == [
        "alpaca-main: 1 new activities, 0 order outcomes, positions observed (1 symbols)",
        "alpaca-main: 0 new activities, 0 order outcomes, positions unchanged",
    ]


def test_the_sync_command_fails_with_one_line_for_an_unknown_account(db):
    err = StringIO()

    with pytest.raises(SystemExit) as exit_status:
        call_command("sync_custody", "--account", "nope", stderr=err)

    assert exit_status.value.code == 1
    assert err.getvalue().startswith("error: no custody account named 'nope'")


def test_the_celery_task_syncs_every_alpaca_account(alpaca_main, instruments, broker_client):
    CustodyAccount.objects.create(name="acme", kind=CustodyAccount.Kind.STATEMENT, statement_account_ref="X")
    buy(broker_client, "1")

    assert sync_custody_accounts() == {
        "alpaca-main": {"orders_recorded": 0, "activities_recorded": 1, "positions_observed": True}}


def test_the_celery_task_fails_naming_the_account_when_the_broker_stays_down(alpaca_main, broker):
    broker.inject_fault("http_error", path_prefix="/v2/account/activities", count=10, status=503)

    with pytest.raises(CustodySyncFailed, match="alpaca-main: list activities"):
        sync_custody_accounts()


def test_rebuilding_projections_gives_the_same_custody_read_models(alpaca_main, instruments, broker, broker_client):
    CustodyAccount.objects.create(name="acme-csv", kind=CustodyAccount.Kind.STATEMENT,
                                  statement_account_ref="ACME-CUST-003")
    pause_instrument("AAPL", OPS, "corporate action")
    broker.set_fill_plan("TSLA", ["0.5", "0.5"])
    place_order_for_request("mint-1", "TSLA", Decimal("2"), "buy", "alpaca-main")
    buy(broker_client, "3")
    call_command("sync_custody", stdout=StringIO())
    import_statement((FIXTURES / "csv_statement.csv").read_bytes(), "csv_statement.csv", "acme-csv", actor=OPS)
    models = (ActivityCursor, BrokerOrder, PositionsObservation, StatementImport, Instrument)

    def read_models() -> dict[str, list[str]]:
        """Every row but its surrogate id, which a rebuild hands out anew."""
        return {model.__name__: sorted(str({k: v for k, v in row.items() if k != "id"})
                                       for row in model.objects.values()) for model in models}

    before = read_models()
    with transaction.atomic():
        projections.rebuild()

    assert read_models() == before
    assert all(before.values())
    assert Instrument.objects.get(symbol="AAPL").status == "paused"
