"""Account, position, asset and clock bodies in the exact shape alpaca-py's models parse.

Positions are marked to the configured fill price: market_value = qty x price, and there is one price per
symbol, so lastday_price equals current_price and the intraday figures are zero. The clock follows New York
regular hours (09:30-16:00, Monday to Friday, no holidays) unless a test forces it open or shut.
"""
from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from .book import held_for_orders, price_of, reserved_for_buys
from .errors import NotFound
from .wire import EASTERN, decimal_text, eastern_timestamp_text, trade_date, utc_now

PLPC_QUANTUM = Decimal("0.0000000001")
MARKET_OPEN, MARKET_CLOSE = time(9, 30), time(16, 0)


def asset_view(asset: dict) -> dict:
    return {key: value for key, value in asset.items() if key != "cusip"}


def list_assets(data: dict, query: dict[str, str]) -> list[dict]:
    wanted_attributes = set(query["attributes"].split(",")) if query.get("attributes") else None
    return [
        asset_view(asset) for asset in data["assets"].values()
        if query.get("status", asset["status"]) == asset["status"]
        and query.get("asset_class", asset["class"]) == asset["class"]
        and query.get("exchange", asset["exchange"]) == asset["exchange"]
        and (wanted_attributes is None or wanted_attributes & set(asset["attributes"]))
    ]


def find_asset(data: dict, symbol_or_id: str) -> dict:
    for asset in data["assets"].values():
        if symbol_or_id.upper() == asset["symbol"] or symbol_or_id == asset["id"]:
            return asset
    raise NotFound("asset not found")


def get_asset(data: dict, symbol_or_id: str) -> dict:
    return asset_view(find_asset(data, symbol_or_id))


def _ratio(numerator: Decimal, denominator: Decimal) -> str:
    return decimal_text((numerator / denominator).quantize(PLPC_QUANTUM, ROUND_HALF_EVEN)) if denominator else "0"


def position_view(data: dict, account: dict, symbol: str) -> dict:
    position = account["positions"][symbol]
    asset = data["assets"][symbol]
    qty, average, price = Decimal(position["qty"]), Decimal(position["avg_entry_price"]), price_of(data, symbol)
    cost_basis, market_value = qty * average, qty * price
    unrealized = market_value - cost_basis
    return {
        "asset_id": asset["id"],
        "symbol": symbol,
        "exchange": asset["exchange"],
        "asset_class": "us_equity",
        "asset_marginable": asset["marginable"],
        "qty": decimal_text(qty),
        "avg_entry_price": decimal_text(average),
        "side": "long",
        "market_value": decimal_text(market_value),
        "cost_basis": decimal_text(cost_basis),
        "unrealized_pl": decimal_text(unrealized),
        "unrealized_plpc": _ratio(unrealized, cost_basis),
        "unrealized_intraday_pl": "0",
        "unrealized_intraday_plpc": "0",
        "current_price": decimal_text(price),
        "lastday_price": decimal_text(price),
        "change_today": "0",
        "qty_available": decimal_text(qty - held_for_orders(account, symbol)),
    }


def list_positions(data: dict, account: dict) -> list[dict]:
    return [position_view(data, account, symbol) for symbol in sorted(account["positions"])]


def get_position(data: dict, account: dict, symbol_or_asset_id: str) -> dict:
    for symbol in account["positions"]:
        if symbol_or_asset_id.upper() == symbol or symbol_or_asset_id == data["assets"][symbol]["id"]:
            return position_view(data, account, symbol)
    raise NotFound("position does not exist")


def account_view(data: dict, account: dict) -> dict:
    cash = Decimal(account["cash"])
    long_market_value = sum(
        (Decimal(position["qty"]) * price_of(data, symbol) for symbol, position in account["positions"].items()),
        Decimal(0),
    )
    equity = cash + long_market_value
    buying_power = decimal_text(max(cash - reserved_for_buys(data, account), Decimal(0)))
    return {
        "id": account["id"],
        "account_number": account["account_number"],
        "status": "ACTIVE",
        "crypto_status": "INACTIVE",
        "currency": "USD",
        "buying_power": buying_power,
        "regt_buying_power": buying_power,
        "non_marginable_buying_power": buying_power,
        "options_buying_power": buying_power,
        "cash": decimal_text(cash),
        "accrued_fees": "0",
        "pending_transfer_in": "0",
        "pending_transfer_out": "0",
        "portfolio_value": decimal_text(equity),
        "equity": decimal_text(equity),
        "last_equity": decimal_text(equity),
        "long_market_value": decimal_text(long_market_value),
        "short_market_value": "0",
        "position_market_value": decimal_text(long_market_value),
        "initial_margin": "0",
        "maintenance_margin": "0",
        "last_maintenance_margin": "0",
        "sma": "0",
        "multiplier": "1",
        "shorting_enabled": False,
        "trading_blocked": False,
        "transfers_blocked": False,
        "account_blocked": False,
        "trade_suspended_by_user": False,
        "created_at": account["created_at"],
        "balance_asof": trade_date(utc_now()).isoformat(),
        "options_approved_level": 0,
        "options_trading_level": 0,
    }


def _next_weekday_at(moment: datetime, at: time) -> datetime:
    """The first weekday moment at `at` strictly after `moment` (New York time)."""
    candidate = datetime.combine(moment.date(), at, EASTERN)
    while candidate <= moment or candidate.weekday() >= 5:
        candidate = datetime.combine(candidate.date() + timedelta(days=1), at, EASTERN)
    return candidate


def clock_view(data: dict) -> dict:
    now = utc_now().astimezone(EASTERN)
    in_hours = now.weekday() < 5 and MARKET_OPEN <= now.time() < MARKET_CLOSE
    forced = data["clock"]["is_open"]
    return {
        "timestamp": eastern_timestamp_text(now),
        "is_open": in_hours if forced is None else forced,
        "next_open": eastern_timestamp_text(_next_weekday_at(now, MARKET_OPEN)),
        "next_close": eastern_timestamp_text(_next_weekday_at(now, MARKET_CLOSE)),
    }
