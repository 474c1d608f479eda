"""200 one-share mint requests from 4 worker processes race for 60 shares in custody: exactly 60 tokens are
issued, on chain and in the ledger, and every other request fails with insufficient_reserves (the 1,000-request
version is bench/race_mints.py)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from custody.services import shares_in_custody
from issuance import services
from issuance.models import MintRequest
from ledger.balances import balance
from tests.issuance.committed import committed_token_and_partner
from tests.issuance.support import token_contract
from tests.issuance.workers import worker_env

from .race import prepare_requests, race

pytestmark = pytest.mark.slow
TOKEN = 10**18
REQUESTS, SHARES, PROCESSES = 200, 60, 4


def test_two_hundred_racing_mints_never_issue_more_tokens_than_shares_in_custody(
        subprocess_env, keys, unique, w3, tmp_path, capsys):
    token, partner = committed_token_and_partner(unique, keys)
    symbol = token.instrument.symbol
    request_ids = prepare_requests(partner, symbol, keys.partner_wallet.address, REQUESTS, SHARES)
    assert shares_in_custody(symbol) == SHARES

    result = race(request_ids, worker_env(subprocess_env, keys), PROCESSES, tmp_path, SHARES)
    with capsys.disabled():
        print(f"\nmint race: {result.summary()}")

    # On a loaded machine a worker may stop waiting for a receipt (status broadcast); the beat sweep finishes
    # such mints, and so does this test. Nothing else may be left over.
    assert set(result.outcomes) <= {"completed", "failed", "broadcast", "signed"}
    assert result.outcomes.get("completed", 0) <= SHARES
    for unfinished in MintRequest.objects.filter(id__in=request_ids).exclude(
            status__in=(MintRequest.Status.COMPLETED, MintRequest.Status.FAILED)):
        services.process_mint(unfinished.id, wait_seconds=30)
    statuses = MintRequest.objects.filter(id__in=request_ids)
    assert statuses.filter(status=MintRequest.Status.FAILED).count() == REQUESTS - SHARES
    assert statuses.filter(status=MintRequest.Status.COMPLETED).count() == SHARES
    assert set(statuses.filter(status=MintRequest.Status.FAILED).values_list("failure_code", flat=True)) == {
        "insufficient_reserves"}
    assert token_contract(w3, token.contract_address).functions.totalSupply().call() == SHARES * TOKEN
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-SHARES)
    assert shares_in_custody(symbol) == SHARES
