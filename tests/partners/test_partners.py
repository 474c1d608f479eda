"""Partners: onboarding, KYC, caps and wallets are events with their actor; addresses are checked strictly."""
from __future__ import annotations

from decimal import Decimal

import pytest

from ledger import store
from partners.errors import InvalidAddress, PartnerExists, WalletTaken
from partners.models import Partner, Wallet
from partners.services import (
    allowlist_wallet,
    allowlisted_wallet_owner,
    create_partner,
    register_wallet,
    revoke_wallet,
    set_caps,
    set_kyc_status,
)

pytestmark = pytest.mark.django_db
WALLET = "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed"  # EIP-55 test vector


def test_onboarding_records_each_step_with_the_person_who_did_it(unique):
    partner_id = f"mm-{unique}"
    create_partner(partner_id, "Market Maker", actor="user:alice", allowed_symbols=["aapl", "TSLA"],
                   per_request_cap="500", daily_cap="2000")
    set_kyc_status(partner_id, "approved", actor="user:compliance")
    register_wallet(partner_id, "anvil", WALLET.lower(), actor="partner:" + partner_id)
    allowlist_wallet(partner_id, "anvil", WALLET, actor="user:bob")

    partner = Partner.objects.get(id=partner_id)
    assert (partner.kyc_status, partner.allowed_symbols) == ("approved", ["AAPL", "TSLA"])
    assert (partner.per_request_cap, partner.daily_cap) == (Decimal(500), Decimal(2000))
    wallet = Wallet.objects.get(partner=partner)
    assert (wallet.address, wallet.status, wallet.allowlisted_by) == (WALLET, "allowlisted", "user:bob")
    assert allowlisted_wallet_owner("anvil", WALLET) == partner
    events = store.read_stream("partner", partner_id)
    assert [(e.event_type, e.metadata["actor"]) for e in events] == [
        ("partner_created", "user:alice"), ("partner_kyc_changed", "user:compliance"),
        ("wallet_registered", f"partner:{partner_id}"), ("wallet_allowlisted", "user:bob")]

    revoke_wallet(partner_id, "anvil", WALLET, actor="user:bob", reason="key compromised")
    assert allowlisted_wallet_owner("anvil", WALLET) is None
    set_caps(partner_id, per_request_cap=None, daily_cap="10", actor="user:alice")
    assert Partner.objects.get(id=partner_id).per_request_cap is None
    with pytest.raises(PartnerExists):
        create_partner(partner_id, "again", actor="user:alice")


@pytest.mark.parametrize("address", [
    WALLET.replace("aAeb", "aaeb"),  # mixed case that fails the checksum
    "0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAe",  # 39 hex digits
    "5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed",  # no 0x
    "0x" + "0" * 40,  # the zero address
    WALLET.lower() + "\n",  # a trailing newline ("$" in a regex would let it through)
])
def test_a_malformed_wallet_address_is_refused_and_nothing_recorded(unique, address):
    partner_id = f"mm-{unique}"
    create_partner(partner_id, "Market Maker", actor="user:alice")
    head = store.head_position()
    with pytest.raises(InvalidAddress) as refused:
        register_wallet(partner_id, "anvil", address, actor="user:alice")
    assert refused.value.code == "invalid_address"
    assert store.head_position() == head


def test_a_wallet_belongs_to_one_partner_per_network(unique):
    for suffix in ("a", "b"):
        create_partner(f"mm-{unique}-{suffix}", "MM", actor="user:alice")
    register_wallet(f"mm-{unique}-a", "anvil", WALLET, actor="user:alice")
    with pytest.raises(WalletTaken):
        register_wallet(f"mm-{unique}-b", "anvil", WALLET, actor="user:alice")
