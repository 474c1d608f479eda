"""Record-date snapshots: the block that closes the record date, a holder list anyone can re-hash, the chain's
own state as a cross-check while it lasts, and Transfer logs when it is pruned."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest

from chain.testing import node_call
from corporate_actions import services, splits
from corporate_actions.errors import RecordDateNotClosed
from corporate_actions.snapshots import holders_sha256, record_date_cutoff
from ledger import canonical, store

from .support import OPS, chain_date, funded_account, transfer


def test_the_snapshot_block_is_the_last_one_before_the_record_date_ends_and_its_hash_can_be_recomputed(
        issued, chain_env):
    a, b = (funded_account(chain_env.w3) for _ in range(2))
    issued.issue({a.address: "5", b.address: "1"})
    record_date = chain_date(chain_env.w3)
    action = services.announce_dividend(issued.symbol, ex_date=record_date, record_date=record_date,
                                        pay_date=record_date, rate="1", actor=OPS)
    with pytest.raises(RecordDateNotClosed):
        services.snapshot_holders(action.id, actor=OPS)
    cutoff = record_date_cutoff(record_date)
    node_call(chain_env.w3, "evm_setNextBlockTimestamp", int(cutoff.timestamp()))  # exactly at midnight: the next day
    transfer(chain_env.w3, a, issued.token.contract_address, b.address, issued.units(5))

    snapshot = services.snapshot_holders(action.id, actor=OPS)

    (network,) = snapshot.networks
    w3 = chain_env.w3
    assert w3.eth.get_block(network["block_number"])["timestamp"] < cutoff.timestamp()
    assert w3.eth.get_block(network["block_number"] + 1)["timestamp"] >= cutoff.timestamp()
    (event,) = store.read_stream("dividend_snapshot", action.id)
    rows = [[n["network"], address, units] for n in event.payload["networks"] for address, units in n["holders"]]
    assert rows == sorted([["anvil", a.address, str(issued.units(5))], ["anvil", b.address, str(issued.units(1))]])
    assert event.payload["holders_sha256"] == snapshot.holders_sha256 == holders_sha256(rows)
    assert snapshot.holders_sha256 == canonical.sha256_hex(canonical.dumps(rows))
    assert network["cross_check"] == "totalSupply and every balanceOf match"
    head = store.head_position()
    services.snapshot_holders(action.id, actor=OPS)  # the same holders again: nothing new to record
    assert store.head_position() == head


def test_balances_older_than_the_nodes_pruned_state_come_from_the_transfer_logs(issued, chain_env):
    a, b = (funded_account(chain_env.w3) for _ in range(2))
    issued.issue({a.address: "3"})
    transfer(chain_env.w3, a, issued.token.contract_address, b.address, issued.units(1))
    action = issued.announce_and_close_record_date("1")
    node_call(chain_env.w3, "anvil_mine", hex(300))  # anvil keeps the state of the last 256 blocks only

    snapshot = services.snapshot_holders(action.id, actor=OPS)

    (network,) = snapshot.networks
    assert network["cross_check"] == "state at the block no longer available: logs only"
    balances = dict(snapshot.action.snapshot_holders.values_list("address", "balance_units"))
    assert balances == {a.address: issued.units(2), b.address: issued.units(1)}


def test_correcting_the_record_date_voids_the_snapshot(issued, chain_env):
    issued.issue({funded_account(chain_env.w3).address: "1"})
    action = issued.announce_and_close_record_date("1")
    services.snapshot_holders(action.id, actor=OPS)
    assert services.get_action(action.id).status == "snapshotted"

    services.correct_action(action.id, {"record_date": action.record_date - timedelta(days=1)},
                            reason="wrong record date", actor=OPS)

    corrected = services.get_action(action.id)
    assert corrected.status == "announced" and not corrected.snapshot_holders.exists()


def test_a_dividend_snapshotted_after_a_later_reverse_split_counts_shares_at_the_record_dates_ratio(
        issued, chain_env, monkeypatch):
    holder = funded_account(chain_env.w3).address
    issued.issue({holder: "100"})
    services.set_tax_category(holder, "us_person", actor=OPS)
    dividend = issued.announce_and_close_record_date("0.50")
    issued.receive_cash(dividend, "50.00")  # 100 shares held at the record date
    effective = dividend.record_date + timedelta(days=1)
    monkeypatch.setattr(splits, "timezone", SimpleNamespace(localdate=lambda: effective))
    reverse_split = services.announce_split(issued.symbol, effective_date=effective, old_rate=10, new_rate=1,
                                            actor=OPS)
    services.apply_action(reverse_split.id, actor=OPS)  # 10 tokens per share from now on

    (network,) = services.snapshot_holders(dividend.id, actor=OPS).networks

    assert Decimal(network["tokens_per_share"]) == 1
    run = services.create_dividend_run(dividend.id, actor=OPS)
    assert (Decimal(run.totals["gross"]), Decimal(run.totals["residue"])) == (Decimal("50.00"), 0)
