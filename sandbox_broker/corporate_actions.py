"""Corporate action announcements (GET /v2/corporate_actions/announcements) that tests and the demo add.

An announcement is only news: it changes no position or cash. The booked effect (a DIV or SPLIT activity)
is added separately through the control API, the way the announcement and the payment arrive days apart at
a real broker. since/until are inclusive and at most 90 days apart, as Alpaca enforces; without date_type an
announcement matches when any of its four dates falls in the range.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from .errors import InvalidRequest, NotFound
from .wire import decimal_text, parse_date, parse_decimal

DEFAULT_SUB_TYPES = {"dividend": "cash", "split": "stock_split", "merger": "merger_completion", "spinoff": "spinoff"}
SUB_TYPES = {"cash", "stock", "merger_update", "merger_completion", "spinoff", "stock_split", "unit_split",
             "reverse_split", "recapitalization"}
DATE_TYPES = ("declaration_date", "ex_date", "record_date", "payable_date")
MAX_RANGE = timedelta(days=90)


def add_announcement(data: dict, fields: dict) -> dict:
    ca_type = fields.get("ca_type")
    if ca_type not in DEFAULT_SUB_TYPES:
        raise InvalidRequest(f"invalid ca_type: {ca_type}")
    ca_sub_type = fields.get("ca_sub_type", DEFAULT_SUB_TYPES[ca_type])
    if ca_sub_type not in SUB_TYPES:
        raise InvalidRequest(f"invalid ca_sub_type: {ca_sub_type}")
    symbol = str(fields.get("initiating_symbol") or "").upper()
    if not symbol:
        raise InvalidRequest("initiating_symbol is required")
    cusip = fields.get("initiating_original_cusip") or (data["assets"].get(symbol) or {}).get("cusip") or ""
    dates = {name: parse_date(fields[name], name).isoformat() if fields.get(name) else None for name in DATE_TYPES}
    announcement_id = str(uuid.uuid4())
    announcement = {
        "id": announcement_id,
        "corporate_action_id": fields.get("corporate_action_id") or f"{symbol}_{ca_type.upper()}_{announcement_id[:8]}",
        "ca_type": ca_type,
        "ca_sub_type": ca_sub_type,
        "initiating_symbol": symbol,
        "initiating_original_cusip": cusip,
        "target_symbol": (fields.get("target_symbol") or symbol).upper(),
        "target_original_cusip": fields.get("target_original_cusip") or cusip,
        **dates,
        "cash": decimal_text(parse_decimal(fields.get("cash", "0"), "cash")),
        "old_rate": decimal_text(parse_decimal(fields.get("old_rate", "1"), "old_rate")),
        "new_rate": decimal_text(parse_decimal(fields.get("new_rate", "1"), "new_rate")),
    }
    data["announcements"].append(announcement)
    return announcement


def _in_range(announcement: dict, date_type: str | None, since: date, until: date) -> bool:
    names = (date_type,) if date_type else DATE_TYPES
    return any(announcement[name] and since <= date.fromisoformat(announcement[name]) <= until for name in names)


def query_announcements(data: dict, query: dict[str, str]) -> list[dict]:
    missing = [name for name in ("ca_types", "since", "until") if not query.get(name)]
    if missing:
        raise InvalidRequest(", ".join(f"{name} is required" for name in missing))
    ca_types = {name.strip() for name in query["ca_types"].split(",")}
    unknown = ca_types - set(DEFAULT_SUB_TYPES)
    if unknown:
        raise InvalidRequest(f"invalid ca_types: {','.join(sorted(unknown))}")
    since, until = parse_date(query["since"], "since"), parse_date(query["until"], "until")
    if until < since or until - since > MAX_RANGE:
        raise InvalidRequest("date range must be non-negative and at most 90 days")
    date_type = query.get("date_type")
    if date_type is not None and date_type not in DATE_TYPES:
        raise InvalidRequest(f"invalid date_type: {date_type}")
    symbol, cusip = (query.get("symbol") or "").upper(), query.get("cusip")
    return [
        announcement for announcement in data["announcements"]
        if announcement["ca_type"] in ca_types
        and _in_range(announcement, date_type, since, until)
        and (not symbol or symbol in (announcement["initiating_symbol"], announcement["target_symbol"]))
        and (not cusip or cusip in (announcement["initiating_original_cusip"], announcement["target_original_cusip"]))
    ]


def get_announcement(data: dict, announcement_id: str) -> dict:
    for announcement in data["announcements"]:
        if announcement["id"] == announcement_id:
            return announcement
    raise NotFound("corporate action announcement not found")
