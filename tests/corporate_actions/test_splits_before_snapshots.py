"""A split that took effect on or before a dividend's record date: the snapshot waits until it is applied, then
counts holders at the ratio in force at the record date and with the new tokens the split still owes them.
Splits apply in the order they take effect. The console and the command line say which split is in the way."""
from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command

from corporate_actions import services, splits
from corporate_actions.errors import SnapshotMissing, SplitNotApplied
from corporate_actions.models import HolderSnapshot
from corporate_actions.runs import split_run_id
from corporate_actions.snapshots import effective_cutoff
from custody.models import Instrument
from ledger import store

from .support import APPROVER, OPS, balance_of, chain_date, funded_account, mine_after


@pytest.fixture
def today_is(monkeypatch):
    """Set the day reverse splits check they have taken effect by (the chain's clock runs ahead of the wall's)."""
    def set_today(day: date) -> None:
        monkeypatch.setattr(splits, "timezone", SimpleNamespace(localdate=lambda: day))

    return set_today


def _us_holders(chain_env, count: int) -> list[str]:
    holders = [funded_account(chain_env.w3).address for _ in range(count)]
    for holder in holders:
        services.set_tax_category(holder, "us_person", actor=OPS)
    return holders


def _gross_and_residue(dividend_id: str) -> tuple[Decimal, Decimal]:
    run = services.create_dividend_run(dividend_id, actor=OPS)
    return Decimal(run.totals["gross"]), Decimal(run.totals["residue"])


def test_a_reverse_split_effective_on_the_record_date_is_applied_before_the_snapshot_counts_holders(
        issued, chain_env, today_is):
    (holder,) = _us_holders(chain_env, 1)
    issued.issue({holder: "100"})
    dividend = issued.announce_and_close_record_date("0.50")
    reverse = services.announce_split(issued.symbol, effective_date=dividend.record_date, old_rate=10, new_rate=1,
                                      actor=OPS)
    issued.receive_cash(dividend, "5.00")  # 10 shares after the 1-for-10 x 0.50
    head = store.head_position()

    with pytest.raises(SplitNotApplied) as refused:
        services.snapshot_holders(dividend.id, actor=OPS)

    assert refused.value.code == "split_not_applied" and refused.value.http_status == 409
    assert f"reverse split {reverse.id}" in refused.value.message
    assert f"took effect on {dividend.record_date}" in refused.value.message
    assert store.head_position() == head and not HolderSnapshot.objects.filter(action_id=dividend.id).exists()
    assert services.get_action(dividend.id).status == "announced"

    today_is(dividend.record_date)
    services.apply_action(reverse.id, actor=OPS)
    (network,) = services.snapshot_holders(dividend.id, actor=OPS).networks

    assert Decimal(network["tokens_per_share"]) == 10  # the holder's 100 tokens are 10 shares at the record date
    assert _gross_and_residue(dividend.id) == (Decimal("5.00"), 0)


def test_a_split_effective_on_the_record_date_counts_the_new_tokens_it_owes_even_when_minted_after_it(
        issued, chain_env):
    a, b = _us_holders(chain_env, 2)
    issued.issue({a: "10", b: "2.5"})
    effective = chain_date(chain_env.w3) + timedelta(days=1)
    split = services.announce_split(issued.symbol, effective_date=effective, old_rate=1, new_rate=3, actor=OPS)
    mine_after(chain_env.w3, effective_cutoff(effective))
    dividend = issued.announce_and_close_record_date("0.10")  # record date: the split's effective date
    assert dividend.record_date == effective
    issued.receive_cash(dividend, "3.75")  # 37.5 shares after the split x 0.10
    head = store.head_position()

    with pytest.raises(SplitNotApplied, match=f"stock split {split.id} .* took effect on {effective}"):
        services.snapshot_holders(dividend.id, actor=OPS)
    assert store.head_position() == head

    services.apply_action(split.id, actor=OPS)  # the new tokens are owed from now on, minted later
    snapshot = services.snapshot_holders(dividend.id, actor=OPS)

    balances = dict(snapshot.action.snapshot_holders.values_list("address", "balance_units"))
    assert balances == {a: issued.units(30), b: issued.units("7.5")}
    (event,) = store.read_stream("dividend_snapshot", dividend.id)
    (network,) = event.payload["networks"]
    assert network["split_tokens_owed"] == sorted([[a, str(issued.units(20))], [b, str(issued.units(5))]])
    assert network["total_units"] == str(issued.units("12.5"))  # the chain at the block, as cross-checked

    run = services.get_run(split_run_id(split.id))
    services.approve_run(run.id, APPROVER)
    assert services.run_payout(run.id).status == "completed"  # minted after the record date closed
    head = store.head_position()
    services.snapshot_holders(dividend.id, actor=OPS)
    assert store.head_position() == head  # the same count: owed then, whenever minted
    assert _gross_and_residue(dividend.id) == (Decimal("3.75"), 0)

    later = issued.announce_and_close_record_date("0.10")  # the new tokens are on chain by now: counted once
    issued.receive_cash(later, "3.75")
    services.snapshot_holders(later.id, actor=OPS)
    assert dict(later.snapshot_holders.values_list("address", "balance_units")) == balances
    assert _gross_and_residue(later.id) == (Decimal("3.75"), 0)


def test_a_split_effective_after_the_record_date_and_minted_before_the_snapshot_changes_nothing(issued, chain_env):
    a, b = _us_holders(chain_env, 2)
    issued.issue({a: "10", b: "2.5"})
    dividend = issued.announce_and_close_record_date("0.10")
    issued.receive_cash(dividend, "1.25")  # 12.5 shares at the record date x 0.10
    effective = dividend.record_date + timedelta(days=1)
    split = services.announce_split(issued.symbol, effective_date=effective, old_rate=1, new_rate=3, actor=OPS)
    services.apply_action(split.id, actor=OPS)  # closing the record date opened the effective date on chain
    run = services.get_run(split_run_id(split.id))
    services.approve_run(run.id, APPROVER)
    assert services.run_payout(run.id).status == "completed"
    assert balance_of(chain_env.w3, issued.token.contract_address, a) == issued.units(30)

    snapshot = services.snapshot_holders(dividend.id, actor=OPS)

    assert dict(snapshot.action.snapshot_holders.values_list("address", "balance_units")) == {
        a: issued.units(10), b: issued.units("2.5")}
    (network,) = snapshot.networks
    assert Decimal(network["tokens_per_share"]) == 1
    assert _gross_and_residue(dividend.id) == (Decimal("1.25"), 0)


def test_splits_apply_in_the_order_they_take_effect(issued, chain_env, today_is):
    issued.issue({funded_account(chain_env.w3).address: "1000"})
    day = chain_date(chain_env.w3)
    today_is(day + timedelta(days=1))
    first = services.announce_split(issued.symbol, effective_date=day, old_rate=10, new_rate=1, actor=OPS)
    second = services.announce_split(issued.symbol, effective_date=day + timedelta(days=1), old_rate=2, new_rate=1,
                                     actor=OPS)
    head = store.head_position()

    with pytest.raises(SplitNotApplied, match=f"reverse split {first.id} .* took effect on {day}"):
        services.apply_action(second.id, actor=OPS)

    assert store.head_position() == head
    assert Instrument.objects.get(pk=issued.instrument.pk).tokens_per_share == 1
    services.apply_action(first.id, actor=OPS)
    services.apply_action(second.id, actor=OPS)
    assert Instrument.objects.get(pk=issued.instrument.pk).tokens_per_share == 20


def test_a_split_announced_after_the_snapshot_holds_the_payout_run_until_the_holders_are_counted_again(
        issued, chain_env, today_is):
    (holder,) = _us_holders(chain_env, 1)
    issued.issue({holder: "100"})
    dividend = issued.announce_and_close_record_date("0.50")
    issued.receive_cash(dividend, "5.00")
    services.snapshot_holders(dividend.id, actor=OPS)  # no split known yet: 1 token per share
    reverse = services.announce_split(issued.symbol, effective_date=dividend.record_date, old_rate=10, new_rate=1,
                                      actor=OPS)  # learnt late, effective on the record date

    with pytest.raises(SplitNotApplied, match=reverse.id):
        services.create_dividend_run(dividend.id, actor=OPS)
    today_is(dividend.record_date)
    services.apply_action(reverse.id, actor=OPS)
    with pytest.raises(SnapshotMissing, match=f"{reverse.id} .* was applied after the snapshot"):
        services.create_dividend_run(dividend.id, actor=OPS)

    (network,) = services.snapshot_holders(dividend.id, actor=OPS).networks  # same holders, another ratio

    assert Decimal(network["tokens_per_share"]) == 10
    assert _gross_and_residue(dividend.id) == (Decimal("5.00"), 0)


def test_the_console_and_the_command_line_name_the_split_a_snapshot_waits_for(issued, chain_env, client):
    issued.issue({funded_account(chain_env.w3).address: "10"})
    dividend = issued.announce_and_close_record_date("1.00")
    reverse = services.announce_split(issued.symbol, effective_date=dividend.record_date, old_rate=10, new_rate=1,
                                      actor=OPS)
    operator = User.objects.create_user("ca-snapshotter", is_staff=True)
    operator.user_permissions.add(*Permission.objects.filter(
        codename__in=("change_corporateaction", "view_corporateaction")))
    client.force_login(operator)
    head = store.head_position()

    page = client.post("/admin/corporate_actions/corporateaction/",
                       {"action": "snapshot_holders", "_selected_action": [dividend.id]}, follow=True)

    shown = page.content.decode()
    assert f"reverse split {reverse.id}" in shown and f"took effect on {dividend.record_date}" in shown
    with pytest.raises(CommandError) as refused:
        call_command("snapshot_holders", "--action", dividend.id, stdout=io.StringIO())
    assert refused.value.returncode == 1
    assert str(refused.value).startswith(f"split_not_applied: reverse split {reverse.id}")
    assert store.head_position() == head
