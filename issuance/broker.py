"""The broker edge of Alpaca's Instant Tokenization Network (ITN): mint requests in its shape, the journal
behind them, and completion reports in its callback shape (see sandbox_broker/tokenization.py).

Credentials and base URL are those of our custody account (custody.CustodyAccount named by
ISSUANCE_CUSTODY_ACCOUNT): the key and secret are read from the environment variables it names.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from decimal import Decimal

import requests
from django.conf import settings

from custody.models import CustodyAccount
from partners.models import Partner

from . import chain_client
from .errors import BrokerCallFailed, InvalidItnRequest, UnknownPartner
from .models import MintRequest, RedeemRequest

TIMEOUT_SECONDS = 5
ITN_MINT_FIELDS = ("tokenization_request_id", "underlying_symbol", "qty", "issuer", "network", "wallet_address")


@dataclass
class _Broker:
    session: requests.Session
    base_url: str
    account_id: str

    def call(self, method: str, path: str, **kwargs) -> requests.Response:
        try:
            return self.session.request(method, self.base_url + path, timeout=TIMEOUT_SECONDS, **kwargs)
        except requests.RequestException as failure:
            raise BrokerCallFailed(f"{method} {path}: {failure}") from failure

    def json(self, method: str, path: str, **kwargs) -> dict | list:
        answer = self.call(method, path, **kwargs)
        if answer.status_code >= 300:
            raise BrokerCallFailed(f"{method} {path} answered {answer.status_code}: {answer.text[:300]}")
        return answer.json(parse_float=Decimal)


_brokers: dict[tuple[str, str], _Broker] = {}


def _broker() -> _Broker:
    account = CustodyAccount.objects.filter(name=settings.ISSUANCE_CUSTODY_ACCOUNT).first()
    if account is None or not account.base_url:
        raise BrokerCallFailed(f"custody account {settings.ISSUANCE_CUSTODY_ACCOUNT!r} with a broker URL is not set up")
    key, secret = os.environ.get(account.api_key_env, ""), os.environ.get(account.api_secret_env, "")
    cached = _brokers.get((account.base_url, key))
    if cached is None:
        session = requests.Session()
        session.headers.update({"APCA-API-KEY-ID": key, "APCA-API-SECRET-KEY": secret})
        partial = _Broker(session, account.base_url.rstrip("/"), "")
        partial.account_id = partial.json("GET", "/v2/account")["id"]
        cached = _brokers[(account.base_url, key)] = partial
    return cached


def _itn_request(tokenization_request_id: str) -> dict:
    broker = _broker()
    return broker.json("GET", f"/v1/accounts/{broker.account_id}/tokenization/requests/{tokenization_request_id}")


def itn_mint_request(payload: dict, actor: str = "system:itn") -> MintRequest:
    """A mint request in the ITN shape (tokenization_request_id, underlying_symbol, qty, issuer, network,
    wallet_address, client_external_account_id | client_id). Idempotent per tokenization_request_id."""
    from .services import request_mint

    missing = [name for name in ITN_MINT_FIELDS if payload.get(name) in (None, "")]
    if missing:
        raise InvalidItnRequest(f"ITN mint request lacks {', '.join(missing)}")
    if payload["issuer"] != settings.ISSUANCE_ITN_ISSUER:
        raise InvalidItnRequest(f"ITN mint request is for issuer {payload['issuer']!r}, we are {settings.ISSUANCE_ITN_ISSUER!r}")
    client_id = payload.get("client_external_account_id") or payload.get("client_id") or ""
    partner = Partner.objects.filter(broker_client_id=client_id).first() if client_id else None
    if partner is None:
        raise UnknownPartner(f"no partner has broker client id {client_id!r}")
    network = chain_client.network_for_itn(payload["network"])
    request_id = payload["tokenization_request_id"]
    return request_mint(partner, payload["underlying_symbol"], payload["qty"], network.name, payload["wallet_address"],
                        actor, idempotency_key=f"itn:{request_id}", source="itn", itn_request_id=request_id)


def poll_itn_mints() -> tuple[list[MintRequest], list[tuple[str, str]]]:
    """Take in every pending ITN mint request the broker holds for us. Returns the requests recorded (new
    or earlier) and (tokenization_request_id, error code) for those refused (nothing recorded for them)."""
    from ledger.errors import DomainError

    broker = _broker()
    pending = broker.json("GET", f"/v1/accounts/{broker.account_id}/tokenization/requests",
                          params={"type": "mint", "status": "pending"})
    known = set(MintRequest.objects.filter(itn_request_id__in=[r["tokenization_request_id"] for r in pending])
                .values_list("itn_request_id", flat=True))
    recorded, refused = [], []
    for itn in pending:
        if itn["tokenization_request_id"] in known:
            continue
        try:
            recorded.append(itn_mint_request(itn))
        except DomainError as refusal:
            refused.append((itn["tokenization_request_id"], refusal.code))
    return recorded, refused


def itn_shares_journaled(request: MintRequest) -> bool:
    """True when the broker shows the ITN request behind this mint, i.e. it journaled the shares to us."""
    itn = _itn_request(request.itn_request_id)
    return (itn.get("type") == "mint" and itn.get("status") in ("pending", "completed")
            and Decimal(str(itn["qty"])) == request.qty_shares
            and str(itn["underlying_symbol"]).upper() == request.instrument.symbol)


def report_mint(request: MintRequest) -> dict:
    """The ITN mint callback: tokenization_request_id, client_id, wallet_address, tx_hash, network."""
    broker = _broker()
    itn = _itn_request(request.itn_request_id)
    body = {
        "tokenization_request_id": request.itn_request_id,
        "client_id": request.partner.broker_client_id,
        "wallet_address": itn["wallet_address"] if itn["wallet_address"].lower() == request.wallet_address.lower()
        else request.wallet_address,
        "tx_hash": request.tx_hash,
        "network": chain_client.network(request.network).itn_network,
    }
    return broker.json("POST", f"/v1/accounts/{broker.account_id}/tokenization/callback/mint", json=body)


def report_redeem(redeem: RedeemRequest) -> dict:
    """The ITN redeem callback: the broker journals the shares back to the partner. Repeating it for the same
    issuer_request_id returns the first record."""
    broker = _broker()
    body = {
        "issuer_request_id": redeem.id,
        "underlying_symbol": redeem.instrument.symbol,
        "token_symbol": redeem.deployment.token_symbol,
        "qty": str(redeem.qty_shares),
        "network": chain_client.network(redeem.network).itn_network,
        "wallet_address": redeem.from_address,
        "tx_hash": redeem.tx_hash,
        "client_id": redeem.partner.broker_client_id,
    }
    path = f"/v1/accounts/{broker.account_id}/tokenization"
    answer = broker.call("POST", f"{path}/callback/redeem", json=body)
    if answer.status_code < 300:
        return answer.json(parse_float=Decimal)
    earlier = broker.call("GET", f"{path}/requests:by_issuer_request_id", params={"issuer_request_id": redeem.id})
    if earlier.status_code == 200:
        return earlier.json(parse_float=Decimal)
    raise BrokerCallFailed(f"redeem callback for {redeem.id} answered {answer.status_code}: {answer.text[:300]}")


def report_to_broker(request: MintRequest | RedeemRequest) -> dict:
    return report_mint(request) if isinstance(request, MintRequest) else report_redeem(request)
