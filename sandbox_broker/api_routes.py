"""The Alpaca-compatible endpoints: Trading API v2 and the Broker API's tokenization callbacks."""
from __future__ import annotations

from .activities import query_activities
from .corporate_actions import get_announcement, query_announcements
from .errors import BadRequest
from .orders import cancel_all_orders, cancel_order, get_order, get_order_by_client_id, list_orders, submit_order
from .routing import BROKER_AUTH, TRADING_AUTH, Call, Reply, RouteTable
from .tokenization import (
    broker_path_account,
    confirm_mint,
    find_request,
    list_requests,
    redeem,
    request_mint,
    with_idempotency,
)
from .views import account_view, clock_view, get_asset, get_position, list_assets, list_positions

api = RouteTable()
OK = 200


def _json_object(call: Call) -> dict:
    if not isinstance(call.body, dict):
        raise BadRequest("request body format is invalid")
    return call.body


@api.add("GET", "/v2/account", TRADING_AUTH)
def account(call: Call) -> Reply:
    return OK, account_view(call.data, call.caller)


@api.add("GET", "/v2/assets", TRADING_AUTH)
def assets(call: Call) -> Reply:
    return OK, list_assets(call.data, call.query)


@api.add("GET", "/v2/assets/{symbol_or_id}", TRADING_AUTH)
def asset(call: Call) -> Reply:
    return OK, get_asset(call.data, call.params["symbol_or_id"])


@api.add("GET", "/v2/positions", TRADING_AUTH)
def positions(call: Call) -> Reply:
    return OK, list_positions(call.data, call.caller)


@api.add("GET", "/v2/positions/{symbol_or_id}", TRADING_AUTH)
def position(call: Call) -> Reply:
    return OK, get_position(call.data, call.caller, call.params["symbol_or_id"])


@api.add("POST", "/v2/orders", TRADING_AUTH, mutates=True)
def new_order(call: Call) -> Reply:
    return OK, submit_order(call.data, call.caller, _json_object(call))


@api.add("GET", "/v2/orders", TRADING_AUTH, mutates=True)  # reading orders advances partial-fill plans
def orders(call: Call) -> Reply:
    return OK, list_orders(call.data, call.caller, call.query)


@api.add("DELETE", "/v2/orders", TRADING_AUTH, mutates=True)
def cancel_orders(call: Call) -> Reply:
    return 207, cancel_all_orders(call.caller)


@api.add("GET", "/v2/orders:by_client_order_id", TRADING_AUTH, mutates=True)
def order_by_client_id(call: Call) -> Reply:
    return OK, get_order_by_client_id(call.data, call.caller, call.query.get("client_order_id"))


@api.add("GET", "/v2/orders/{order_id}", TRADING_AUTH, mutates=True)
def order(call: Call) -> Reply:
    return OK, get_order(call.data, call.caller, call.params["order_id"])


@api.add("DELETE", "/v2/orders/{order_id}", TRADING_AUTH, mutates=True)
def cancel(call: Call) -> Reply:
    cancel_order(call.caller, call.params["order_id"])
    return 204, None


@api.add("GET", "/v2/account/activities", TRADING_AUTH)
def activities(call: Call) -> Reply:
    return OK, query_activities(call.caller, call.query)


@api.add("GET", "/v2/account/activities/{activity_type}", TRADING_AUTH)
def activities_of_type(call: Call) -> Reply:
    return OK, query_activities(call.caller, call.query, call.params["activity_type"])


@api.add("GET", "/v2/clock", TRADING_AUTH)
def clock(call: Call) -> Reply:
    return OK, clock_view(call.data)


@api.add("GET", "/v2/corporate_actions/announcements", TRADING_AUTH)
def announcements(call: Call) -> Reply:
    return OK, query_announcements(call.data, call.query)


@api.add("GET", "/v2/corporate_actions/announcements/{announcement_id}", TRADING_AUTH)
def announcement(call: Call) -> Reply:
    return OK, get_announcement(call.data, call.params["announcement_id"])


@api.add("POST", "/v2/tokenization/mint", TRADING_AUTH, mutates=True)
def mint(call: Call) -> Reply:
    payload = _json_object(call)
    return with_idempotency(call.data, call.caller, "mint", call.headers.get("Idempotency-Key"), payload,
                            lambda: request_mint(call.data, call.caller, payload))


@api.add("GET", "/v2/tokenization/requests", TRADING_AUTH)
def tokenization_requests(call: Call) -> Reply:
    return OK, list_requests(call.data, call.caller, call.query)


@api.add("GET", "/v2/tokenization/requests:by_client_request_id", TRADING_AUTH)
def tokenization_request_by_client_id(call: Call) -> Reply:
    return OK, find_request(call.data, call.caller, "client_request_id", call.query.get("client_request_id"))


@api.add("GET", "/v2/tokenization/requests/{request_id}", TRADING_AUTH)
def tokenization_request(call: Call) -> Reply:
    return OK, find_request(call.data, call.caller, "tokenization_request_id", call.params["request_id"])


@api.add("POST", "/v1/accounts/{account_id}/tokenization/callback/mint", BROKER_AUTH, mutates=True)
def mint_callback(call: Call) -> Reply:
    issuer = broker_path_account(call.data, call.caller, call.params["account_id"])
    return OK, confirm_mint(call.data, issuer, _json_object(call))


@api.add("POST", "/v1/accounts/{account_id}/tokenization/callback/redeem", BROKER_AUTH, mutates=True)
def redeem_callback(call: Call) -> Reply:
    issuer = broker_path_account(call.data, call.caller, call.params["account_id"])
    payload = _json_object(call)
    return with_idempotency(call.data, issuer, "redeem", call.headers.get("Idempotency-Key"), payload,
                            lambda: redeem(call.data, issuer, payload))


@api.add("GET", "/v1/accounts/{account_id}/tokenization/requests", BROKER_AUTH)
def broker_tokenization_requests(call: Call) -> Reply:
    account = broker_path_account(call.data, call.caller, call.params["account_id"])
    return OK, list_requests(call.data, account, call.query)


@api.add("GET", "/v1/accounts/{account_id}/tokenization/requests:by_issuer_request_id", BROKER_AUTH)
def broker_tokenization_request_by_issuer_id(call: Call) -> Reply:
    account = broker_path_account(call.data, call.caller, call.params["account_id"])
    return OK, find_request(call.data, account, "issuer_request_id", call.query.get("issuer_request_id"))


@api.add("GET", "/v1/accounts/{account_id}/tokenization/requests/{request_id}", BROKER_AUTH)
def broker_tokenization_request(call: Call) -> Reply:
    account = broker_path_account(call.data, call.caller, call.params["account_id"])
    return OK, find_request(call.data, account, "tokenization_request_id", call.params["request_id"])
