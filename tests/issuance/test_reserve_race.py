"""Concurrency: mints racing for the last shares in custody, each in its own worker process."""
from __future__ import annotations

from decimal import Decimal

import pytest

from issuance import services
from issuance.models import MintRequest
from custody.services import shares_in_custody
from ledger.balances import balance
from tests.conftest import wait_until_an_append_waits

from .committed import committed_token_and_partner
from .support import OPS, book_custody_shares, token_contract
from .workers import start_process_mints_together, worker_env

pytestmark = pytest.mark.slow
TOKEN = 10**18


def test_partners_racing_for_the_last_shares_never_over_issue(subprocess_env, keys, unique, w3, book_share_journal):
    token, partner = committed_token_and_partner(unique, keys)
    symbol = token.instrument.symbol
    requests = []
    for _ in range(6):
        request = services.request_mint(partner, symbol, "3", "anvil", keys.partner_wallet.address, "partner:x")
        book_share_journal(symbol, "3")
        services.secure_shares(request.id, OPS)
        requests.append(request.id)
    # The custodian reports 8 fewer shares than the journals claimed: 10 back the 18 tokens asked for.
    book_custody_shares(symbol, "-8", reason="custodian statement")

    # Each worker follows its receipt to the end: six contending for the reserve lock on a loaded machine can
    # use up the default 5 s before their mint is mined, and come back "broadcast" instead of "completed".
    env = {**worker_env(subprocess_env, keys), "ISSUANCE_RECEIPT_WAIT_SECONDS": "120"}
    workers = start_process_mints_together(requests, env)
    outcomes = []
    for worker in workers:
        out, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
        outcomes.append(out.strip())

    assert sorted(outcomes) == ["completed"] * 3 + ["failed"] * 3
    failed = MintRequest.objects.filter(id__in=requests, status=MintRequest.Status.FAILED)
    assert {m.failure_code for m in failed} == {"insufficient_reserves"}
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == 9 * TOKEN
    assert -balance(f"chain:anvil:{symbol}:supply", symbol) == 9
    assert shares_in_custody(symbol) == 10


def test_a_mint_confirmed_during_a_reserve_check_is_counted_once(committed_db, settings, keys, unique, w3,
                                                                  book_share_journal, monkeypatch):
    """The check reads tokens outstanding, then mints in flight; a confirmation moves a mint from the second
    to the first. Here it is confirmed exactly between the two reads: it must be counted once, never in neither
    (which would let one mint too many be signed)."""
    import threading

    from django.db import connection

    from issuance import reserves

    from .support import network_settings

    token, partner = committed_token_and_partner(unique, keys)
    symbol = token.instrument.symbol
    settings.CHAIN_NETWORKS = network_settings(keys.rpc_url, confirmations=2)
    request = services.request_mint(partner, symbol, "1", "anvil", keys.partner_wallet.address, "partner:x")
    book_share_journal(symbol, "1")
    services.secure_shares(request.id, OPS)
    assert services.process_mint(request.id, wait_seconds=0).status == MintRequest.Status.BROADCAST
    w3.provider.make_request("evm_mine", [])  # the second confirmation: the next process_mint confirms

    def confirm() -> None:
        try:
            services.process_mint(request.id, wait_seconds=30)
        finally:
            connection.close()

    confirming = threading.Thread(target=confirm)
    read_in_flight = reserves.in_flight_mint_shares

    def confirmed_between_the_reads(instrument):
        confirming.start()
        wait_until_an_append_waits(confirming)  # it committed, or it waits for the appends held back
        return read_in_flight(instrument)

    monkeypatch.setattr(reserves, "in_flight_mint_shares", confirmed_between_the_reads)
    check = reserves.reserve_check(token.instrument, Decimal(0))
    assert check.outstanding_shares + check.in_flight_shares == 1
    confirming.join(timeout=120)
    assert services.get_mint(request.id).status == MintRequest.Status.COMPLETED
