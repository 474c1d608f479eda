"""A worker killed (SIGKILL) between signing and broadcasting, or between broadcasting and recording it,
leaves exactly one mint behind once any worker runs again (ISSUANCE_CRASH_AT, see issuance/crashpoints.py)."""
from __future__ import annotations

import signal

import pytest

from chain.tx import id_to_bytes32
from issuance import services
from issuance.models import MintRequest, SignerNonce
from ledger import store

from .committed import committed_token_and_partner
from .support import OPS, token_contract
from .workers import start_process_mint, worker_env

pytestmark = pytest.mark.slow
TOKEN = 10**18


@pytest.mark.parametrize("crash_at, chain_supply_after_crash", [("after_sign", 0), ("after_broadcast", 7 * TOKEN)])
def test_a_worker_killed_mid_mint_leaves_exactly_one_mint(crash_at, chain_supply_after_crash, subprocess_env, keys,
                                                          unique, w3, book_share_journal):
    token, partner = committed_token_and_partner(unique, keys)
    request = services.request_mint(partner, token.instrument.symbol, "7", "anvil", keys.partner_wallet.address,
                                    "partner:x")
    book_share_journal(token.instrument.symbol, "7")
    services.secure_shares(request.id, OPS)

    killed = start_process_mint(request.id, worker_env(subprocess_env, keys, crash_at=crash_at))
    killed.communicate(timeout=300)
    assert killed.returncode == -signal.SIGKILL
    crashed = services.get_mint(request.id)
    assert crashed.status == MintRequest.Status.SIGNED  # the signed bytes were committed before the crash
    contract = token_contract(w3, token.contract_address)
    assert contract.functions.totalSupply().call() == chain_supply_after_crash

    survivor = start_process_mint(request.id, worker_env(subprocess_env, keys))
    out, err = survivor.communicate(timeout=300)
    assert out.strip() == "completed", err
    assert services.get_mint(request.id).tx_hash == crashed.tx_hash  # rebroadcast, never re-signed
    assert contract.functions.totalSupply().call() == 7 * TOKEN
    assert contract.functions.mintedFor(id_to_bytes32(request.id)).call() == 7 * TOKEN
    events = [e.event_type for e in store.read_stream("mint_request", request.id)]
    assert events.count("mint_signed") == 1 and events.count("mint_confirmed") == 1
    allocations = store.read_stream("signer", f"anvil:{keys.minter.address}")
    assert [e.payload["nonce"] for e in allocations] == [0]
    assert SignerNonce.objects.get(id=f"anvil:{keys.minter.address}").next_nonce == 1
