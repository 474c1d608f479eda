"""The broker keeps its books across restarts, in a thread or as `python -m sandbox_broker`."""
from __future__ import annotations

import json
import socket

from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
from alpaca.trading.requests import MarketOrderRequest

from sandbox_broker import SandboxControl, start_sandbox

CUSTODY_KEYS = ("PKSANDBOXCUSTODY", "sandbox-custody-secret")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def buy(client: TradingClient, symbol: str, qty: int, client_order_id: str):
    return client.submit_order(MarketOrderRequest(symbol=symbol, qty=qty, side=OrderSide.BUY,
                                                  time_in_force=TimeInForce.DAY, client_order_id=client_order_id))


def test_orders_positions_activities_and_plans_survive_a_restart_on_the_same_port(tmp_path):
    state_path, port = tmp_path / "broker.json", free_port()
    first = start_sandbox(state_path, port=port)
    client = TradingClient(*CUSTODY_KEYS, paper=True, url_override=first.base_url)
    SandboxControl(first.base_url).set_fill_plan("AAPL", ["0.5", "0.5"])
    working = buy(client, "AAPL", 10, "before-restart")
    SandboxControl(first.base_url).add_dividend("AAPL", "0.2")
    activities_before = client.get("/account/activities")
    first.stop()

    second = start_sandbox(state_path, port=port)
    try:
        resumed = client.get_order_by_client_id("before-restart")  # the same client, its pooled connection gone
        assert (resumed.id, resumed.status, resumed.filled_qty) == (working.id, OrderStatus.FILLED, "10")
        assert client.get("/account/activities")[1:] == activities_before
        assert client.get_open_position("AAPL").qty == "10"
        assert client.get_account().cash == str(1_000_000 - 1900 + 1)
    finally:
        second.stop()
    assert json.loads(state_path.read_text())["version"] == 1
    assert [path.name for path in tmp_path.iterdir()] == ["broker.json"]  # no temporary file left behind


def test_the_command_line_sandbox_fills_at_its_fill_price_and_resumes_from_its_state_file(tmp_path):
    state_path = tmp_path / "broker.json"
    running = start_sandbox(state_path, in_subprocess=True, fill_prices={"TSLA": "251.5"})
    try:
        order = buy(TradingClient(*CUSTODY_KEYS, paper=True, url_override=running.base_url), "TSLA", 2, "cli-1")
        assert (order.status, order.filled_avg_price) == (OrderStatus.FILLED, "251.5")
    finally:
        running.stop()

    restarted = start_sandbox(state_path, in_subprocess=True)
    try:
        client = TradingClient(*CUSTODY_KEYS, paper=True, url_override=restarted.base_url)
        assert client.get_order_by_client_id("cli-1").filled_qty == "2"
        assert client.get_open_position("TSLA").market_value == "503"
    finally:
        restarted.stop()
