"""Account activities as custody code reads them through alpaca-py.

TradingClient 0.44 has no activities method (alpacahq/alpaca-py#232), so custody code calls the RESTClient
base directly: `client.get("/account/activities", params)` returns Alpaca's bare JSON list, and the id of
the last item is the page_token for the next page. These tests use exactly that call.
"""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.models import NonTradeActivity, TradeActivity
from alpaca.trading.requests import MarketOrderRequest

ID_SHAPE = r"^\d{17}::[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$"


def buy(client, symbol: str, qty: int):
    return client.submit_order(MarketOrderRequest(symbol=symbol, qty=qty, side=OrderSide.BUY,
                                                  time_in_force=TimeInForce.DAY))


def every_page(client, path: str, page_size: int, **params) -> list[list[dict]]:
    pages, token = [], None
    while True:
        page = client.get(path, {"page_size": page_size, **params, **({"page_token": token} if token else {})})
        if not page:
            return pages
        pages.append(page)
        token = page[-1]["id"]


def test_activities_page_by_page_with_the_last_id_as_page_token(custody):
    for qty in range(1, 6):
        buy(custody, "AAPL", qty)

    pages = every_page(custody, "/account/activities", page_size=2)

    assert [len(page) for page in pages] == [2, 2, 1]
    everything = custody.get("/account/activities")
    assert [activity["id"] for page in pages for activity in page] == [activity["id"] for activity in everything]
    assert [activity["qty"] for activity in everything] == ["5", "4", "3", "2", "1"]  # newest first by default
    ascending = every_page(custody, "/account/activities", page_size=3, direction="asc")
    assert [activity["qty"] for page in ascending for activity in page] == ["1", "2", "3", "4", "5"]


def test_activity_ids_look_like_alpacas_and_sort_in_booking_order(custody):
    for _ in range(3):
        buy(custody, "SPY", 1)
    ids = [activity["id"] for activity in custody.get("/account/activities", {"direction": "asc"})]
    assert all(re.match(ID_SHAPE, activity_id) for activity_id in ids)
    assert ids == sorted(ids) and len(set(ids)) == 3


def test_fills_and_dividends_parse_as_alpaca_py_activity_models(custody, broker):
    buy(custody, "AAPL", 100)
    broker.add_dividend("AAPL", "0.24", account="custody", date="2026-11-20")

    fill, = custody.get("/account/activities/FILL")
    dividend, = custody.get("/account/activities/DIV")

    assert TradeActivity(**fill).qty == 100
    parsed = NonTradeActivity(**dividend)
    assert (str(parsed.date), dividend["net_amount"], dividend["qty"], dividend["per_share_amount"]) == (
        "2026-11-20", "24", "100", "0.24")
    assert parsed.symbol == "AAPL"


def test_activity_types_category_and_date_filters(custody, broker):
    buy(custody, "AAPL", 10)
    broker.add_fee("1.50")
    broker.add_cash_journal("250", description="capital injection", date="2026-01-02")

    assert {a["activity_type"] for a in custody.get("/account/activities", {"activity_types": "FEE,JNLC"})} == {
        "FEE", "JNLC"}
    assert {a["activity_type"] for a in custody.get("/account/activities", {"category": "trade_activity"})} == {"FILL"}
    assert [a["activity_type"] for a in custody.get("/account/activities", {"date": "2026-01-02"})] == ["JNLC"]
    with pytest.raises(APIError) as refusal:
        custody.get("/account/activities/NOPE")
    assert (refusal.value.status_code, refusal.value.message) == (422, "invalid activity type: NOPE")


def test_after_and_until_bound_the_activities_by_booking_time(custody, broker):
    buy(custody, "AAPL", 1)
    first = custody.get("/account/activities")[0]
    buy(custody, "AAPL", 2)
    later = custody.get("/account/activities", {"after": first["transaction_time"]})
    assert [activity["qty"] for activity in later] == ["2"]
    assert custody.get("/account/activities", {"until": first["transaction_time"]}) == []


def test_share_journals_dividends_splits_and_fees_move_positions_and_cash_with_their_activities(custody, broker):
    broker.set_fill_price("AAPL", "200")
    buy(custody, "AAPL", 100)
    cash_after_buy = Decimal(custody.get_account().cash)

    broker.add_share_journal("AAPL", "-5", description="shares out to a partner")
    broker.add_dividend("AAPL", "0.25", account="custody")
    broker.add_split("AAPL", old_rate="1", new_rate="4")
    broker.add_fee("2.10", description="regulatory fee")
    broker.add_activity("REORG", symbol="AAPL", qty="-80", net_amount="0", description="tender")

    position = custody.get_open_position("AAPL")
    assert (position.qty, position.avg_entry_price, position.current_price) == ("300", "50", "50")
    assert Decimal(custody.get_account().cash) == cash_after_buy + Decimal("23.75") - Decimal("2.10")
    booked = [(a["activity_type"], a.get("qty"), a.get("net_amount"))
              for a in custody.get("/account/activities", {"direction": "asc"})]
    assert booked == [("FILL", "100", None), ("JNLS", "-5", "0"), ("DIV", "95", "23.75"), ("SPLIT", "285", "0"),
                      ("FEE", None, "-2.1"), ("REORG", "-80", "0")]


def test_replaying_the_activities_gives_back_the_broker_positions_and_cash(custody, ap_client, broker):
    """Reconciliation relies on this: every share and every cent the account shows is explained by an activity."""
    starting_cash = Decimal(custody.get_account().cash)
    broker.set_fill_plan("TSLA", ["0.5", "0.5"])
    buy(custody, "TSLA", 9)
    buy(custody, "AAPL", 40)
    custody.get_orders()  # the poll that completes the TSLA order
    custody.submit_order(MarketOrderRequest(symbol="AAPL", qty=15, side=OrderSide.SELL,
                                            time_in_force=TimeInForce.DAY))
    broker.add_dividend("AAPL", "0.24")
    broker.add_split("TSLA", old_rate="1", new_rate="3")
    broker.add_share_journal("AAPL", "7")
    broker.add_fee("0.99")

    shares: dict[str, Decimal] = {}
    cash = starting_cash
    for activity in custody.get("/account/activities", {"direction": "asc"}):
        if activity["activity_type"] == "FILL":
            signed = Decimal(activity["qty"]) * (1 if activity["side"] == "buy" else -1)
            shares[activity["symbol"]] = shares.get(activity["symbol"], Decimal(0)) + signed
            cash -= signed * Decimal(activity["price"])
        else:
            if activity.get("qty") and activity["activity_type"] != "DIV":
                shares[activity["symbol"]] = shares.get(activity["symbol"], Decimal(0)) + Decimal(activity["qty"])
            cash += Decimal(activity["net_amount"])

    assert {p.symbol: Decimal(p.qty) for p in custody.get_all_positions()} == shares == {
        "AAPL": Decimal(32), "TSLA": Decimal(27)}
    assert Decimal(custody.get_account().cash) == cash
