"""Shares bought or sold through the broker for a request: an order the broker ends short of filled (cancelled
after a partial fill, a day order that expired) is followed by an order for the rest, so the request does not
wait forever on an order that will never fill."""
from __future__ import annotations

from decimal import Decimal

import pytest
from alpaca.trading.client import TradingClient

from custody.services import client_order_id_for
from issuance import services
from issuance.errors import SharesPending
from issuance.models import MintRequest, RedeemRequest
from ledger.balances import balance
from sandbox_broker import RunningSandbox, SandboxControl
from sandbox_broker.state import SandboxSettings

from .support import OPS, sandbox_broker_for, transfer_tokens

pytestmark = pytest.mark.django_db
TOKEN = 10**18


@pytest.fixture
def broker(sandbox, token, monkeypatch) -> SandboxControl:
    control = sandbox_broker_for(sandbox.base_url, token.instrument.symbol, monkeypatch)
    return control


def cancel_at_broker(sandbox: RunningSandbox, request_id: str) -> None:
    """Someone (or the broker, at the end of the day) cancels the resting order of this request."""
    defaults = SandboxSettings(state_path=".")
    client = TradingClient(defaults.custody_key_id, defaults.custody_secret_key, paper=True,
                           url_override=sandbox.base_url)
    client.cancel_order_by_id(client.get_order_by_client_id(client_order_id_for(request_id)).id)


def test_a_cash_redemption_whose_sale_was_cancelled_after_a_partial_fill_sells_the_rest(
        broker, sandbox, partner, token, keys, w3):
    symbol = token.instrument.symbol
    mint = services.request_mint(partner, symbol, "10", "anvil", keys.partner_wallet.address, "partner:x")
    services.secure_shares(mint.id, OPS, via="journal", reference="JNLS from the partner")
    broker.add_share_journal(symbol, "10")
    assert services.process_mint(mint.id).status == MintRequest.Status.COMPLETED
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address,
                              10 * TOKEN)
    redeem = services.request_redeem(partner, symbol, "anvil", deposit, "partner:x", qty="10", release_method="sell")
    assert services.process_redeem(redeem.id).status == RedeemRequest.Status.BURNED
    w3.provider.make_request("anvil_mine", [hex(70)])  # the burn is beyond the reorg window
    broker.set_fill_plan(symbol, ["0.4"])  # 4 sell, then the order rests
    with pytest.raises(SharesPending):
        services.process_redeem(redeem.id)
    cancel_at_broker(sandbox, redeem.id)
    broker.set_fill_plan(symbol, ["1"])

    done = services.process_redeem(redeem.id)

    assert done.status == RedeemRequest.Status.COMPLETED
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == 0
    assert balance(f"partner:{partner}:pending-redeem:{symbol}", symbol) == 0
    assert balance("custody:alpaca-main:cash:USD", "USD") == Decimal(1000)


def test_a_mint_whose_purchase_was_cancelled_after_a_partial_fill_buys_the_rest(broker, sandbox, partner, token, keys):
    symbol = token.instrument.symbol
    mint = services.request_mint(partner, symbol, "10", "anvil", keys.partner_wallet.address, "partner:x")
    broker.set_fill_plan(symbol, ["0.4"])
    with pytest.raises(SharesPending):
        services.secure_shares(mint.id, OPS, via="broker")
    cancel_at_broker(sandbox, mint.id)
    broker.set_fill_plan(symbol, ["1"])

    secured = services.secure_shares(mint.id, OPS, via="broker")

    assert secured.status == MintRequest.Status.SECURED
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(10)
    assert services.process_mint(mint.id).status == MintRequest.Status.COMPLETED
