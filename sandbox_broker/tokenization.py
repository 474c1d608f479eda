"""Alpaca's Instant Tokenization Network, as the issuer's custody account sees it.

Paths (the Trading API ones authenticate with APCA-API-KEY-ID/APCA-API-SECRET-KEY; the Broker API ones with
HTTP Basic key:secret or the same APCA headers, and {account_id} must be the caller's own account):

  POST /v2/tokenization/mint                      AP asks for tokens. Shares are journaled at once from the AP's
                                                  account to the issuer's (a JNLS on each side) and the request
                                                  is `pending` until the issuer confirms.
  GET  /v2/tokenization/requests                  list (filters: type, status, underlying_symbol, issuer,
                                                  network, after, before; created_at, exclusive)
  GET  /v2/tokenization/requests/{id}
  GET  /v2/tokenization/requests:by_client_request_id?client_request_id=...
  POST /v1/accounts/{account_id}/tokenization/callback/mint     issuer reports the on-chain mint: `completed`
  POST /v1/accounts/{account_id}/tokenization/callback/redeem   issuer reports a burn: shares are journaled
                                                  back from the issuer's account to the AP's, `completed` at once
  GET  /v1/accounts/{account_id}/tokenization/requests          (same filters), /{id},
                                                  and :by_issuer_request_id?issuer_request_id=...

The mint and redeem POSTs honour an Idempotency-Key header the way Alpaca documents it: the same key with
the same body replays the first answer, the same key with another body is a 422.
"""
from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from decimal import Decimal

from .book import held_for_orders, journal_shares, position_qty
from .errors import (
    BadRequest,
    BrokerError,
    Forbidden,
    IdempotencyKeyReused,
    NotFound,
    TokenizationFieldsInvalid,
    TokenizationRejected,
)
from .state import account_by_ref
from .wire import decimal_text, parse_decimal, parse_timestamp, timestamp_text, utc_now

NETWORKS = frozenset({"arbitrum", "base", "binance", "cronos", "ethereum", "hypercore", "hyperevm", "mantle",
                      "robinhood", "solana", "ton", "tron"})
TOKEN_SYMBOL_SUFFIX = "x"
MAX_IDEMPOTENCY_KEY_LENGTH = 128
MINT_FIELDS = ("underlying_symbol", "qty", "issuer", "network", "wallet_address")
REDEEM_FIELDS = ("issuer_request_id", "underlying_symbol", "token_symbol", "qty", "network", "wallet_address", "tx_hash")


def _require(payload: dict, names: tuple[str, ...]) -> None:
    missing = [name for name in names if payload.get(name) in (None, "")]
    if missing:
        raise TokenizationFieldsInvalid(", ".join(f"{name} is required" for name in missing))


def _checked_qty_and_network(payload: dict) -> Decimal:
    if payload["network"] not in NETWORKS:
        raise TokenizationFieldsInvalid(f"network is invalid: {payload['network']}")
    qty = parse_decimal(payload["qty"], "qty")
    if qty <= 0:
        raise TokenizationFieldsInvalid("qty must be greater than 0")
    return qty


def issuer_account(data: dict) -> dict:
    return data["accounts"][data["issuer_account_id"]]


def with_idempotency(data: dict, account: dict, route: str, key: str | None, body: dict,
                     run: Callable[[], dict]) -> tuple[int, dict]:
    """Run once per (account, route, key); replay the stored status and body for the same request body."""
    if key is None:
        return 200, run()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise BadRequest("invalid Idempotency-Key header")
    fingerprint = hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()
    slot = f"{account['id']} {route} {key}"
    stored = data["idempotency"].get(slot)
    if stored is not None:
        if stored["fingerprint"] != fingerprint:
            raise IdempotencyKeyReused("Idempotency-Key was already used with a different request body")
        return stored["status"], stored["body"]
    try:
        status, answer = 200, run()
    except BrokerError as refusal:
        status, answer = refusal.status, refusal.body()
    data["idempotency"][slot] = {"fingerprint": fingerprint, "status": status, "body": answer}
    return status, answer


def _new_request(kind: str, symbol: str, token_symbol: str, qty: Decimal, issuer: str, payload: dict,
                 ap: dict) -> dict:
    return {
        "tokenization_request_id": str(uuid.uuid4()),
        "type": kind,
        "status": "pending",
        "underlying_symbol": symbol,
        "token_symbol": token_symbol,
        "qty": decimal_text(qty),
        "issuer": issuer,
        "network": payload["network"],
        "wallet_address": payload["wallet_address"],
        "client_account_id": ap["id"],
        "client_external_account_id": ap["external_account_id"],
        "client_request_id": payload.get("client_request_id"),
        "issuer_request_id": payload.get("issuer_request_id"),
        "tx_hash": payload.get("tx_hash"),
        "fees": None,
        "created_at": timestamp_text(utc_now()),
        "updated_at": None,
    }


def request_mint(data: dict, ap: dict, payload: dict) -> dict:
    """The AP's mint: shares leave the AP's account for the issuer's now; tokens follow when the issuer confirms."""
    _require(payload, MINT_FIELDS)
    if payload["issuer"] != data["issuer"]:
        raise TokenizationFieldsInvalid(f"issuer is invalid: {payload['issuer']}")
    qty = _checked_qty_and_network(payload)
    if ap["id"] == data["issuer_account_id"]:
        raise TokenizationRejected("account is not authorized to mint")
    symbol = str(payload["underlying_symbol"]).upper()
    if symbol not in data["assets"]:
        raise TokenizationFieldsInvalid(f"underlying_symbol is invalid: {symbol}")
    available = position_qty(ap, symbol) - held_for_orders(ap, symbol)
    if qty > available:
        raise TokenizationRejected(
            f"insufficient position: requested {decimal_text(qty)} {symbol}, available {decimal_text(available)}")
    request = _new_request("mint", symbol, symbol + TOKEN_SYMBOL_SUFFIX, qty, data["issuer"], payload, ap)
    identifier = request["tokenization_request_id"]
    issuer = issuer_account(data)
    journal_shares(data, ap, symbol, -qty, f"ITN mint {identifier}: to {issuer['account_number']}")
    journal_shares(data, issuer, symbol, qty, f"ITN mint {identifier}: from {ap['account_number']}")
    data["tokenization_requests"].append(request)
    return request


def _matching(request: dict, payload: dict, field: str) -> None:
    if payload.get(field) not in (None, "") and payload[field] != request[field]:
        raise TokenizationFieldsInvalid(f"{field} does not match the tokenization request")


def confirm_mint(data: dict, issuer: dict, payload: dict) -> dict:
    """The issuer's callback after minting on chain. Repeating it with the same tx_hash answers the same."""
    _require(payload, ("tokenization_request_id", "tx_hash"))
    request = next((candidate for candidate in data["tokenization_requests"]
                    if candidate["tokenization_request_id"] == payload["tokenization_request_id"]
                    and candidate["type"] == "mint" and candidate["issuer"] == data["issuer"]), None)
    if request is None or issuer["id"] != data["issuer_account_id"]:
        raise NotFound("tokenization request not found")
    client_external_id = payload.get("client_external_account_id") or payload.get("client_id")
    if client_external_id not in (None, "") and client_external_id != request["client_external_account_id"]:
        raise TokenizationFieldsInvalid("client_id does not match the tokenization request")
    for field in ("client_account_id", "wallet_address", "network"):
        _matching(request, payload, field)
    if request["status"] == "completed":
        if request["tx_hash"] == payload["tx_hash"]:
            return request
        raise TokenizationRejected("tokenization request is already completed")
    if request["status"] == "rejected":
        raise TokenizationRejected("tokenization request was rejected")
    request.update(status="completed", tx_hash=payload["tx_hash"], updated_at=timestamp_text(utc_now()))
    return request


def _redeeming_ap(data: dict, payload: dict) -> dict:
    external_id = payload.get("client_external_account_id") or payload.get("client_id")
    account_id = payload.get("client_account_id")
    if bool(external_id) == bool(account_id):
        raise TokenizationFieldsInvalid("exactly one of client_external_account_id or client_account_id is required")
    for account in data["accounts"].values():
        if account["id"] == account_id or (external_id and account["external_account_id"] == external_id):
            if account["id"] != data["issuer_account_id"]:
                return account
    raise TokenizationRejected("account is not authorized to redeem")


def redeem(data: dict, issuer: dict, payload: dict) -> dict:
    """The issuer's report of tokens burned: shares go back to the AP at once and the request is completed."""
    _require(payload, REDEEM_FIELDS)
    if issuer["id"] != data["issuer_account_id"]:
        raise TokenizationRejected("account is not authorized to redeem")
    qty = _checked_qty_and_network(payload)
    ap = _redeeming_ap(data, payload)
    if any(candidate["issuer_request_id"] == payload["issuer_request_id"] and candidate["type"] == "redeem"
           for candidate in data["tokenization_requests"]):
        raise TokenizationFieldsInvalid("issuer_request_id must be unique")
    symbol = str(payload["underlying_symbol"]).upper()
    available = position_qty(issuer, symbol) - held_for_orders(issuer, symbol)
    if qty > available:
        raise TokenizationRejected(
            f"insufficient quantity: requested {decimal_text(qty)} {symbol}, available {decimal_text(available)}")
    request = _new_request("redeem", symbol, payload["token_symbol"], qty, data["issuer"], payload, ap)
    identifier = request["tokenization_request_id"]
    journal_shares(data, issuer, symbol, -qty, f"ITN redeem {identifier}: to {ap['account_number']}")
    journal_shares(data, ap, symbol, qty, f"ITN redeem {identifier}: from {issuer['account_number']}")
    request.update(status="completed", updated_at=timestamp_text(utc_now()))
    data["tokenization_requests"].append(request)
    return request


def _visible(data: dict, account: dict, request: dict) -> bool:
    return request["client_account_id"] == account["id"] or (
        account["id"] == data["issuer_account_id"] and request["issuer"] == data["issuer"])


def list_requests(data: dict, account: dict, query: dict[str, str]) -> list[dict]:
    after = parse_timestamp(query["after"], "after") if "after" in query else None
    before = parse_timestamp(query["before"], "before") if "before" in query else None
    exact = {name: query[name] for name in ("type", "status", "issuer", "network") if name in query}
    if "underlying_symbol" in query:
        exact["underlying_symbol"] = query["underlying_symbol"].upper()
    return [
        request for request in data["tokenization_requests"]
        if _visible(data, account, request)
        and all(request[name] == value for name, value in exact.items())
        and (after is None or parse_timestamp(request["created_at"], "created_at") > after)
        and (before is None or parse_timestamp(request["created_at"], "created_at") < before)
    ]


def find_request(data: dict, account: dict, field: str, value: str | None) -> dict:
    for request in data["tokenization_requests"]:
        if value and request[field] == value and _visible(data, account, request):
            return request
    raise NotFound("tokenization request not found")


def broker_path_account(data: dict, caller: dict, account_id: str) -> dict:
    """The {account_id} of a Broker API path, which must be the caller's own account."""
    if account_id != caller["id"]:
        account_by_ref(data, account_id)  # 404 for an unknown account, 403 for someone else's
        raise Forbidden("forbidden")
    return caller
