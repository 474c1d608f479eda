"""GET /v2/account/activities[/{type}] with Alpaca's filters and page_token paging.

Alpaca returns a bare JSON list; there is no "next page" field. The client passes the id of the last item it
got as page_token: with direction=desc (the default) the next page holds the activities before that id, with
asc the ones after it. page_size defaults to and is capped at 100 unless `date` is given, in which case the
whole day comes back unless page_size says otherwise. Ids start with the booking time, so sorting by id is
sorting by time, which is what makes the token work.
"""
from __future__ import annotations

from .book import activity_date, activity_moment
from .errors import InvalidRequest
from .wire import parse_date, parse_timestamp

ACTIVITY_TYPES = frozenset({
    "FILL", "ACATC", "ACATS", "CFEE", "CIL", "CSD", "CSW", "DIV", "DIVCGL", "DIVCGS", "DIVNRA", "DIVROC",
    "DIVTXEX", "DIVWH", "EXTRD", "FEE", "FXTRD", "INT", "INTPNL", "JNLC", "JNLS", "MA", "MEM", "NC", "OCT",
    "OPASN", "OPCSH", "OPEXC", "OPEXP", "OPTRD", "PTC", "REORG", "SPIN", "SPLIT", "SWP", "VOF", "WH",
})
CATEGORIES = {"trade_activity", "non_trade_activity"}
MAX_PAGE_SIZE = 100


def check_activity_type(activity_type: str) -> str:
    if activity_type not in ACTIVITY_TYPES:
        raise InvalidRequest(f"invalid activity type: {activity_type}")
    return activity_type


def _wanted_types(query: dict[str, str], path_type: str | None) -> set[str] | None:
    category = query.get("category")
    if category is not None and (path_type or query.get("activity_types")):
        raise InvalidRequest("category cannot be used with activity_types")
    if path_type:
        return {check_activity_type(path_type)}
    if query.get("activity_types"):
        return {check_activity_type(name.strip()) for name in query["activity_types"].split(",") if name.strip()}
    if category is None:
        return None
    if category not in CATEGORIES:
        raise InvalidRequest(f"invalid category: {category}")
    return {"FILL"} if category == "trade_activity" else ACTIVITY_TYPES - {"FILL"}


def _page_size(query: dict[str, str]) -> int | None:
    if "page_size" not in query:
        return None if "date" in query else MAX_PAGE_SIZE
    try:
        size = int(query["page_size"])
    except ValueError:
        raise InvalidRequest("invalid page_size") from None
    if size < 1:
        raise InvalidRequest("invalid page_size")
    return size if "date" in query else min(size, MAX_PAGE_SIZE)


def query_activities(account: dict, query: dict[str, str], path_type: str | None = None) -> list[dict]:
    types = _wanted_types(query, path_type)
    if "date" in query and ("after" in query or "until" in query):
        raise InvalidRequest("date cannot be used with after or until")
    on_date = parse_date(query["date"], "date") if "date" in query else None
    after = parse_timestamp(query["after"], "after") if "after" in query else None
    until = parse_timestamp(query["until"], "until") if "until" in query else None
    direction = query.get("direction", "desc")
    if direction not in ("asc", "desc"):
        raise InvalidRequest("invalid direction")
    page_token, page_size = query.get("page_token"), _page_size(query)

    chosen = []
    for activity in account["activities"]:
        if types is not None and activity["activity_type"] not in types:
            continue
        if on_date is not None and activity_date(activity) != on_date:
            continue
        if (after is not None or until is not None) and not (
            (after is None or activity_moment(activity) > after) and (until is None or activity_moment(activity) < until)
        ):
            continue
        if page_token and not (activity["id"] > page_token if direction == "asc" else activity["id"] < page_token):
            continue
        chosen.append(activity)
    if direction == "desc":
        chosen.reverse()
    return chosen if page_size is None else chosen[:page_size]
