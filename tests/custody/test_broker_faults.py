"""A misbehaving broker: retries with backoff, then BrokerUnavailable, and never a half-written fact."""
from __future__ import annotations

from decimal import Decimal

import pytest
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest

from custody.errors import BrokerCredentialsMissing, BrokerRefused, BrokerUnavailable
from custody.models import ActivityCursor, PositionsObservation
from custody.services import sync_account
from ledger.balances import balance

ACTIVITIES = "/v2/account/activities"


def buy(client, qty: str) -> None:
    client.submit_order(MarketOrderRequest(symbol="AAPL", qty=qty, side=OrderSide.BUY, time_in_force=TimeInForce.DAY))


def statuses(broker, path: str) -> list[int | None]:
    return [entry["status"] for entry in broker.requests("GET", path)]


def test_a_broker_500_is_retried_and_the_sync_completes(alpaca_main, instruments, broker_client, broker):
    buy(broker_client, "2")
    broker.inject_fault("http_error", method="GET", path_prefix=ACTIVITIES, status=500)

    report = sync_account(alpaca_main)

    assert report.activities_recorded == 1
    assert statuses(broker, ACTIVITIES)[:2] == [500, 200]
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("2")


@pytest.mark.parametrize("fault", [
    {"kind": "http_error", "status": 500},
    {"kind": "http_error", "status": 503},
    {"kind": "rate_limit", "retry_after": 1},
    {"kind": "timeout", "delay_seconds": 1},
    {"kind": "truncated_page", "truncation": "bad_json"},
], ids=["500", "503", "429", "timeout", "damaged-page"])
def test_a_broker_that_keeps_failing_gives_broker_unavailable_and_writes_nothing(
        alpaca_main, instruments, broker_client, broker, ledger_log, fault):
    buy(broker_client, "2")
    broker.inject_fault(method="GET", path_prefix=ACTIVITIES, count=10, **fault)

    with pytest.raises(BrokerUnavailable, match="after 3 attempts"):
        sync_account(alpaca_main)

    assert len(broker.requests("GET", ACTIVITIES)) == 3  # bounded: CUSTODY_BROKER_MAX_ATTEMPTS
    assert ledger_log.new() == []
    assert not ActivityCursor.objects.exists()


def test_a_rate_limit_is_waited_out_and_retried(alpaca_main, instruments, broker_client, broker):
    buy(broker_client, "1")
    broker.inject_fault("rate_limit", method="GET", path_prefix=ACTIVITIES, count=2, retry_after=1)

    assert sync_account(alpaca_main).activities_recorded == 1
    assert statuses(broker, ACTIVITIES)[:3] == [429, 429, 200]


def test_a_failure_after_the_activities_keeps_them_and_the_next_sync_carries_on(
        alpaca_main, instruments, broker_client, broker, ledger_log):
    buy(broker_client, "1")
    buy(broker_client, "2")
    broker.inject_fault("http_error", method="GET", path_prefix="/v2/positions", count=10, status=502)

    with pytest.raises(BrokerUnavailable, match="list positions"):
        sync_account(alpaca_main)
    assert len(ledger_log.new("shares_bought")) == 2
    assert not PositionsObservation.objects.exists()

    broker.clear_faults()
    report = sync_account(alpaca_main)

    assert (report.activities_recorded, report.positions_observed) == (0, True)
    assert len(ledger_log.new("shares_bought")) == 2
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("3")


def test_a_sync_broken_between_pages_resumes_after_the_last_fact_recorded(
        alpaca_main, instruments, broker_client, broker, ledger_log, settings):
    settings.CUSTODY_SYNC_PAGE_SIZE = 2
    for qty in ("1", "2", "3", "4", "5"):
        buy(broker_client, qty)

    def break_the_broker_after_the_first_page(_done: int) -> None:
        if len(ledger_log.new("shares_bought")) == 2:
            broker.inject_fault("http_error", method="GET", path_prefix=ACTIVITIES, count=10, status=500)

    with pytest.raises(BrokerUnavailable):
        sync_account(alpaca_main, progress=break_the_broker_after_the_first_page)
    assert [event.payload["qty"] for event in ledger_log.new("shares_bought")] == ["1", "2"]
    second_fill_id = ledger_log.new("shares_bought")[1].payload["activity_id"]
    assert ActivityCursor.objects.get(account_name="alpaca-main").last_activity_id == second_fill_id

    broker.clear_faults()
    assert sync_account(alpaca_main).activities_recorded == 3
    assert [event.payload["qty"] for event in ledger_log.new("shares_bought")] == ["1", "2", "3", "4", "5"]
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("15")


def test_a_short_page_is_not_mistaken_for_the_end(alpaca_main, instruments, broker_client, broker, settings):
    settings.CUSTODY_SYNC_PAGE_SIZE = 3
    for qty in ("1", "2", "3", "4"):
        buy(broker_client, qty)
    broker.inject_fault("truncated_page", method="GET", path_prefix=ACTIVITIES, truncation="short_page", keep_items=1)

    assert sync_account(alpaca_main).activities_recorded == 4
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("10")


def test_wrong_credentials_are_refused_at_once_without_retries(alpaca_main, instruments, broker, monkeypatch):
    monkeypatch.setenv(alpaca_main.api_secret_env, "not-the-secret")

    with pytest.raises(BrokerRefused, match="HTTP 401"):
        sync_account(alpaca_main)
    assert len(broker.requests()) == 1


def test_missing_credentials_name_the_environment_variables(alpaca_main, monkeypatch):
    monkeypatch.delenv(alpaca_main.api_key_env)

    with pytest.raises(BrokerCredentialsMissing, match=alpaca_main.api_key_env):
        sync_account(alpaca_main)
