"""Broken brokers on purpose: 5xx, 429 with Retry-After, stalls and damaged pages, as alpaca-py surfaces them."""
from __future__ import annotations

import pytest
import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import MarketOrderRequest


def buy(client, symbol: str, qty: int, client_order_id: str | None = None):
    return client.submit_order(MarketOrderRequest(symbol=symbol, qty=qty, side=OrderSide.BUY,
                                                  time_in_force=TimeInForce.DAY, client_order_id=client_order_id))


def test_a_broker_500_surfaces_as_api_error_500_and_is_not_retried_by_alpaca_py(custody, broker):
    broker.inject_fault("http_error", method="GET", path_prefix="/v2/positions")

    with pytest.raises(APIError) as failure:
        custody.get_all_positions()

    assert (failure.value.status_code, failure.value.code) == (500, 50010000)
    assert [entry["status"] for entry in broker.requests(path_prefix="/v2/positions")] == [500]
    assert custody.get_all_positions() == []  # the fault fired once and disarmed


def test_a_rate_limit_surfaces_as_api_error_429_with_retry_after(custody, broker):
    custody._retry = 0  # TradingClient retries 429 three times, 3 s apart, ignoring Retry-After; see next test
    broker.inject_fault("rate_limit", path_prefix="/v2/account", retry_after=7)

    with pytest.raises(APIError) as failure:
        custody.get_account()

    assert (failure.value.status_code, failure.value.code) == (429, 42910000)
    assert failure.value.response.headers["Retry-After"] == "7"


def test_alpaca_py_retries_a_rate_limited_request_and_then_succeeds(custody, broker):
    custody._retry_wait = 0  # its fixed 3 s pause, which TradingClient does not let callers configure
    broker.inject_fault("rate_limit", path_prefix="/v2/account", count=2)

    assert custody.get_account().status == "ACTIVE"
    assert [entry["status"] for entry in broker.requests("GET", "/v2/account")] == [429, 429, 200]


def test_a_stalled_broker_raises_a_requests_timeout(impatient_custody, broker):
    broker.inject_fault("timeout", path_prefix="/v2/clock", delay_seconds=3)

    with pytest.raises(requests.exceptions.Timeout):
        impatient_custody.get_clock()

    assert impatient_custody.get_clock().timestamp is not None  # the next request is answered


def test_an_order_whose_answer_is_lost_is_found_by_its_client_order_id(impatient_custody, broker):
    broker.inject_fault("timeout", method="POST", path_prefix="/v2/orders", delay_seconds=3, process_request=True)

    with pytest.raises(requests.exceptions.Timeout):
        buy(impatient_custody, "AAPL", 5, client_order_id="mint-7-buy")

    found = impatient_custody.get_order_by_client_id("mint-7-buy")
    assert (found.status, found.filled_qty) == (OrderStatus.FILLED, "5")
    with pytest.raises(APIError) as retry:
        buy(impatient_custody, "AAPL", 5, client_order_id="mint-7-buy")
    assert retry.value.status_code == 422  # retrying blindly cannot buy the shares twice


def test_a_short_page_returns_fewer_activities_than_asked_while_more_remain(custody, broker):
    for qty in range(1, 5):
        buy(custody, "AAPL", qty)
    broker.inject_fault("truncated_page", method="GET", path_prefix="/v2/account/activities",
                        truncation="short_page", keep_items=1)

    short = custody.get("/account/activities", {"page_size": 3})
    rest = custody.get("/account/activities", {"page_size": 3, "page_token": short[-1]["id"]})

    assert [activity["qty"] for activity in short] == ["4"]
    assert [activity["qty"] for activity in rest] == ["3", "2", "1"]


def test_a_page_cut_mid_json_fails_to_decode(custody, broker):
    buy(custody, "AAPL", 1)
    broker.inject_fault("truncated_page", path_prefix="/v2/account/activities", truncation="bad_json")

    with pytest.raises(requests.exceptions.JSONDecodeError):
        custody.get("/account/activities")


def test_a_page_shorter_than_its_content_length_breaks_the_read(custody, broker):
    buy(custody, "AAPL", 1)
    broker.inject_fault("truncated_page", path_prefix="/v2/account/activities", truncation="incomplete_body")

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        custody.get("/account/activities")


def test_faults_match_method_and_path_prefix_only(custody, broker):
    broker.inject_fault("http_error", method="POST", path_prefix="/v2/orders", status=503)

    assert custody.get_orders() == []  # a GET on the same path is untouched
    with pytest.raises(APIError) as failure:
        buy(custody, "AAPL", 1)
    assert (failure.value.status_code, failure.value.code) == (503, 50310000)
    assert broker.faults() == []


def test_requests_without_keys_are_forbidden_and_wrong_keys_unauthorized(sandbox, custody):
    bare = requests.get(sandbox.base_url + "/v2/account", timeout=5)
    assert (bare.status_code, bare.json()) == (403, {"message": "forbidden."})

    custody._secret_key = "not-the-secret"
    with pytest.raises(APIError) as refusal:
        custody.get_account()
    assert (refusal.value.status_code, refusal.value.code, refusal.value.message) == (
        401, 40110000, "request is not authorized")
