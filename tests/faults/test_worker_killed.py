"""A real Celery worker (`celery -A config worker`) SIGKILLed in the middle of a mint or a burn, on a private
Redis. The killed task's message stays unacknowledged in Redis (acks_late; with the Redis transport it is only
redelivered after the visibility timeout, one hour by default), so what finishes the work is the beat sweep
`issuance.tasks.process_pending`, sent here to a restarted worker: state lives in PostgreSQL, not in the queue."""
from __future__ import annotations

import signal
from decimal import Decimal

import pytest

from chain.tx import id_to_bytes32
from issuance import services
from issuance.models import MintRequest, RedeemRequest
from ledger import store
from ledger.balances import balance
from ledger.verify import verify
from tests.issuance.committed import committed_token_and_partner
from tests.issuance.support import OPS, token_contract, transfer_tokens

from .conftest import celery_env, send_task, wait_until

pytestmark = pytest.mark.slow
TOKEN = 10**18
SWEEP_SECONDS = 300  # only bounds a hang: the fresh worker first imports Django, a minute on a loaded machine


def assert_ledger_consistent(symbol: str, first_position: int) -> None:
    """The hash chain holds from this test's first event, and custody + pending + supply net to zero (every token
    is backed by a share in custody or a share still owed)."""
    checked = verify(from_position=first_position)
    assert checked.ok, checked.summary()
    custody = balance(f"custody:alpaca-main:{symbol}", symbol) + balance(
        f"suspense:unmatched-journal:alpaca-main:{symbol}", symbol)
    supply = balance(f"chain:anvil:{symbol}:supply", symbol)
    assert custody > 0 and custody + supply == 0, (custody, supply)


def kill_worker_mid_task(task: str, subject_id: str, env: dict[str, str], private_redis, start_worker) -> None:
    """Enqueue the task for a worker that SIGKILLs itself at the crash point in `env`; the message stays unacked."""
    send_task(private_redis.url, task, subject_id)
    killed = start_worker(env)
    assert killed.wait_for_death() == -signal.SIGKILL, killed.output()
    assert private_redis.client().hlen("unacked") == 1  # acks_late: the killed task was never acknowledged


def sweep_with_a_fresh_worker(env: dict[str, str], private_redis, start_worker) -> None:
    start_worker(env)
    send_task(private_redis.url, "issuance.tasks.process_pending")  # what beat sends every few seconds


@pytest.mark.parametrize("crash_at, supply_after_crash", [("after_sign", 0), ("after_broadcast", 7 * TOKEN)])
def test_a_celery_worker_killed_mid_mint_leaves_exactly_one_mint_after_the_sweep(
        crash_at, supply_after_crash, subprocess_env, keys, unique, w3, book_share_journal, private_redis,
        start_worker):
    token, partner = committed_token_and_partner(unique, keys)
    symbol = token.instrument.symbol
    request = services.request_mint(partner, symbol, "7", "anvil", keys.partner_wallet.address, "partner:x")
    first_position = store.read_stream("mint_request", request.id)[0].position
    book_share_journal(symbol, "7")
    services.secure_shares(request.id, OPS)
    contract = token_contract(w3, token.contract_address)

    kill_worker_mid_task("issuance.tasks.process_mint", request.id,
                         celery_env(subprocess_env, keys, private_redis.url, crash_at), private_redis, start_worker)
    assert services.get_mint(request.id).status == MintRequest.Status.SIGNED
    assert contract.functions.totalSupply().call() == supply_after_crash

    sweep_with_a_fresh_worker(celery_env(subprocess_env, keys, private_redis.url), private_redis, start_worker)
    wait_until(lambda: services.get_mint(request.id).status == MintRequest.Status.COMPLETED, SWEEP_SECONDS,
               "the sweep to complete the mint")
    # The stale message, whenever Redis redelivers it, finds nothing left to do.
    send_task(private_redis.url, "issuance.tasks.process_mint", request.id)
    wait_until(lambda: private_redis.client().llen("celery") == 0, 120, "the redelivered task to be consumed")

    assert contract.functions.totalSupply().call() == 7 * TOKEN
    assert contract.functions.mintedFor(id_to_bytes32(request.id)).call() == 7 * TOKEN
    events = [e.event_type for e in store.read_stream("mint_request", request.id)]
    assert events.count("mint_signed") == 1 and events.count("mint_confirmed") == 1
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-7)
    assert_ledger_consistent(symbol, first_position)


@pytest.mark.parametrize("crash_at, supply_after_crash", [("after_sign", 10 * TOKEN), ("after_broadcast", 6 * TOKEN)])
def test_a_celery_worker_killed_mid_burn_burns_exactly_once_after_the_sweep(
        crash_at, supply_after_crash, subprocess_env, keys, unique, w3, book_share_journal, private_redis,
        start_worker):
    token, partner = committed_token_and_partner(unique, keys)
    symbol = token.instrument.symbol
    request = services.request_mint(partner, symbol, "10", "anvil", keys.partner_wallet.address, "partner:x")
    first_position = store.read_stream("mint_request", request.id)[0].position
    book_share_journal(symbol, "10")
    services.secure_shares(request.id, OPS)
    assert services.process_mint(request.id).status == MintRequest.Status.COMPLETED
    transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 4 * TOKEN)
    services.watch_chains()
    redeem = RedeemRequest.objects.get(deployment=token)

    contract = token_contract(w3, token.contract_address)
    kill_worker_mid_task("issuance.tasks.process_redeem", redeem.id,
                         celery_env(subprocess_env, keys, private_redis.url, crash_at), private_redis, start_worker)
    assert services.get_redeem(redeem.id).status == RedeemRequest.Status.SIGNED
    assert contract.functions.totalSupply().call() == supply_after_crash
    sweep_with_a_fresh_worker(celery_env(subprocess_env, keys, private_redis.url), private_redis, start_worker)
    wait_until(lambda: services.get_redeem(redeem.id).status == RedeemRequest.Status.BURNED, SWEEP_SECONDS,
               "the sweep to finish the burn")

    assert contract.functions.totalSupply().call() == 6 * TOKEN
    assert contract.functions.burnedFor(id_to_bytes32(redeem.id)).call() == 4 * TOKEN
    events = [e.event_type for e in store.read_stream("redeem_request", redeem.id)]
    assert events.count("burn_signed") == 1 and events.count("burn_confirmed") == 1, events
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-6)
    assert balance(f"partner:{partner}:pending-redeem:{symbol}", symbol) == Decimal(-4)  # shares owed back
    checked = verify(from_position=first_position)
    assert checked.ok, checked.summary()
