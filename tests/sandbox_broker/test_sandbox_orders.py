"""Market orders through alpaca-py: fills at the configured price, partial fills, duplicates, cancels."""
from __future__ import annotations

from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
from alpaca.trading.requests import GetOrdersRequest, MarketOrderRequest


def market(symbol: str, qty: str | int, side: OrderSide = OrderSide.BUY, client_order_id: str | None = None):
    return MarketOrderRequest(symbol=symbol, qty=qty, side=side, time_in_force=TimeInForce.DAY,
                              client_order_id=client_order_id)


def test_market_buy_fills_at_the_configured_price_and_moves_cash_into_the_position(custody, broker):
    broker.set_fill_price("AAPL", "190.12")
    cash_before = Decimal(custody.get_account().cash)

    order = custody.submit_order(market("AAPL", 10, client_order_id="buy-aapl-1"))

    assert (order.status, order.client_order_id) == (OrderStatus.FILLED, "buy-aapl-1")
    assert (order.filled_qty, order.filled_avg_price, order.qty) == ("10", "190.12", "10")
    assert Decimal(custody.get_account().cash) == cash_before - Decimal("1901.2")
    position = custody.get_open_position("AAPL")
    assert (position.qty, position.qty_available, position.avg_entry_price) == ("10", "10", "190.12")
    assert (position.market_value, position.cost_basis) == ("1901.2", "1901.2")


def test_average_entry_price_is_weighted_across_buys_and_kept_by_sells(custody, broker):
    broker.set_fill_price("MSFT", "400")
    custody.submit_order(market("MSFT", 10))
    broker.set_fill_price("MSFT", "430")
    custody.submit_order(market("MSFT", 20))
    custody.submit_order(market("MSFT", 6, OrderSide.SELL))

    position = custody.get_open_position("MSFT")
    assert (position.qty, position.avg_entry_price, position.current_price) == ("24", "420", "430")
    assert (position.cost_basis, position.market_value, position.unrealized_pl) == ("10080", "10320", "240")


def test_order_following_a_partial_fill_plan_is_partially_filled_then_filled_on_the_next_poll(custody, broker):
    broker.set_fill_price("TSLA", "250")
    broker.set_fill_plan("TSLA", ["0.4", "0.6"])

    submitted = custody.submit_order(market("TSLA", 10, client_order_id="tsla-partial"))
    assert (submitted.status, submitted.filled_qty) == (OrderStatus.PARTIALLY_FILLED, "4")
    assert custody.get_open_position("TSLA").qty == "4"

    polled = custody.get_order_by_id(submitted.id)
    assert (polled.status, polled.filled_qty, polled.filled_avg_price) == (OrderStatus.FILLED, "10", "250")
    assert custody.get_open_position("TSLA").qty == "10"
    fills = custody.get("/account/activities/FILL", {"direction": "asc"})
    assert [(fill["type"], fill["qty"], fill["cum_qty"], fill["leaves_qty"]) for fill in fills] == [
        ("partial_fill", "4", "4", "6"), ("fill", "6", "10", "0")]


def test_a_plan_short_of_the_whole_order_leaves_it_working_until_cancelled(custody, broker):
    broker.set_fill_plan("NVDA", ["0.5"])
    order = custody.submit_order(market("NVDA", 8))
    assert custody.get_order_by_id(order.id).status == OrderStatus.PARTIALLY_FILLED
    assert [open_order.id for open_order in custody.get_orders()] == [order.id]

    custody.cancel_order_by_id(order.id)

    cancelled = custody.get_order_by_id(order.id)
    assert (cancelled.status, cancelled.filled_qty) == (OrderStatus.CANCELED, "4")
    assert custody.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN)) == []
    assert custody.get_open_position("NVDA").qty == "4"


def test_a_reused_client_order_id_is_refused_like_alpaca_does(custody):
    custody.submit_order(market("AAPL", 1, client_order_id="mint-request-42"))

    with pytest.raises(APIError) as refusal:
        custody.submit_order(market("AAPL", 1, client_order_id="mint-request-42"))

    assert refusal.value.status_code == 422
    assert (refusal.value.code, refusal.value.message) == (40010001, "client_order_id must be unique")
    assert len(custody.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))) == 1


def test_an_order_is_found_by_its_client_order_id(custody):
    placed = custody.submit_order(market("SPY", 2, client_order_id="rebalance-2026-11-25"))

    found = custody.get_order_by_client_id("rebalance-2026-11-25")

    assert (found.id, found.symbol, found.status) == (placed.id, "SPY", OrderStatus.FILLED)
    with pytest.raises(APIError) as missing:
        custody.get_order_by_client_id("never-sent")
    assert (missing.value.status_code, missing.value.code) == (404, 40410000)


def test_selling_more_than_is_held_is_refused_with_the_quantities_alpaca_reports(custody):
    custody.submit_order(market("AMZN", 3))

    with pytest.raises(APIError) as refusal:
        custody.submit_order(market("AMZN", 5, OrderSide.SELL))

    assert refusal.value.status_code == 403
    body = refusal.value.response.json()
    assert (body["code"], body["symbol"], body["available"], body["existing_qty"]) == (40310000, "AMZN", "3", "3")


def test_buying_beyond_the_cash_in_the_account_is_refused(custody, broker):
    broker.set_cash("100")
    with pytest.raises(APIError) as refusal:
        custody.submit_order(market("AAPL", 1))
    assert (refusal.value.status_code, refusal.value.message) == (403, "insufficient buying power")


def test_a_filled_order_cannot_be_cancelled(custody):
    order = custody.submit_order(market("AAPL", 1))
    with pytest.raises(APIError) as refusal:
        custody.cancel_order_by_id(order.id)
    assert (refusal.value.status_code, refusal.value.message) == (422, 'order is already in "filled" state')


def test_orders_are_listed_by_status_symbol_and_limit(custody):
    first = custody.submit_order(market("AAPL", 1))
    second = custody.submit_order(market("MSFT", 1))

    closed = custody.get_orders(GetOrdersRequest(status=QueryOrderStatus.CLOSED))
    assert [order.id for order in closed] == [second.id, first.id]  # newest first, as Alpaca sorts
    assert [o.id for o in custody.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, symbols=["AAPL"]))] == [first.id]
    assert len(custody.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, limit=1))) == 1
    after_first = custody.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, after=first.submitted_at))
    until_second = custody.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, until=second.submitted_at))
    assert ([order.id for order in after_first], [order.id for order in until_second]) == ([second.id], [first.id])


def test_cancelling_all_orders_stops_every_working_order_and_keeps_what_filled(custody, broker):
    broker.set_fill_plan("AAPL", ["0.25"])
    working = [custody.submit_order(market("AAPL", 4)).id for _ in range(2)]

    cancelled = custody.cancel_orders()

    assert sorted(str(result.id) for result in cancelled) == sorted(str(order_id) for order_id in working)
    assert {result.status for result in cancelled} == {200}
    assert custody.get_orders() == []
    assert custody.get_open_position("AAPL").qty == "2"


def test_a_notional_buy_fills_the_whole_shares_and_fractions_the_amount_buys(custody, broker):
    broker.set_fill_price("AAPL", "200")
    order = custody.submit_order(MarketOrderRequest(symbol="AAPL", notional=500, side=OrderSide.BUY,
                                                    time_in_force=TimeInForce.DAY))
    assert (order.status, order.notional, order.filled_qty) == (OrderStatus.FILLED, "500", "2.5")
