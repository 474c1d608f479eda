"""Reconciliation in the console (acknowledge, resolve, reports, run now) and its read models rebuilt from the log."""
from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.forms.models import model_to_dict
from django.urls import reverse

from ledger import projections, store
from ledger.store import NewEvent
from reconciliation import services
from reconciliation.models import Break, InstrumentResult, ReconciliationRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def unbacked(backed_token) -> Break:
    backed_token.mint_bypassing_the_system(2)
    services.run_reconciliation([backed_token.symbol])
    return Break.objects.get(kind="unbacked_supply", symbol=backed_token.symbol)


@pytest.fixture
def admin_client(client, unique):
    user = User.objects.create_superuser(f"ops-{unique}", password="x")
    client.force_login(user)
    client.username = user.username
    return client


def test_acknowledging_from_the_console_records_the_signed_in_user(admin_client, unbacked):
    response = admin_client.post(reverse("admin:reconciliation_break_changelist"),
                                 {"action": "acknowledge", "_selected_action": [unbacked.break_id]})

    assert response.status_code == 302
    assert Break.objects.get(pk=unbacked.pk).acknowledged_by == f"user:{admin_client.username}"


def test_resolving_from_the_console_asks_for_the_reason_and_the_correcting_event(admin_client, unbacked):
    changelist = reverse("admin:reconciliation_break_changelist")
    form = admin_client.post(changelist, {"action": "resolve", "_selected_action": [unbacked.break_id]})
    assert form.status_code == 200 and b"correcting_event_position" in form.content

    fix = store.append("journal", f"recon-fix-{unbacked.break_id}", [NewEvent("note_added", {"text": "bought 2"})],
                       metadata={"actor": "user:ops"}).last_position
    done = admin_client.post(changelist, {"action": "resolve", "_selected_action": [unbacked.break_id], "apply": "1",
                                          "reason": "bought 2 shares", "correcting_event_position": fix})

    assert done.status_code == 302
    resolved = Break.objects.get(pk=unbacked.pk)
    assert (resolved.status, resolved.resolved_by, resolved.correcting_event_position) == (
        "resolved", f"user:{admin_client.username}", fix)


def test_a_runs_reports_download_from_the_console(admin_client, unbacked):
    run_id = unbacked.last_run_id
    csv_report = admin_client.get(reverse("admin:reconciliation_run_report", args=[run_id, "csv"]))
    html_report = admin_client.get(reverse("admin:reconciliation_run_report", args=[run_id, "html"]))
    pdf_report = admin_client.get(reverse("admin:reconciliation_run_report", args=[run_id, "pdf"]))

    assert csv_report.status_code == 200 and csv_report["Content-Type"] == "text/csv; charset=utf-8"
    assert csv_report["Content-Disposition"] == f'attachment; filename="reconciliation-{run_id}.csv"'
    assert unbacked.symbol in csv_report.content.decode()
    assert html_report.status_code == 200 and html_report["Content-Type"] == "text/html; charset=utf-8"
    assert run_id in html_report.content.decode() and not html_report.has_header("Content-Disposition")
    assert pdf_report.status_code == 200 and pdf_report["Content-Type"] == "application/pdf"
    assert pdf_report["Content-Disposition"] == f'attachment; filename="reconciliation-{run_id}.pdf"'
    assert pdf_report.content.startswith(b"%PDF")
    assert admin_client.get(reverse("admin:reconciliation_reconciliationrun_change", args=[run_id])).status_code == 200


def test_run_now_queues_a_run_for_a_worker_once_the_request_commits(admin_client, backed_token, unique,
                                                                    django_capture_on_commit_callbacks):
    head = store.head_position()
    with django_capture_on_commit_callbacks(execute=False) as queued:
        response = admin_client.post(reverse("admin:reconciliation_run_now"))

    assert response.status_code == 302 and len(queued) == 1
    asked = store.read_all(after_position=head, event_types=["reconciliation_requested"])
    assert [e.metadata["actor"] for e in asked] == [f"user:ops-{unique}"]  # the click is a fact with a name
    assert admin_client.get(reverse("admin:reconciliation_run_now")).status_code == 403


def test_rebuilding_the_projections_gives_the_same_runs_results_and_breaks(unbacked, backed_token):
    services.acknowledge_break(unbacked.break_id, "user:alice")
    backed_token.broker.adjust_position(backed_token.symbol, "2")  # backed again, though by shares nobody booked
    services.run_reconciliation([backed_token.symbol])

    def snapshot():
        runs = ReconciliationRun.objects.filter(scope=backed_token.symbol).order_by("run_id")
        return ([model_to_dict(run) for run in runs],
                [model_to_dict(r, exclude=["id"]) for r in InstrumentResult.objects.filter(symbol=backed_token.symbol)
                 .order_by("position")],
                [model_to_dict(b) for b in Break.objects.filter(symbol=backed_token.symbol).order_by("break_id")])

    before = snapshot()
    projections.rebuild()

    assert snapshot() == before and len(before[0]) == 2
    assert {b["kind"]: b["status"] for b in before[2]} == {
        "unbacked_supply": "closed", "unknown_mint": "open", "ledger_drift": "open"}  # 2 shares more at the broker


def test_the_dashboard_lists_open_breaks_critical_first(admin_client, unbacked):
    page = admin_client.get(reverse("admin:index")).content.decode()

    assert f"unbacked supply: {unbacked.symbol}" in page and "2 " + unbacked.symbol in page
    assert reverse("admin:reconciliation_break_change", args=[unbacked.break_id]) in page
