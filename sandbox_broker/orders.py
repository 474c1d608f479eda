"""Market orders that fill at the configured price, in one step or along a partial-fill plan.

A fill plan for a symbol is a list of fractions of the order quantity, one per step. The first step runs
when the order is submitted; each later step runs when the order is read again (GET by id, by client order
id, or in a list), which is how a poller sees `partially_filled` and then `filled`. Plans that add up to 1
finish the order (the last step takes the rounding remainder); plans that add up to less leave the order
stuck in `partially_filled` until it is cancelled. Only market orders exist here; anything else is refused
so a test never silently relies on behaviour the sandbox does not model.
"""
from __future__ import annotations

import uuid
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from .book import (
    PRICE_QUANTUM,
    QTY_QUANTUM,
    adjust_cash,
    change_position,
    held_for_orders,
    open_orders,
    position_qty,
    price_of,
    record_activity,
    remaining_qty,
    reserved_for_buys,
)
from .errors import (
    DuplicateClientOrderId,
    InsufficientBuyingPower,
    InsufficientQty,
    InvalidRequest,
    NotFound,
    OrderNotCancelable,
)
from .wire import decimal_text, parse_decimal, parse_timestamp, timestamp_text, utc_now

TIME_IN_FORCE = {"day", "gtc", "opg", "cls", "ioc", "fok"}
MAX_CLIENT_ORDER_ID_LENGTH = 128
DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT = 50, 500
QUERY_STATUSES = {"open", "closed", "all"}


def validate_fill_plan(fractions: list) -> list[str]:
    parsed = [parse_decimal(fraction, "fraction") for fraction in fractions]
    if any(fraction <= 0 for fraction in parsed) or sum(parsed, Decimal(0)) > 1:
        raise InvalidRequest("fill plan fractions must be positive and add up to at most 1")
    return [decimal_text(fraction) for fraction in parsed]


def submit_order(data: dict, account: dict, payload: dict) -> dict:
    symbol = str(payload.get("symbol") or "").upper()
    if not symbol:
        raise InvalidRequest("symbol is required")
    asset = data["assets"].get(symbol)
    if asset is None or not asset["tradable"]:
        raise InvalidRequest(f'asset "{symbol}" not found')
    side = payload.get("side")
    if side not in ("buy", "sell"):
        raise InvalidRequest("side must be buy or sell")
    order_type = payload.get("type", payload.get("order_type"))
    if order_type != "market":
        raise InvalidRequest(f"the sandbox broker accepts market orders only, not {order_type!r}")
    time_in_force = payload.get("time_in_force")
    if time_in_force not in TIME_IN_FORCE:
        raise InvalidRequest("invalid time_in_force")
    client_order_id = str(payload.get("client_order_id") or uuid.uuid4())
    if len(client_order_id) > MAX_CLIENT_ORDER_ID_LENGTH:
        raise InvalidRequest(f"client_order_id must be no more than {MAX_CLIENT_ORDER_ID_LENGTH} characters")
    if any(order["wire"]["client_order_id"] == client_order_id for order in account["orders"]):
        raise DuplicateClientOrderId("client_order_id must be unique")

    price = price_of(data, symbol)
    qty, notional = payload.get("qty"), payload.get("notional")
    if (qty is None) == (notional is None):
        raise InvalidRequest("exactly one of qty or notional is required")
    target_qty = (parse_decimal(qty, "qty") if qty is not None
                  else (parse_decimal(notional, "notional") / price).quantize(QTY_QUANTUM, ROUND_DOWN))
    if target_qty <= 0:
        raise InvalidRequest("qty must be > 0")
    if target_qty != target_qty.to_integral_value() and time_in_force != "day":
        raise InvalidRequest("fractional orders must be DAY orders")
    _check_affordable(data, account, symbol, side, target_qty, price)

    now = timestamp_text(utc_now())
    plan = data["fill_plans"].get(symbol) or ["1"]
    order = {
        "wire": {
            "id": str(uuid.uuid4()),
            "client_order_id": client_order_id,
            "created_at": now,
            "updated_at": now,
            "submitted_at": now,
            "filled_at": None,
            "expired_at": None,
            "canceled_at": None,
            "failed_at": None,
            "replaced_at": None,
            "replaced_by": None,
            "replaces": None,
            "asset_id": asset["id"],
            "symbol": symbol,
            "asset_class": "us_equity",
            "notional": decimal_text(parse_decimal(notional, "notional")) if notional is not None else None,
            "qty": decimal_text(target_qty) if qty is not None else None,
            "filled_qty": "0",
            "filled_avg_price": None,
            "order_class": "simple",
            "order_type": "market",
            "type": "market",
            "side": side,
            "position_intent": "buy_to_open" if side == "buy" else "sell_to_close",
            "time_in_force": time_in_force,
            "limit_price": None,
            "stop_price": None,
            "status": "accepted",
            "extended_hours": bool(payload.get("extended_hours", False)),
            "legs": None,
            "trail_percent": None,
            "trail_price": None,
            "hwm": None,
            "subtag": None,
            "source": None,
            "expires_at": None,
        },
        "target_qty": decimal_text(target_qty),
        "filled_notional": "0",
        "plan": list(plan),
        "plan_completes": sum((Decimal(step) for step in plan), Decimal(0)) == 1,
    }
    account["orders"].append(order)
    fill_next_step(data, account, order)
    return order["wire"]


def _check_affordable(data: dict, account: dict, symbol: str, side: str, qty: Decimal, price: Decimal) -> None:
    if side == "buy":
        buying_power = Decimal(account["cash"]) - reserved_for_buys(data, account)
        cost = qty * price
        if cost > buying_power:
            raise InsufficientBuyingPower("insufficient buying power", buying_power=decimal_text(buying_power),
                                          cost_basis=decimal_text(cost))
        return
    existing = position_qty(account, symbol)
    held = held_for_orders(account, symbol)
    available = existing - held
    if qty > available:
        raise InsufficientQty(
            f"insufficient qty available for order (requested: {decimal_text(qty)}, available: {decimal_text(available)})",
            available=decimal_text(available), existing_qty=decimal_text(existing),
            held_for_orders=decimal_text(held), symbol=symbol,
        )


def fill_next_step(data: dict, account: dict, order: dict) -> None:
    """Execute the order's next planned fill at today's price: position, cash, FILL activity and order together."""
    wire = order["wire"]
    if not order["plan"] or wire["status"] not in ("accepted", "partially_filled"):
        return
    fraction = Decimal(order["plan"].pop(0))
    target, remaining = Decimal(order["target_qty"]), remaining_qty(order)
    if not order["plan"] and order["plan_completes"]:
        step = remaining
    else:
        step = min((target * fraction).quantize(QTY_QUANTUM, ROUND_DOWN), remaining)
    symbol, side = wire["symbol"], wire["side"]
    if side == "sell":
        step = min(step, position_qty(account, symbol))  # shares removed behind the order's back cannot be sold
    if step <= 0:
        return
    price = price_of(data, symbol)
    change_position(account, symbol, step if side == "buy" else -step, price)
    adjust_cash(account, -step * price if side == "buy" else step * price)

    filled = Decimal(wire["filled_qty"]) + step
    filled_notional = Decimal(order["filled_notional"]) + step * price
    leaves = target - filled
    now = timestamp_text(utc_now())
    order["filled_notional"] = decimal_text(filled_notional)
    wire.update(
        filled_qty=decimal_text(filled),
        filled_avg_price=decimal_text((filled_notional / filled).quantize(PRICE_QUANTUM, ROUND_HALF_EVEN)),
        status="filled" if leaves == 0 else "partially_filled",
        updated_at=now,
        filled_at=now if leaves == 0 else None,
    )
    record_activity(account, {
        "activity_type": "FILL",
        "type": "fill" if leaves == 0 else "partial_fill",
        "price": decimal_text(price),
        "qty": decimal_text(step),
        "side": side,
        "symbol": symbol,
        "leaves_qty": decimal_text(leaves),
        "order_id": wire["id"],
        "cum_qty": decimal_text(filled),
        "order_status": wire["status"],
    })


def advance_all_orders(data: dict) -> int:
    """One plan step for every working order in every account; returns how many orders moved."""
    moved = 0
    for account in data["accounts"].values():
        for order in open_orders(account):
            before = order["wire"]["filled_qty"]
            fill_next_step(data, account, order)
            moved += order["wire"]["filled_qty"] != before
    return moved


def _polled(data: dict, account: dict, order: dict) -> dict:
    fill_next_step(data, account, order)
    return order["wire"]


def get_order(data: dict, account: dict, order_id: str) -> dict:
    for order in account["orders"]:
        if order["wire"]["id"] == order_id:
            return _polled(data, account, order)
    raise NotFound(f"order not found for {order_id}")


def get_order_by_client_id(data: dict, account: dict, client_order_id: str | None) -> dict:
    if not client_order_id:
        raise InvalidRequest("client_order_id is required")
    for order in account["orders"]:
        if order["wire"]["client_order_id"] == client_order_id:
            return _polled(data, account, order)
    raise NotFound("order not found")


def list_orders(data: dict, account: dict, query: dict[str, str]) -> list[dict]:
    status = query.get("status", "open")
    if status not in QUERY_STATUSES:
        raise InvalidRequest("invalid status")
    try:
        limit = min(int(query.get("limit", DEFAULT_LIST_LIMIT)), MAX_LIST_LIMIT)
    except ValueError:
        limit = 0
    if limit < 1:
        raise InvalidRequest("invalid limit")
    after = parse_timestamp(query["after"], "after") if "after" in query else None
    until = parse_timestamp(query["until"], "until") if "until" in query else None
    symbols = {symbol.strip().upper() for symbol in query["symbols"].split(",")} if query.get("symbols") else None
    side = query.get("side")
    for order in open_orders(account):
        fill_next_step(data, account, order)

    def wanted(wire: dict) -> bool:
        submitted = parse_timestamp(wire["submitted_at"], "submitted_at")
        is_open = wire["status"] in ("accepted", "partially_filled", "new")
        return ((status == "all" or (status == "open") == is_open)
                and (after is None or submitted > after) and (until is None or submitted < until)
                and (symbols is None or wire["symbol"] in symbols) and (side is None or wire["side"] == side))

    chosen = [order["wire"] for order in account["orders"] if wanted(order["wire"])]
    chosen.sort(key=lambda wire: wire["submitted_at"], reverse=query.get("direction", "desc") == "desc")
    return chosen[:limit]


def cancel_order(account: dict, order_id: str) -> None:
    for order in account["orders"]:
        wire = order["wire"]
        if wire["id"] != order_id:
            continue
        if wire["status"] not in ("accepted", "partially_filled", "new"):
            raise OrderNotCancelable(f'order is already in "{wire["status"]}" state')
        now = timestamp_text(utc_now())
        wire.update(status="canceled", canceled_at=now, updated_at=now)
        order["plan"] = []
        return
    raise NotFound(f"order not found for {order_id}")


def cancel_all_orders(account: dict) -> list[dict]:
    """Alpaca's 207 body for DELETE /v2/orders: one {id, status, body} per order it tried to cancel."""
    results = []
    for order in open_orders(account):
        cancel_order(account, order["wire"]["id"])
        results.append({"id": order["wire"]["id"], "status": 200, "body": order["wire"]})
    return results
