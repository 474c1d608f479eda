"""Alpaca Instant Tokenization Network: the AP asks the broker, the broker journals the shares, we mint and
report back in its callback shape; redemptions are reported so the broker journals the shares back."""
from __future__ import annotations

from decimal import Decimal

import pytest

from custody.services import outgoing_journal_account, shares_in_custody, sync_account, unmatched_journal_account
from issuance import services
from issuance.models import MintRequest, RedeemRequest
from ledger import store
from ledger.balances import balance
from partners.services import set_broker_link
from sandbox_broker import SandboxControl

from .support import OPS, ap_requests_mint, sandbox_broker_for, transfer_tokens

pytestmark = pytest.mark.django_db
TOKEN = 10**18


@pytest.fixture
def broker(sandbox, partner, token, monkeypatch) -> SandboxControl:
    control = sandbox_broker_for(sandbox.base_url, token.instrument.symbol, monkeypatch)
    control.set_position(token.instrument.symbol, "50", account="ap")
    set_broker_link(partner, broker_client_id="ap", custody_account="", actor=OPS)
    return control


def test_an_itn_mint_is_minted_and_reported_back_to_the_broker(broker, sandbox, partner, token, keys, w3):
    symbol = token.instrument.symbol
    itn = ap_requests_mint(sandbox.base_url, symbol, "12", keys.partner_wallet.address.lower())
    recorded, refused = services.poll_itn_mints()
    assert refused == [] and [m.itn_request_id for m in recorded] == [itn["tokenization_request_id"]]
    assert services.poll_itn_mints() == ([], [])  # taken in once

    done = services.process_mint(recorded[0].id)
    assert (done.status, done.source, done.reported_to_broker) == (MintRequest.Status.COMPLETED, "itn", True)
    at_broker = next(r for r in broker.state()["tokenization_requests"]
                     if r["tokenization_request_id"] == itn["tokenization_request_id"])
    assert (at_broker["status"], at_broker["tx_hash"]) == ("completed", done.tx_hash)
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-12)

    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 5 * TOKEN)
    services.watch_chains()
    redeem = RedeemRequest.objects.get(deposit_tx_hash=deposit)
    assert services.process_redeem(redeem.id).status == RedeemRequest.Status.BURNED
    w3.provider.make_request("anvil_mine", [hex(64 + 1)])  # shares leave once the burn is past the reorg window
    released = services.process_redeem(redeem.id)
    assert (released.status, released.reported_to_broker) == (RedeemRequest.Status.COMPLETED, True)
    positions = {a["name"]: a["positions"] for a in broker.state()["accounts"].values()}
    assert Decimal(positions["ap"][symbol]["qty"]) == Decimal(43)  # 50 - 12 journaled in + 5 journaled back
    sync_account("alpaca-main")  # custody books the outgoing journal once; the release cleared against it
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(7)
    assert balance(unmatched_journal_account("alpaca-main", symbol), symbol) == Decimal(0)
    assert balance(outgoing_journal_account("alpaca-main", symbol), symbol) == Decimal(0)


def custody_position_at_broker(broker: SandboxControl, symbol: str) -> Decimal:
    """What the broker says our custody account holds (its truth, not our books)."""
    positions = {a["name"]: a["positions"] for a in broker.state()["accounts"].values()}
    return Decimal(positions["custody"][symbol]["qty"])


def test_an_itn_mint_books_the_journaled_shares_once_and_custody_matches_the_broker(broker, sandbox, partner, token,
                                                                                     keys):
    symbol = token.instrument.symbol
    clearing = unmatched_journal_account("alpaca-main", symbol)
    ap_requests_mint(sandbox.base_url, symbol, "12", keys.partner_wallet.address)
    (request,), _ = services.poll_itn_mints()

    done = services.process_mint(request.id)
    assert done.status == MintRequest.Status.COMPLETED
    sync_account("alpaca-main")

    assert custody_position_at_broker(broker, symbol) == Decimal(12)
    assert shares_in_custody(symbol) == custody_position_at_broker(broker, symbol)  # not 24
    assert balance(clearing, symbol) == 0
    assert balance(f"partner:{partner}:pending-mint:{symbol}", symbol) == 0
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-12)
    journaled = [e for e in store.read_stream("custody_account", "alpaca-main")
                 if e.event_type == "shares_journaled" and e.payload["symbol"] == symbol]
    secured = next(e for e in store.read_stream("mint_request", request.id) if e.event_type == "shares_secured")
    assert len(journaled) == 1 and journaled[0].position < secured.position  # custody saw it before it was claimed


def test_an_itn_mint_waits_without_a_trace_while_the_broker_cannot_be_reached(broker, sandbox, partner, token, keys,
                                                                                settings):
    settings.CUSTODY_BROKER_MAX_ATTEMPTS = 2
    settings.CUSTODY_BROKER_BACKOFF_SECONDS = 0.01
    ap_requests_mint(sandbox.base_url, token.instrument.symbol, "3", keys.partner_wallet.address)
    (request,), _ = services.poll_itn_mints()
    broker.inject_fault("http_error", method="GET", path_prefix="/v2/account/activities", count=10, status=503)

    head = store.head_position()
    waiting = services.process_mint(request.id)
    assert (waiting.status, waiting.stream_version) == (MintRequest.Status.APPROVED, request.stream_version)
    assert store.head_position() == head

    broker.clear_faults()
    assert services.process_mint(request.id).status == MintRequest.Status.COMPLETED
    assert shares_in_custody(token.instrument.symbol) == Decimal(3)


def test_an_itn_request_in_a_bad_shape_is_refused_by_name(broker, partner, token, keys):
    payload = {"tokenization_request_id": "x-1", "underlying_symbol": token.instrument.symbol, "qty": "1",
               "issuer": "someone-else", "network": "ethereum", "wallet_address": keys.partner_wallet.address,
               "client_id": "ap"}
    with pytest.raises(Exception) as refused:
        services.itn_mint_request(payload)
    assert refused.value.code == "invalid_itn_request"
    with pytest.raises(Exception) as refused:
        services.itn_mint_request(payload | {"issuer": "shareledger", "client_id": "nobody"})
    assert refused.value.code == "unknown_partner"
