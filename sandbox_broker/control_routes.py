"""The /_sandbox/ control API that tests and the demo use to shape the broker's world and break it on purpose.

All bodies are JSON; amounts and quantities may be strings or numbers (numbers are read as Decimal, never
float). `account` names an account by sandbox name ("custody", "ap") or Alpaca id and defaults to "custody",
the issuer's account. Endpoints:

  POST   /_sandbox/reset                 back to the seeded world (keeps the start-up credentials and prices)
  GET    /_sandbox/state                 the whole state document
  GET    /_sandbox/accounts              accounts with ids, numbers and credentials
  POST   /_sandbox/accounts              {name, key_id, secret_key, cash?, external_account_id?}
  POST   /_sandbox/prices                {symbol, price}            fill and mark price; unknown symbols are added
  POST   /_sandbox/fill_plans            {symbol, fractions: ["0.4", "0.6"]}   [] clears
  POST   /_sandbox/orders/advance        one plan step for every working order
  POST   /_sandbox/positions             {account?, symbol, qty, avg_entry_price?}  silent overwrite, no activity
  POST   /_sandbox/positions/adjust      {account?, symbol, delta}                  silent change, no activity
  POST   /_sandbox/cash                  {account?, cash}                           silent overwrite
  POST   /_sandbox/dividends             {symbol, per_share_amount, account?, net_amount?, date?}  DIV; every
                                         holder when account is omitted
  POST   /_sandbox/journals              {account?, activity_type: JNLS|JNLC, symbol?, qty?, net_amount?,
                                         description?, date?}
  POST   /_sandbox/splits                {symbol, old_rate, new_rate, date?}  SPLIT for every holder
  POST   /_sandbox/fees                  {account?, amount, description?, date?}  FEE of -amount
  POST   /_sandbox/activities            {account?, activity_type, symbol?, qty?, net_amount?, price?,
                                         per_share_amount?, description?, date?, booked_at?}  any NTA type
                                         (REORG, SPIN, DIVNRA...); qty moves shares, net_amount moves cash
  POST   /_sandbox/announcements         corporate action announcement fields (ca_type, initiating_symbol...)
  POST   /_sandbox/clock                 {is_open: true|false|null}   null follows New York hours
  GET    /_sandbox/faults, POST /_sandbox/faults {kind, method?, path_prefix?, count?, ...}, DELETE clears
  GET    /_sandbox/requests?method=&path_prefix=, DELETE clears
"""
from __future__ import annotations

from decimal import Decimal

from .activities import check_activity_type
from .book import (
    book_cash_activity,
    change_position,
    journal_shares,
    non_trade_activity,
    pay_dividend,
    position_qty,
    price_of,
    record_activity,
    set_position,
    split_shares,
)
from .corporate_actions import add_announcement
from .errors import InvalidRequest
from .orders import advance_all_orders, validate_fill_plan
from .routing import NO_AUTH, Call, Reply, RouteTable
from .state import CUSTODY_ACCOUNT, account_by_key, account_by_ref, new_account, set_price
from .wire import decimal_text, parse_date, parse_decimal, parse_timestamp

control = RouteTable()
OK = 200


def _account(call: Call) -> dict:
    return account_by_ref(call.data, str(call.body.get("account") or CUSTODY_ACCOUNT))


def _symbol(call: Call) -> str:
    symbol = str(call.body.get("symbol") or "").upper()
    if symbol not in call.data["assets"]:
        raise InvalidRequest(f"unknown symbol {symbol!r}")
    return symbol


def _amount(call: Call, name: str, default: str | None = None) -> Decimal:
    value = call.body.get(name, default)
    if value is None:
        raise InvalidRequest(f"{name} is required")
    return parse_decimal(value, name)


def _date(call: Call) -> str | None:
    return parse_date(call.body["date"], "date").isoformat() if call.body.get("date") else None


@control.add("POST", "/_sandbox/reset", NO_AUTH, mutates=True)
def reset(call: Call) -> Reply:
    call.server.reset()
    return OK, {"reset": True}


@control.add("GET", "/_sandbox/state", NO_AUTH)
def state(call: Call) -> Reply:
    return OK, call.data


@control.add("GET", "/_sandbox/accounts", NO_AUTH)
def accounts(call: Call) -> Reply:
    fields = ("id", "name", "account_number", "key_id", "secret_key", "external_account_id")
    return OK, [{field: account[field] for field in fields} for account in call.data["accounts"].values()]


@control.add("POST", "/_sandbox/accounts", NO_AUTH, mutates=True)
def add_account(call: Call) -> Reply:
    name, key_id, secret_key = (str(call.body.get(field) or "") for field in ("name", "key_id", "secret_key"))
    if not (name and key_id and secret_key):
        raise InvalidRequest("name, key_id and secret_key are required")
    if account_by_key(call.data, key_id) or any(a["name"] == name for a in call.data["accounts"].values()):
        raise InvalidRequest("an account with this name or key_id exists")
    account = new_account(name, key_id, secret_key, _amount(call, "cash", "0"), call.body.get("external_account_id"))
    call.data["accounts"][account["id"]] = account
    return OK, {field: account[field] for field in ("id", "name", "account_number", "external_account_id")}


@control.add("POST", "/_sandbox/prices", NO_AUTH, mutates=True)
def prices(call: Call) -> Reply:
    symbol = str(call.body.get("symbol") or "").upper()
    if not symbol:
        raise InvalidRequest("symbol is required")
    set_price(call.data, symbol, _amount(call, "price"))
    return OK, {"symbol": symbol, "price": call.data["prices"][symbol]}


@control.add("POST", "/_sandbox/fill_plans", NO_AUTH, mutates=True)
def fill_plans(call: Call) -> Reply:
    symbol = _symbol(call)
    fractions = validate_fill_plan(list(call.body.get("fractions") or []))
    if fractions:
        call.data["fill_plans"][symbol] = fractions
    else:
        call.data["fill_plans"].pop(symbol, None)
    return OK, {"symbol": symbol, "fractions": fractions}


@control.add("POST", "/_sandbox/orders/advance", NO_AUTH, mutates=True)
def advance_orders(call: Call) -> Reply:
    return OK, {"orders_advanced": advance_all_orders(call.data)}


@control.add("POST", "/_sandbox/positions", NO_AUTH, mutates=True)
def positions(call: Call) -> Reply:
    account, symbol = _account(call), _symbol(call)
    average = _amount(call, "avg_entry_price", str(price_of(call.data, symbol)))
    set_position(account, symbol, _amount(call, "qty"), average)
    return OK, {"symbol": symbol, "qty": decimal_text(position_qty(account, symbol))}


@control.add("POST", "/_sandbox/positions/adjust", NO_AUTH, mutates=True)
def adjust_position(call: Call) -> Reply:
    account, symbol = _account(call), _symbol(call)
    change_position(account, symbol, _amount(call, "delta"), price_of(call.data, symbol))
    return OK, {"symbol": symbol, "qty": decimal_text(position_qty(account, symbol))}


@control.add("POST", "/_sandbox/cash", NO_AUTH, mutates=True)
def cash(call: Call) -> Reply:
    account = _account(call)
    account["cash"] = decimal_text(_amount(call, "cash"))
    return OK, {"cash": account["cash"]}


@control.add("POST", "/_sandbox/dividends", NO_AUTH, mutates=True)
def dividends(call: Call) -> Reply:
    symbol, per_share = _symbol(call), _amount(call, "per_share_amount")
    net_amount = _amount(call, "net_amount") if call.body.get("net_amount") is not None else None
    holders = [_account(call)] if call.body.get("account") else list(call.data["accounts"].values())
    paid = [pay_dividend(call.data, account, symbol, per_share, net_amount, _date(call)) for account in holders]
    return OK, [activity for activity in paid if activity is not None]


@control.add("POST", "/_sandbox/journals", NO_AUTH, mutates=True)
def journals(call: Call) -> Reply:
    account, kind = _account(call), call.body.get("activity_type", "JNLS")
    description = str(call.body.get("description") or "")
    if kind == "JNLS":
        return OK, journal_shares(call.data, account, _symbol(call), _amount(call, "qty"), description, _date(call))
    if kind == "JNLC":
        return OK, book_cash_activity(account, "JNLC", _amount(call, "net_amount"), description, _date(call))
    raise InvalidRequest("activity_type must be JNLS or JNLC")


@control.add("POST", "/_sandbox/splits", NO_AUTH, mutates=True)
def splits(call: Call) -> Reply:
    return OK, split_shares(call.data, _symbol(call), _amount(call, "old_rate"), _amount(call, "new_rate"), _date(call))


@control.add("POST", "/_sandbox/fees", NO_AUTH, mutates=True)
def fees(call: Call) -> Reply:
    amount = _amount(call, "amount")
    if amount <= 0:
        raise InvalidRequest("amount must be greater than 0")
    description = str(call.body.get("description") or "fee")
    return OK, book_cash_activity(_account(call), "FEE", -amount, description, _date(call))


@control.add("POST", "/_sandbox/activities", NO_AUTH, mutates=True)
def activities(call: Call) -> Reply:
    """Any non-trade activity with its effect: qty moves shares at the fill price, net_amount moves cash."""
    account, kind = _account(call), check_activity_type(str(call.body.get("activity_type")))
    if kind == "FILL":
        raise InvalidRequest("fills come from orders; submit an order instead")
    symbol = _symbol(call) if call.body.get("symbol") else None
    qty = _amount(call, "qty") if call.body.get("qty") is not None else None
    net_amount = _amount(call, "net_amount", "0")
    if qty is not None:
        if symbol is None:
            raise InvalidRequest("symbol is required with qty")
        change_position(account, symbol, qty, price_of(call.data, symbol))
    account["cash"] = decimal_text(Decimal(account["cash"]) + net_amount)
    details = {name: decimal_text(_amount(call, name)) for name in ("price", "per_share_amount")
               if call.body.get(name) is not None}
    booked_at = parse_timestamp(call.body["booked_at"], "booked_at") if call.body.get("booked_at") else None
    fields = non_trade_activity(kind, net_amount, str(call.body.get("description") or ""), _date(call),
                                symbol=symbol, qty=decimal_text(qty) if qty is not None else None, **details)
    return OK, record_activity(account, fields, booked_at)


@control.add("POST", "/_sandbox/announcements", NO_AUTH, mutates=True)
def announcements(call: Call) -> Reply:
    return OK, add_announcement(call.data, call.body)


@control.add("POST", "/_sandbox/clock", NO_AUTH, mutates=True)
def clock(call: Call) -> Reply:
    is_open = call.body.get("is_open")
    if is_open not in (True, False, None):
        raise InvalidRequest("is_open must be true, false or null")
    call.data["clock"]["is_open"] = is_open
    return OK, call.data["clock"]


@control.add("GET", "/_sandbox/faults", NO_AUTH)
def armed_faults(call: Call) -> Reply:
    return OK, call.server.faults.armed()


@control.add("POST", "/_sandbox/faults", NO_AUTH)
def arm_fault(call: Call) -> Reply:
    call.server.faults.arm(call.body)
    return OK, call.server.faults.armed()


@control.add("DELETE", "/_sandbox/faults", NO_AUTH)
def clear_faults(call: Call) -> Reply:
    call.server.faults.clear()
    return OK, []


@control.add("GET", "/_sandbox/requests", NO_AUTH)
def requests_seen(call: Call) -> Reply:
    return OK, call.server.request_log.entries(call.query.get("method"), call.query.get("path_prefix"))


@control.add("DELETE", "/_sandbox/requests", NO_AUTH)
def clear_requests(call: Call) -> Reply:
    call.server.request_log.clear()
    return OK, []
