"""The edges: the management commands end to end with the CSV report, the console's approval action, and the
read models rebuilt from the log alone."""
from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command

from corporate_actions import services, tasks
from corporate_actions.models import CorporateAction, HolderSnapshot, PayoutLine, PayoutRun, PayoutTx, SnapshotHolder
from ledger import projections, store

from .support import APPROVER, OPS, funded_account


def run(*args: str) -> str:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_a_refused_announcement_is_one_line_and_exit_code_one(issued):
    with pytest.raises(CommandError) as refused:
        run("announce_dividend", issued.symbol, "--ex-date", "2026-03-09", "--record-date", "2026-03-20",
            "--pay-date", "2026-03-13", "--rate", "0.25")
    assert refused.value.returncode == 1
    assert str(refused.value).startswith("invalid_announcement: record date 2026-03-20 is after pay date")


def test_a_dividend_run_from_the_command_line_ends_in_a_report_whose_totals_add_up(issued, chain_env, tmp_path):
    holders = [funded_account(chain_env.w3).address for _ in range(3)]
    issued.issue(dict(zip(holders, ["12.5", "3", "0.04"])))
    action = issued.announce_and_close_record_date("0.33")
    issued.receive_cash(action, "5.14")  # 15.54 shares x 0.33 = 5.1282, and the broker rounded up
    run("snapshot_holders", "--action", action.id, "--actor", OPS)
    created = run("create_payout_run", "--action", action.id, "--actor", OPS)
    run_id = created.split(":")[0]
    with pytest.raises(CommandError, match="payout_not_approved"):
        run("run_payout", "--run", run_id)
    run("approve_payout", "--run", run_id, "--user", APPROVER.removeprefix("user:"))
    chain_env.fund_payer(10 * 10**6)
    assert "completed, 3 of 3 holders paid" in run("run_payout", "--run", run_id)

    run("dividend_report", "--action", action.id, str(tmp_path / "report.csv"))

    summary_part, lines_part = (tmp_path / "report.csv").read_text().split("\n\n")
    summary = dict(csv.reader(io.StringIO(summary_part)))
    lines = list(csv.DictReader(io.StringIO(lines_part)))
    assert summary["identity_holds"] == "yes" and summary["received"] == "5.14"
    assert Decimal(summary["paid"]) + Decimal(summary["tax"]) + Decimal(summary["residue"]) == Decimal("5.14")
    assert sum(Decimal(line["amount"]) for line in lines) == Decimal(summary["paid"])
    assert {line["address"] for line in lines} == set(holders) and all(line["paid"] == "yes" for line in lines)


def test_an_approver_approves_from_the_console_and_nobody_approves_their_own_run(issued, chain_env, client):
    issued.issue({funded_account(chain_env.w3).address: "10"})
    action = issued.announce_and_close_record_date("1.00")
    issued.receive_cash(action, "10.00")
    services.snapshot_holders(action.id, actor=OPS)
    approver = User.objects.create_user("ca-approver", is_staff=True)
    approver.user_permissions.add(Permission.objects.get(codename="approve_payout_run"),
                                  Permission.objects.get(codename="view_payoutrun"))
    run_id = services.create_dividend_run(action.id, actor="user:ca-approver").id
    client.force_login(approver)

    refused = client.post("/admin/corporate_actions/payoutrun/", {"action": "approve", "_selected_action": [run_id]},
                          follow=True)
    assert "cannot also approve it" in refused.content.decode()
    assert PayoutRun.objects.get(id=run_id).status == "created"

    action_2 = issued.announce_and_close_record_date("1.00")
    issued.receive_cash(action_2, "10.00")
    services.snapshot_holders(action_2.id, actor=OPS)
    run_2 = services.create_dividend_run(action_2.id, actor=OPS).id
    client.post("/admin/corporate_actions/payoutrun/", {"action": "approve", "_selected_action": [run_2]})
    approved = PayoutRun.objects.get(id=run_2)
    assert (approved.status, approved.approved_by) == ("approved", "user:ca-approver")


def test_starting_a_payout_from_the_console_is_an_event_naming_the_user_then_queues_the_worker(
        issued, chain_env, client, django_capture_on_commit_callbacks):
    issued.issue({funded_account(chain_env.w3).address: "4"})
    action = issued.announce_and_close_record_date("1.00")
    issued.receive_cash(action, "4.00")
    services.snapshot_holders(action.id, actor=OPS)
    run_id = services.create_dividend_run(action.id, actor=OPS).id
    services.approve_run(run_id, APPROVER)
    operator = User.objects.create_user("ca-payer", is_staff=True)
    operator.user_permissions.add(*Permission.objects.filter(codename__in=("change_corporateaction", "view_payoutrun")))
    client.force_login(operator)
    head = store.head_position()

    with django_capture_on_commit_callbacks(execute=False) as queued:
        client.post("/admin/corporate_actions/payoutrun/", {"action": "start_payout", "_selected_action": [run_id]})

    (asked,) = store.read_all(after_position=head, event_types=["payout_requested"])
    assert (asked.metadata["actor"], asked.payload["run_id"]) == ("user:ca-payer", run_id)
    assert len(queued) == 1


def test_ops_announce_from_the_console_and_a_wrong_announcement_records_nothing(issued, client):
    operator = User.objects.create_user("ca-operator", is_staff=True)
    operator.user_permissions.add(*Permission.objects.filter(
        codename__in=("add_corporateaction", "view_corporateaction")))
    client.force_login(operator)
    form = {"kind": "cash_dividend", "symbol": issued.symbol, "ex_date": "2026-06-01", "record_date": "2026-06-01",
            "pay_date": "2026-06-05", "rate": "0.31", "currency": "USD"}
    head = store.head_position()

    refused = client.post("/admin/corporate_actions/corporateaction/announce/", {**form, "pay_date": "2026-05-30"})

    assert "invalid_announcement: record date 2026-06-01 is after pay date 2026-05-30" in refused.content.decode()
    assert store.head_position() == head
    client.post("/admin/corporate_actions/corporateaction/announce/", form)
    (action,) = CorporateAction.objects.filter(isin=issued.instrument.isin)
    assert (action.rate, action.announced_by) == (Decimal("0.31"), "user:ca-operator")


def test_the_beats_sweep_pays_an_approved_run_and_leaves_unapproved_ones(issued, chain_env):
    issued.issue({funded_account(chain_env.w3).address: "8"})
    action = issued.announce_and_close_record_date("0.50")
    issued.receive_cash(action, "4.00")
    services.snapshot_holders(action.id, actor=OPS)
    run_id = services.create_dividend_run(action.id, actor=OPS).id
    chain_env.fund_payer(10**7)

    assert run_id not in tasks.advance_payouts()
    services.approve_run(run_id, APPROVER)
    assert tasks.advance_payouts()[run_id] == "completed"


def _read_models() -> dict[str, list]:
    return {
        "actions": sorted(CorporateAction.objects.values_list("id", "status", "rate", "stream_version")),
        "snapshots": sorted(HolderSnapshot.objects.values_list("action_id", "holders_sha256", "holder_count")),
        "holders": sorted(SnapshotHolder.objects.values_list("action_id", "network", "address", "balance_units",
                                                             "excluded")),
        "runs": sorted(PayoutRun.objects.values_list("id", "status", "approved_by", "stream_version")),
        "lines": sorted(PayoutLine.objects.values_list("run_id", "line_no", "address", "amount", "units", "paid",
                                                       "tx_hash")),
        "txs": sorted(PayoutTx.objects.values_list("run_id", "tx_key", "status", "tx_hash", "nonce")),
    }


def test_rebuilding_the_projections_from_the_log_gives_the_same_read_models(issued, chain_env):
    issued.issue({funded_account(chain_env.w3).address: "7", funded_account(chain_env.w3).address: "2"})
    action = issued.announce_and_close_record_date("0.50")
    issued.receive_cash(action, "4.50")
    services.snapshot_holders(action.id, actor=OPS)
    run_id = services.create_dividend_run(action.id, actor=OPS).id
    services.approve_run(run_id, APPROVER)
    chain_env.fund_payer(10**7)
    services.run_payout(run_id)
    before = _read_models()

    projections.rebuild()

    assert _read_models() == before
