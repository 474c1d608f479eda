"""The reconciliation app's public API: what the task, the command, the console and the API call.

Runs:
    run_reconciliation(instruments=None, as_of=None, actor="system:beat") -> RunResult
        instruments: symbols (None = all); as_of: aware datetime in the past (None = now).
        RunResult: run_id, status ("completed" | "incomplete"), instruments [InstrumentSummary(symbol, status
        "clean" | "breaks" | "incomplete", shares_in_custody, tokens_outstanding, difference, explanation)],
        breaks [BreakOutcome(break_id, found: FoundBreak(kind, symbol, subject, severity, amount, unit, detail),
        new)], closed_break_ids, events_sha256; .clean, .new_breaks.
        RunAlreadyInProgress (run_in_progress, 409) when an overlapping run holds the lock; UnknownInstrument;
        InvalidAsOf. Unreachable or stale sources never raise: they make the run incomplete.
    start_reconciliation(instruments=None, *, actor) -> str       enqueue a run on a Celery worker; the task id.
        Checks the lock first (RunAlreadyInProgress at once); the worker checks it again.
    latest_run(completed_only=False) -> ReconciliationRun | None
    get_run(run_id) -> ReconciliationRun                              UnknownRun

Breaks (actor "user:<username>"):
    acknowledge_break(break_id, actor, note="") -> Break              open -> acknowledged
    resolve_break(break_id, actor, reason, correcting_event_position) -> Break   open|acknowledged -> resolved
        UnknownBreak, BreakStateConflict, ResolutionReasonMissing, UnknownCorrectingEvent (no such ledger position)
    open_breaks() -> QuerySet[Break]                                  open and acknowledged, newest first

Reports and proof of reserves:
    run_report(run_id) -> dict; render_json(run_id) / render_csv(run_id) / render_html(run_id) -> str;
        render_pdf(run_id) -> bytes (landscape A4, the same bytes every time for the same run)
    proof_of_reserves(token_symbol) -> dict                           UnknownToken, NoReconciliationYet

Aggregator contracts (supply reads): deploy_aggregator(network, *, actor) -> AggregatorContract

Every failure subclasses reconciliation.errors.ReconciliationError (a ledger.errors.DomainError).
Commands: `manage.py reconcile [--instrument X ...] [--as-of T]`, `manage.py deploy_aggregator --network X`.
Celery: `reconciliation.tasks.run_nightly_reconciliation` (beat) and `reconciliation.tasks.reconcile`.
"""
from __future__ import annotations

import uuid

from django.db import transaction
from django.db.models import QuerySet

from .aggregators import deploy_aggregator
from .breaks import BreakOutcome, acknowledge_break, get_break, resolve_break
from .checks import FoundBreak
from .errors import RunAlreadyInProgress
from .locks import check_scope_free
from .models import Break, ReconciliationRun
from .pdf_report import render_pdf
from .proof import proof_of_reserves
from .reports import get_run, render_csv, render_html, render_json, run_report
from .runs import InstrumentSummary, RunResult, resolve_scope, run_reconciliation

__all__ = [
    "BreakOutcome", "FoundBreak", "InstrumentSummary", "RunAlreadyInProgress", "RunResult", "acknowledge_break",
    "deploy_aggregator", "get_break", "get_run", "latest_run", "open_breaks", "proof_of_reserves", "render_csv",
    "render_html", "render_json", "render_pdf", "resolve_break", "run_reconciliation", "run_report",
    "start_reconciliation",
]


def start_reconciliation(instruments: list[str] | None = None, *, actor: str) -> str:
    """Queue a run for a worker (admin and API: a full run can take longer than a request may)."""
    from .tasks import reconcile

    scope = None if instruments is None else [row.symbol for row in resolve_scope(instruments)]
    check_scope_free(scope)
    task_id = f"reconcile-{uuid.uuid4()}"
    transaction.on_commit(lambda: reconcile.apply_async(kwargs={"instruments": scope, "actor": actor}, task_id=task_id))
    return task_id


def latest_run(completed_only: bool = False) -> ReconciliationRun | None:
    runs = ReconciliationRun.objects.exclude(status=ReconciliationRun.Status.RUNNING)
    if completed_only:
        runs = runs.filter(status=ReconciliationRun.Status.COMPLETED)
    return runs.order_by("-started_at").first()


def open_breaks() -> QuerySet[Break]:
    return Break.objects.filter(status__in=Break.LIVE).order_by("-last_seen_at")
