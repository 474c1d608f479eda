"""Cash, positions and the activity list of one account, changed together.

Every fill, journal, dividend, split and fee goes through these functions so that the three never disagree:
a JNLS of -5 AAPL is also 5 fewer AAPL in the position, a DIV of 24.00 is also 24.00 more cash. Positions
keep qty and avg_entry_price (Alpaca's own pair: selling leaves the average unchanged); cost basis and
market value are derived from them when a position is shown.
"""
from __future__ import annotations

import bisect
import uuid
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal

from .errors import InsufficientQty, InvalidRequest, NotFound
from .wire import (
    EASTERN,
    ONE_MILLISECOND,
    activity_id_prefix,
    decimal_text,
    parse_timestamp,
    timestamp_text,
    trade_date,
    truncate_to_millisecond,
    utc_now,
)

PRICE_QUANTUM = Decimal("0.000000001")
QTY_QUANTUM = Decimal("0.000000001")
CENT = Decimal("0.01")
OPEN_ORDER_STATUSES = {"new", "accepted", "pending_new", "partially_filled", "held", "accepted_for_bidding"}


def price_of(data: dict, symbol: str) -> Decimal:
    if symbol not in data["prices"]:
        raise NotFound(f"asset {symbol} not found")
    return Decimal(data["prices"][symbol])


def position_qty(account: dict, symbol: str) -> Decimal:
    position = account["positions"].get(symbol)
    return Decimal(position["qty"]) if position else Decimal(0)


def remaining_qty(order: dict) -> Decimal:
    """What an open order may still fill: its qty (or, for notional orders, its planned qty) minus filled_qty."""
    return Decimal(order["target_qty"]) - Decimal(order["wire"]["filled_qty"])


def open_orders(account: dict) -> list[dict]:
    return [order for order in account["orders"] if order["wire"]["status"] in OPEN_ORDER_STATUSES]


def held_for_orders(account: dict, symbol: str) -> Decimal:
    """Shares promised to open sell orders: Alpaca's gap between qty and qty_available."""
    return sum(
        (remaining_qty(order) for order in open_orders(account)
         if order["wire"]["symbol"] == symbol and order["wire"]["side"] == "sell"),
        Decimal(0),
    )


def reserved_for_buys(data: dict, account: dict) -> Decimal:
    """Cash promised to open buy orders at today's price, so buying power cannot be spent twice."""
    return sum(
        (remaining_qty(order) * price_of(data, order["wire"]["symbol"]) for order in open_orders(account)
         if order["wire"]["side"] == "buy"),
        Decimal(0),
    )


def adjust_cash(account: dict, delta: Decimal) -> None:
    account["cash"] = decimal_text(Decimal(account["cash"]) + delta)


def change_position(account: dict, symbol: str, qty_delta: Decimal, price: Decimal) -> None:
    """Add (at `price`) or remove shares. Adding moves the average entry price; removing keeps it."""
    position = account["positions"].get(symbol)
    qty = Decimal(position["qty"]) if position else Decimal(0)
    average = Decimal(position["avg_entry_price"]) if position else Decimal(0)
    new_qty = qty + qty_delta
    if new_qty < 0:
        raise InsufficientQty(
            f"insufficient qty available for order (requested: {decimal_text(-qty_delta)}, available: {decimal_text(qty)})",
            symbol=symbol, existing_qty=decimal_text(qty), available=decimal_text(qty),
        )
    if new_qty == 0:
        account["positions"].pop(symbol, None)
        return
    if qty_delta > 0:
        average = ((qty * average + qty_delta * price) / new_qty).quantize(PRICE_QUANTUM, ROUND_HALF_EVEN)
    account["positions"][symbol] = {"qty": decimal_text(new_qty), "avg_entry_price": decimal_text(average)}


def set_position(account: dict, symbol: str, qty: Decimal, average: Decimal) -> None:
    """Overwrite a position with no activity: how a test makes shares vanish at the broker unexplained."""
    if qty < 0:
        raise InvalidRequest("qty must not be negative")
    if qty == 0:
        account["positions"].pop(symbol, None)
    else:
        account["positions"][symbol] = {"qty": decimal_text(qty), "avg_entry_price": decimal_text(average)}


def _next_activity_moment(account: dict) -> datetime:
    """Now, to the millisecond, and strictly after the account's previous activity so ids sort in booking order."""
    moment = truncate_to_millisecond(utc_now())
    if account["last_activity_at"]:
        previous = parse_timestamp(account["last_activity_at"], "last_activity_at")
        if moment <= previous:
            moment = previous + ONE_MILLISECOND
    account["last_activity_at"] = timestamp_text(moment)
    return moment


def activity_moment(activity: dict) -> datetime:
    """When an activity was booked, read back from its id prefix (New York time to the millisecond)."""
    prefix = activity["id"].split("::", 1)[0]
    booked = datetime.strptime(prefix[:14], "%Y%m%d%H%M%S").replace(microsecond=int(prefix[14:17]) * 1000)
    return booked.replace(tzinfo=EASTERN)


def activity_date(activity: dict) -> date:
    if "date" in activity:
        return date.fromisoformat(activity["date"])
    return trade_date(activity_moment(activity))


def record_activity(account: dict, fields: dict, booked_at: datetime | None = None) -> dict:
    """Append an activity with an Alpaca-shaped id ("20260101093000123::<uuid>"), kept sorted by id."""
    moment = _next_activity_moment(account) if booked_at is None else truncate_to_millisecond(booked_at)
    activity = {"id": f"{activity_id_prefix(moment)}::{uuid.uuid4()}", "account_id": account["id"], **fields}
    if activity["activity_type"] == "FILL":
        activity["transaction_time"] = timestamp_text(moment)
    elif activity.get("date") is None:
        activity["date"] = trade_date(moment).isoformat()
    ids = [existing["id"] for existing in account["activities"]]
    account["activities"].insert(bisect.bisect(ids, activity["id"]), activity)
    return activity


def non_trade_activity(activity_type: str, net_amount: Decimal, description: str, on_date: str | None,
                       **details: str | None) -> dict:
    """The NTA fields alpaca-py's NonTradeActivity reads, plus whichever details the type carries."""
    fields = {
        "activity_type": activity_type,
        "date": on_date,
        "net_amount": decimal_text(net_amount),
        "description": description,
        "status": "executed",
    }
    fields.update({key: value for key, value in details.items() if value is not None})
    return fields


def pay_dividend(data: dict, account: dict, symbol: str, per_share: Decimal, net_amount: Decimal | None,
                 on_date: str | None, booked_at: datetime | None = None) -> dict | None:
    """A cash dividend on the shares held now: DIV activity and cash, rounded to the cent unless net_amount is given."""
    qty = position_qty(account, symbol)
    if qty == 0 and net_amount is None:
        return None
    paid = net_amount if net_amount is not None else (qty * per_share).quantize(CENT, ROUND_HALF_UP)
    adjust_cash(account, paid)
    cusip = data["assets"].get(symbol, {}).get("cusip")
    return record_activity(account, non_trade_activity(
        "DIV", paid, f"Cash DIV @ {decimal_text(per_share)}, Pos QTY: {decimal_text(qty)}", on_date,
        symbol=symbol, cusip=cusip, qty=decimal_text(qty), per_share_amount=decimal_text(per_share),
    ), booked_at)


def journal_shares(data: dict, account: dict, symbol: str, qty_delta: Decimal, description: str,
                   on_date: str | None = None, booked_at: datetime | None = None) -> dict:
    """A JNLS: shares move into (positive) or out of (negative) the account at no cash, valued at today's price."""
    if qty_delta == 0:
        raise InvalidRequest("qty must not be 0")
    price = price_of(data, symbol)
    change_position(account, symbol, qty_delta, price)
    return record_activity(account, non_trade_activity(
        "JNLS", Decimal(0), description, on_date, symbol=symbol, qty=decimal_text(qty_delta), price=decimal_text(price),
    ), booked_at)


def book_cash_activity(account: dict, activity_type: str, net_amount: Decimal, description: str,
                       on_date: str | None = None, booked_at: datetime | None = None) -> dict:
    """JNLC, FEE, CSD, INT...: an activity that only moves cash (negative net_amount = money out)."""
    adjust_cash(account, net_amount)
    return record_activity(account, non_trade_activity(activity_type, net_amount, description, on_date), booked_at)


def split_shares(data: dict, symbol: str, old_rate: Decimal, new_rate: Decimal, on_date: str | None) -> list[dict]:
    """A split for every holder: qty times new/old, average and fill price times old/new, one SPLIT activity each.

    The activity's qty is the change in shares (positive for a forward split, negative for a reverse split),
    so summing JNLS, FILL and SPLIT quantities still reproduces the position.
    """
    if old_rate <= 0 or new_rate <= 0:
        raise InvalidRequest("old_rate and new_rate must be greater than 0")
    ratio_text = f"{decimal_text(new_rate)}:{decimal_text(old_rate)}"
    price = price_of(data, symbol)
    data["prices"][symbol] = decimal_text((price * old_rate / new_rate).quantize(PRICE_QUANTUM, ROUND_HALF_EVEN))
    booked = []
    for account in data["accounts"].values():
        position = account["positions"].get(symbol)
        if not position:
            continue
        qty = Decimal(position["qty"])
        new_qty = (qty * new_rate / old_rate).quantize(QTY_QUANTUM, ROUND_DOWN)
        average = (Decimal(position["avg_entry_price"]) * old_rate / new_rate).quantize(PRICE_QUANTUM, ROUND_HALF_EVEN)
        set_position(account, symbol, new_qty, average)
        booked.append(record_activity(account, non_trade_activity(
            "SPLIT", Decimal(0), f"{symbol} split {ratio_text}", on_date,
            symbol=symbol, qty=decimal_text(new_qty - qty), price=data["prices"][symbol],
        )))
    return booked
