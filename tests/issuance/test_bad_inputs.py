"""Refused mint requests: a clear error code, and nothing recorded in the ledger."""
from __future__ import annotations

from decimal import Decimal

import pytest

from issuance import services
from ledger import store
from partners.services import register_wallet, set_caps, set_kyc_status

from .support import OPS

pytestmark = pytest.mark.django_db
BAD_CHECKSUM = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed".replace("aAeb", "aaEb")


@pytest.mark.parametrize("change, expected_code", [
    ({"wallet": BAD_CHECKSUM}, "invalid_address"),
    ({"wallet": "0x1234"}, "invalid_address"),
    ({"qty": "0"}, "invalid_quantity"),
    ({"qty": "-5"}, "invalid_quantity"),
    ({"qty": "1.0000000000000000001"}, "invalid_quantity"),
    ({"qty": 1.5}, "invalid_quantity"),
    ({"qty": "lots"}, "invalid_quantity"),
    ({"symbol": "NOPE"}, "unknown_instrument"),
    ({"network": "solana-devnet"}, "unknown_network"),
    ({"qty": "1001"}, "cap_exceeded"),
])
def test_a_bad_request_is_refused_with_a_named_error_and_leaves_no_trace(change, expected_code, partner, token, keys):
    set_caps(partner, per_request_cap="1000", daily_cap=None, actor=OPS)
    request = {"symbol": token.instrument.symbol, "qty": "10", "network": "anvil",
               "wallet": keys.partner_wallet.address} | change
    head = store.head_position()
    with pytest.raises(Exception) as refused:
        services.request_mint(partner, request["symbol"], request["qty"], request["network"], request["wallet"],
                              "partner:x")
    assert getattr(refused.value, "code", None) == expected_code, refused.value
    assert store.head_position() == head


def test_paused_instruments_foreign_wallets_daily_caps_and_missing_kyc_are_refused(partner, token, keys, w3):
    symbol, wallet = token.instrument.symbol, keys.partner_wallet.address

    def refusal(**overrides) -> str:
        args = {"qty": "10", "wallet": wallet} | overrides
        head = store.head_position()
        with pytest.raises(Exception) as refused:
            services.request_mint(partner, symbol, args["qty"], "anvil", args["wallet"], "partner:x")
        assert store.head_position() == head
        return refused.value.code

    stranger = "0x" + "ab" * 20
    assert refusal(wallet=stranger) == "wallet_not_allowlisted"
    register_wallet(partner, "anvil", stranger, actor=OPS)  # registered is not allowlisted
    assert refusal(wallet=stranger) == "wallet_not_allowlisted"

    set_caps(partner, per_request_cap=None, daily_cap="15", actor=OPS)
    services.request_mint(partner, symbol, "10", "anvil", wallet, "partner:x")
    assert refusal(qty="6") == "cap_exceeded"
    assert services.request_mint(partner, symbol, Decimal("5"), "anvil", wallet, "partner:x").qty == 5

    token.instrument.status = "paused"
    token.instrument.save()
    assert refusal() == "instrument_paused"
    token.instrument.status = "active"
    token.instrument.save()

    set_kyc_status(partner, "expired", actor=OPS)
    assert refusal(qty="1") == "kyc_not_approved"
