"""Thousands of holders paid to the cent; a payout worker SIGKILLed mid-run resumes and pays each holder once."""
from __future__ import annotations

import random
import signal
import subprocess
import sys
from collections import Counter
from decimal import ROUND_DOWN, Decimal

import pytest

from chain.reads import balances_of
from chain.tx import id_to_bytes32
from corporate_actions import services
from corporate_actions.models import PayoutLine, PayoutTx
from ledger import store
from ledger.balances import balance
from tests.conftest import ROOT
from tests.faults.conftest import private_redis, send_task, start_redis, start_worker, wait_until  # noqa: F401

from .conftest import make_issued
from .support import APPROVER, OPS, random_addresses

USDX = 10**6
WORKER = r"""
import sys, django
django.setup()
from corporate_actions import services
print(services.run_payout(sys.argv[1]).status)
"""


def random_quantities(count: int, seed: int) -> list[Decimal]:
    generator = random.Random(seed)
    return [Decimal(generator.randint(1, 5_000_000_000)).scaleb(-6) for _ in range(count)]  # 0.000001 .. 5000


def prepare_paid_run(issued, chain_env, holders: dict[str, Decimal], rate: str) -> str:
    """Tokens issued, dividend announced, record date closed, cash received, snapshot, run created and approved."""
    issued.issue(holders)
    action = issued.announce_and_close_record_date(rate)
    due = sum((qty * Decimal(rate) for qty in holders.values()), Decimal(0))
    issued.receive_cash(action, due.quantize(Decimal("0.01"), rounding=ROUND_DOWN))
    services.snapshot_holders(action.id, actor=OPS)
    run = services.create_dividend_run(action.id, actor=OPS)
    services.approve_run(run.id, APPROVER)
    chain_env.fund_payer(int(due * USDX) + USDX)
    return run.id


def assert_paid_exactly_once(chain_env, run_id: str) -> None:
    lines = list(PayoutLine.objects.filter(run_id=run_id, outcome="pay"))
    on_chain = balances_of(chain_env.w3, chain_env.stablecoin.aggregator, chain_env.stablecoin.address,
                           [line.address for line in lines], chain_env.w3.eth.block_number)
    assert {line.address: int(line.units) for line in lines} == on_chain
    payments = Counter(event.payload["line_no"] for event in store.read_stream("payout_run", run_id)
                       if event.event_type == "holder_paid")
    assert payments == Counter({line.line_no: 1 for line in lines})
    run = services.get_run(run_id)
    assert run.status == "completed"
    assert balance(f"dividends:payable:{run.symbol}:{run.action_id}", "USD") == 0
    assert services.dividend_summary(run.action_id)["identity_holds"]


@pytest.mark.slow
def test_a_dividend_to_two_thousand_holders_is_paid_to_the_cent(issued, chain_env, settings):
    settings.DIVIDEND_BATCH_SIZE = 300
    holders = dict(zip(random_addresses(2000), random_quantities(2000, seed=6)))
    for address in list(holders)[:100]:
        services.set_tax_category(address, "treaty_15", actor=OPS)
    run_id = prepare_paid_run(issued, chain_env, holders, "0.2437")

    assert services.run_payout(run_id).status == "completed"

    assert_paid_exactly_once(chain_env, run_id)
    summary = services.dividend_summary(run_id.removesuffix("-payout"))
    assert summary["holders"] == 2000 and summary["received_matches_cash_booked"]
    assert summary["paid_on_chain"] == summary["paid"]
    assert PayoutTx.objects.filter(run_id=run_id, kind="disperse").count() == 7  # ceil(2000 / 300)


@pytest.mark.parametrize("crash_at", ["after_sign:2", "after_broadcast:3", "after_confirm:1"])
def test_a_payout_worker_killed_mid_run_resumes_and_pays_each_holder_once(subprocess_env, chain_env, unique,
                                                                            settings, crash_at):
    settings.DIVIDEND_BATCH_SIZE = 5
    issued = make_issued(chain_env, unique)
    run_id = prepare_paid_run(issued, chain_env, dict(zip(random_addresses(18), random_quantities(18, seed=1))),
                              "0.51")
    env = {**subprocess_env, **chain_env.env(), "CORPORATE_ACTIONS_CRASH_AT": crash_at}

    killed = subprocess.run([sys.executable, "-c", WORKER, run_id], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)

    assert killed.returncode == -9, killed.stderr[-2000:]
    assert services.get_run(run_id).status != "completed"
    assert services.run_payout(run_id).status == "completed"
    assert_paid_exactly_once(chain_env, run_id)
    disperser = chain_env.w3.eth.contract(address=chain_env.disperser, abi=[{
        "type": "function", "name": "batchDone", "stateMutability": "view",
        "inputs": [{"name": "batchId", "type": "bytes32"}], "outputs": [{"name": "", "type": "bool"}]}])
    assert all(disperser.functions.batchDone(id_to_bytes32(f"dividend-payout:{run_id}:anvil:{batch}")).call()
               for batch in (1, 2, 3, 4))


@pytest.mark.slow
def test_a_celery_worker_killed_mid_payout_leaves_it_to_the_beat_sweep_which_pays_each_holder_once(
        subprocess_env, chain_env, unique, settings, private_redis, start_worker):
    """The real `celery -A config worker` on a private Redis, SIGKILLed after broadcasting the third batch:
    the unacknowledged message waits in Redis (acks_late), and the beat's advance_payouts, sent to a fresh
    worker, finishes the run from what the ledger recorded."""
    settings.DIVIDEND_BATCH_SIZE = 5
    issued = make_issued(chain_env, unique)
    run_id = prepare_paid_run(issued, chain_env, dict(zip(random_addresses(18), random_quantities(18, seed=3))),
                              "0.37")
    env = {**subprocess_env, **chain_env.env(), "CELERY_BROKER_URL": private_redis.url,
           "CELERY_RESULT_BACKEND": private_redis.url}

    send_task(private_redis.url, "corporate_actions.tasks.run_payout", run_id)
    killed = start_worker({**env, "CORPORATE_ACTIONS_CRASH_AT": "after_broadcast:3"})
    assert killed.wait_for_death() == -signal.SIGKILL, killed.output()[-3000:]
    assert private_redis.client().hlen("unacked") == 1  # acks_late: the killed task was never acknowledged
    assert services.get_run(run_id).status != "completed"

    start_worker(env)
    send_task(private_redis.url, "corporate_actions.tasks.advance_payouts")  # what beat sends
    wait_until(lambda: services.get_run(run_id).status == "completed", 120, "the sweep to finish the payout")
    assert_paid_exactly_once(chain_env, run_id)
