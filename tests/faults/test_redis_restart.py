"""Redis (the Celery broker) dies while mint tasks wait in the queue. With an append-only file the queued tasks
survive the restart and run; without persistence they are gone, and the beat sweep
(`issuance.tasks.process_pending`) still completes every secured mint, because the state lives in PostgreSQL.
Either way no request is lost and none is minted twice."""
from __future__ import annotations

import pytest

from chain.tx import id_to_bytes32
from issuance import services
from issuance.models import MintRequest
from ledger import store
from tests.issuance.committed import committed_token_and_partner
from tests.issuance.support import OPS, token_contract

from .conftest import celery_env, send_task, wait_until

pytestmark = pytest.mark.slow
TOKEN = 10**18
QUANTITIES = ("2", "3", "5")


@pytest.mark.parametrize("append_only, queued_after_restart", [(True, 3), (False, 0)])
def test_queued_mints_survive_a_redis_restart_or_are_swept_from_the_database(
        append_only, queued_after_restart, subprocess_env, keys, unique, w3, book_share_journal, start_redis,
        start_worker):
    token, partner = committed_token_and_partner(unique, keys)
    symbol = token.instrument.symbol
    broker = start_redis(append_only=append_only)
    request_ids = []
    for qty in QUANTITIES:
        request = services.request_mint(partner, symbol, qty, "anvil", keys.partner_wallet.address, "partner:x")
        book_share_journal(symbol, qty)
        services.secure_shares(request.id, OPS)
        send_task(broker.url, "issuance.tasks.process_mint", request.id)
        request_ids.append(request.id)
    assert broker.client().llen("celery") == 3

    broker.stop()  # killed before any worker consumed the queue
    broker.start()
    assert broker.client().llen("celery") == queued_after_restart
    start_worker(celery_env(subprocess_env, keys, broker.url))
    if not append_only:
        send_task(broker.url, "issuance.tasks.process_pending")  # what beat sends every few seconds

    wait_until(lambda: all(services.get_mint(r).status == MintRequest.Status.COMPLETED for r in request_ids), 300,
               "every queued mint to complete")  # the worker's start included: a minute on a loaded machine
    contract = token_contract(w3, token.contract_address)
    assert contract.functions.totalSupply().call() == 10 * TOKEN
    for request_id, qty in zip(request_ids, QUANTITIES):
        assert contract.functions.mintedFor(id_to_bytes32(request_id)).call() == int(qty) * TOKEN
        events = [e.event_type for e in store.read_stream("mint_request", request_id)]
        assert events.count("mint_signed") == 1 and events.count("mint_confirmed") == 1
