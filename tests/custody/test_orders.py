"""Orders for issuance requests: exactly one order per request at the broker, whatever goes wrong."""
from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest

from custody.errors import BrokerUnavailable, InvalidOrder, OrderRequestMismatch, UnknownInstrument, UnknownOrder
from custody.models import BrokerOrder
from custody.services import client_order_id_for, place_order_for_request, refresh_order, sync_account
from ledger.balances import balance

ORDERS = "/v2/orders"


def orders_at_broker(broker_client) -> list[dict]:
    return broker_client.get("/orders", {"status": "all"})


def test_buying_shares_for_a_mint_fills_and_books_them_before_answering(alpaca_main, instruments, broker_client,
                                                                        ledger_log):
    outcome = place_order_for_request("mint-41", "AAPL", Decimal("10"), "buy", "alpaca-main", actor="system:issuance")

    assert (outcome.status, outcome.filled, outcome.filled_qty, outcome.filled_avg_price) == (
        "filled", True, Decimal("10"), Decimal("190.12"))
    assert outcome.newly_submitted
    assert outcome.client_order_id == client_order_id_for("mint-41") == "sl-" + hashlib.sha256(b"mint-41").hexdigest()[:40]
    [order] = orders_at_broker(broker_client)
    assert order["client_order_id"] == outcome.client_order_id
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("10")
    [submitted] = ledger_log.new("order_submitted")
    assert (submitted.payload["request_id"], submitted.metadata["actor"]) == ("mint-41", "system:issuance")
    assert submitted.postings == ()
    assert [event.payload["status"] for event in ledger_log.new("order_filled")] == ["filled"]


def test_asking_again_for_the_same_request_never_buys_twice(alpaca_main, instruments, broker_client, ledger_log):
    first = place_order_for_request("mint-42", "AAPL", Decimal("3"), "buy", "alpaca-main")
    again = place_order_for_request("mint-42", "AAPL", Decimal("3"), "buy", "alpaca-main")

    assert len(orders_at_broker(broker_client)) == 1
    assert (again.broker_order_id, again.newly_submitted) == (first.broker_order_id, False)
    assert len(ledger_log.new("order_submitted")) == 1
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("3")


def test_the_same_request_id_cannot_be_reused_for_other_terms(alpaca_main, instruments):
    place_order_for_request("mint-43", "AAPL", Decimal("3"), "buy", "alpaca-main")

    with pytest.raises(OrderRequestMismatch, match="mint-43"):
        place_order_for_request("mint-43", "AAPL", Decimal("4"), "buy", "alpaca-main")


def test_a_lost_answer_is_found_by_client_order_id_instead_of_buying_again(alpaca_main, instruments, broker,
                                                                           broker_client):
    broker.inject_fault("timeout", method="POST", path_prefix=ORDERS, delay_seconds=1, process_request=True)

    outcome = place_order_for_request("mint-44", "AAPL", Decimal("5"), "buy", "alpaca-main")

    assert (outcome.status, outcome.newly_submitted) == ("filled", False)
    assert len(orders_at_broker(broker_client)) == 1
    assert [entry["status"] for entry in broker.requests("POST", ORDERS)] == [None]  # submitted once, never again
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("5")


def test_a_submission_the_broker_dropped_is_submitted_again(alpaca_main, instruments, broker, broker_client):
    broker.inject_fault("http_error", method="POST", path_prefix=ORDERS, status=503)

    outcome = place_order_for_request("mint-45", "AAPL", Decimal("2"), "buy", "alpaca-main")

    assert (outcome.status, outcome.newly_submitted) == ("filled", True)
    assert [entry["status"] for entry in broker.requests("POST", ORDERS)] == [503, 200]
    assert len(orders_at_broker(broker_client)) == 1


def test_an_order_already_at_the_broker_is_fetched_on_the_duplicate_id_refusal(alpaca_main, instruments, broker,
                                                                               broker_client):
    """Our record of the submission was lost (a crash between the broker's answer and our commit)."""
    broker_client.submit_order(MarketOrderRequest(symbol="AAPL", qty=7, side=OrderSide.BUY,
                                                  time_in_force=TimeInForce.DAY,
                                                  client_order_id=client_order_id_for("mint-46")))

    outcome = place_order_for_request("mint-46", "AAPL", Decimal("7"), "buy", "alpaca-main")

    assert (outcome.status, outcome.newly_submitted) == ("filled", False)
    assert [entry["status"] for entry in broker.requests("POST", ORDERS)] == [200, 422]
    assert BrokerOrder.objects.get(client_order_id=outcome.client_order_id).request_id == "mint-46"


def test_a_broker_that_stays_down_gives_broker_unavailable_and_no_order(alpaca_main, instruments, broker,
                                                                        broker_client, ledger_log):
    broker.inject_fault("http_error", method="POST", path_prefix=ORDERS, status=500, count=10)

    with pytest.raises(BrokerUnavailable, match="calling again is safe"):
        place_order_for_request("mint-47", "AAPL", Decimal("1"), "buy", "alpaca-main")

    assert orders_at_broker(broker_client) == []
    assert ledger_log.new() == []


def test_a_partially_filled_order_is_followed_until_it_fills(alpaca_main, instruments, broker, ledger_log):
    broker.set_fill_plan("AAPL", ["0.4", "0.6"])

    placed = place_order_for_request("mint-48", "AAPL", Decimal("10"), "buy", "alpaca-main")
    assert (placed.status, placed.filled_qty) == ("partially_filled", Decimal("4"))
    assert ledger_log.new("order_filled") == []

    later = refresh_order("mint-48", "alpaca-main")

    assert (later.status, later.filled_qty) == ("filled", Decimal("10"))
    assert [event.payload["qty"] for event in ledger_log.new("shares_bought")] == ["4", "6"]
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("10")
    assert BrokerOrder.objects.get(request_id="mint-48").status == "filled"


def test_the_sync_records_the_final_status_of_our_open_orders(alpaca_main, instruments, broker, ledger_log):
    broker.set_fill_plan("AAPL", ["0.5", "0.5"])
    place_order_for_request("mint-49", "AAPL", Decimal("2"), "buy", "alpaca-main")
    broker.advance_orders()

    report = sync_account(alpaca_main)

    assert report.orders_recorded == 1
    assert [event.payload["filled_qty"] for event in ledger_log.new("order_filled")] == ["2"]
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("2")
    assert sync_account(alpaca_main).orders_recorded == 0


def test_an_order_cancelled_after_a_partial_fill_is_followed_by_one_for_the_rest_once(alpaca_main, instruments,
                                                                                       broker, broker_client):
    broker.set_fill_plan("AAPL", ["0.4"])  # 4 of 10 fill, then the order rests until it is cancelled
    first = place_order_for_request("mint-53", "AAPL", Decimal("10"), "buy", "alpaca-main")
    broker_client.cancel_order_by_id(first.broker_order_id)
    broker.set_fill_plan("AAPL", ["1"])

    rest = place_order_for_request("mint-53", "AAPL", Decimal("10"), "buy", "alpaca-main")

    assert (rest.status, rest.filled, rest.filled_qty, rest.newly_submitted) == ("filled", True, Decimal("6"), True)
    assert rest.client_order_id == client_order_id_for("mint-53#2")
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("10")
    assert BrokerOrder.objects.get(client_order_id=first.client_order_id).status == "canceled"
    again = place_order_for_request("mint-53", "AAPL", Decimal("10"), "buy", "alpaca-main")
    assert (again.broker_order_id, again.filled, again.newly_submitted) == (rest.broker_order_id, True, False)
    assert len(broker.requests("POST", ORDERS)) == 2
    latest = refresh_order("mint-53", "alpaca-main")  # the follow-up, not the cancelled original
    assert (latest.broker_order_id, latest.status, latest.filled_qty) == (rest.broker_order_id, "filled", Decimal("6"))


def test_selling_shares_for_a_cash_redemption(alpaca_main, instruments, broker):
    place_order_for_request("mint-50", "TSLA", Decimal("4"), "buy", "alpaca-main")

    outcome = place_order_for_request("redeem-50", "TSLA", Decimal("1.5"), "sell", "alpaca-main")

    assert outcome.filled
    assert balance("custody:alpaca-main:TSLA", "TSLA") == Decimal("2.5")
    assert balance("custody:alpaca-main:cash:USD", "USD") == Decimal("-2.5") * Decimal("250.50")


@pytest.mark.parametrize(("symbol", "qty", "side", "error"), [
    ("NOPE", Decimal("1"), "buy", UnknownInstrument),
    ("AAPL", Decimal("0"), "buy", InvalidOrder),
    ("AAPL", Decimal("1"), "short", InvalidOrder),
])
def test_orders_that_make_no_sense_are_refused_before_the_broker_hears_of_them(alpaca_main, instruments, broker,
                                                                                symbol, qty, side, error):
    with pytest.raises(error):
        place_order_for_request("mint-51", symbol, qty, side, "alpaca-main")
    assert broker.requests("POST", ORDERS) == []


def test_refreshing_an_order_nobody_placed_is_unknown(alpaca_main):
    with pytest.raises(UnknownOrder):
        refresh_order("never-placed", "alpaca-main")
