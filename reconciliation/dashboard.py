"""The console dashboard's reconciliation panels: open breaks (slot `open_breaks`) and how fresh the last
custody sync and reconciliation are (slot `freshness`)."""
from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, Count, IntegerField, Value, When
from django.urls import reverse
from django.utils import timezone

from console.dashboard import Panel, PanelRow
from console.templatetags.console_format import age
from custody import services as custody
from custody.models import CustodyAccount, PositionsObservation
from ledger.canonical import decimal_str

from .models import Break, ReconciliationRun
from .readings import OK

SHOWN = 10
# Runs are nightly: a last completed run older than this means a night was missed.
RECONCILIATION_MAX_AGE = timedelta(hours=26)
RUNS_CONSULTED = 10  # recent runs whose custody readings count as proof of a successful broker sync


def open_breaks_panel(request) -> Panel:
    live = Break.objects.filter(status__in=Break.LIVE).annotate(
        critical_first=Case(When(severity=Break.Severity.CRITICAL, then=Value(0)), default=Value(1),
                            output_field=IntegerField())).order_by("critical_first", "-last_seen_at")
    rows = [PanelRow(f"{row.kind.replace('_', ' ')}: {row.symbol or row.subject}",
                     f"{decimal_str(row.amount)} {row.unit}, {row.status}",
                     url=reverse("admin:reconciliation_break_change", args=[row.break_id]),
                     alert=row.severity == Break.Severity.CRITICAL)
            for row in live[:SHOWN]]
    last = ReconciliationRun.objects.exclude(status=ReconciliationRun.Status.RUNNING).order_by("-started_at").first()
    by_severity = dict(live.order_by().values_list("severity").annotate(count=Count("break_id")))
    counts = ", ".join(f"{by_severity[severity]} {severity}" for severity in Break.Severity.values
                       if severity in by_severity)
    note = f"{sum(by_severity.values())} open" + (f" ({counts})" if counts else "") + (
        f"; last run {last.run_id} {last.status}" if last else "; no run yet")
    return Panel(rows, note=note)


def freshness_panel(request) -> Panel:
    """Per custody account, the last time its holdings were known good; then the last reconciliation runs.

    Custody records a broker sync only when it finds something new (an activity, an order, changed
    positions), so a quiet account's last positions observation can be old although syncs succeed. A
    reconciliation run also syncs each broker account and records the reading: the newer of the two counts.
    """
    now = timezone.now()
    runs = list(ReconciliationRun.objects.exclude(status=ReconciliationRun.Status.RUNNING)
                .order_by("-started_at")[:RUNS_CONSULTED])
    rows = [_custody_row(account, runs, now) for account in CustodyAccount.objects.order_by("name")]
    changelist = reverse("admin:reconciliation_reconciliationrun_changelist")
    if not runs:
        rows.append(PanelRow("Last reconciliation", "never run", url=changelist, alert=True))
        return Panel(rows)
    last = runs[0]
    last_completed = last.status == ReconciliationRun.Status.COMPLETED
    rows.append(PanelRow("Last reconciliation", f"{last.status}, {age(last.finished_at or last.started_at)} ago",
                         url=reverse("admin:reconciliation_reconciliationrun_change", args=[last.run_id]),
                         alert=not last_completed or now - last.finished_at > RECONCILIATION_MAX_AGE))
    if not last_completed:
        completed = (ReconciliationRun.objects.filter(status=ReconciliationRun.Status.COMPLETED)
                     .order_by("-started_at").first())
        rows.append(PanelRow("Last completed reconciliation", f"{age(completed.finished_at)} ago" if completed
                             else "none yet", url=changelist,
                             alert=completed is None or now - completed.finished_at > RECONCILIATION_MAX_AGE))
    return Panel(rows, note=f"Red: broker older than {settings.RECONCILIATION_BROKER_MAX_AGE_SECONDS // 60} min, "
                            f"statement older than {settings.RECONCILIATION_STATEMENT_MAX_AGE_HOURS} h, "
                            f"reconciliation older than {RECONCILIATION_MAX_AGE // timedelta(hours=1)} h.")


def _custody_row(account: CustodyAccount, runs: list[ReconciliationRun], now: datetime) -> PanelRow:
    url = reverse("admin:custody_custodyaccount_change", args=[account.pk])
    if account.kind == CustodyAccount.Kind.STATEMENT:
        statement = custody.latest_statement(account)  # a statement dated in the future is never the latest
        if statement is None:
            return PanelRow(f"Custody {account.name} (statements)", "no statement imported", url=url, alert=True)
        statement_age = now - statement.statement_time
        return PanelRow(f"Custody {account.name} (statements)",
                        f"statement of {statement.statement_date.isoformat()}, imported {age(statement.imported_at)} "
                        f"ago", url=url,
                        alert=statement_age > timedelta(hours=settings.RECONCILIATION_STATEMENT_MAX_AGE_HOURS))
    synced_at = _last_good_broker_reading(account, runs)
    if synced_at is None:
        return PanelRow(f"Custody {account.name} (broker)", "no successful sync on record", url=url, alert=True)
    return PanelRow(f"Custody {account.name} (broker)", f"last successful sync {age(synced_at)} ago", url=url,
                    alert=now - synced_at > timedelta(seconds=settings.RECONCILIATION_BROKER_MAX_AGE_SECONDS))


def _last_good_broker_reading(account: CustodyAccount, runs: list[ReconciliationRun]) -> datetime | None:
    observed = (PositionsObservation.objects.filter(account_name=account.name).order_by("-event_position")
                .values_list("observed_at", flat=True).first())
    source = f"custody:{account.name}"
    read_by_runs = [datetime.fromisoformat(reading["as_of"]) for run in runs for reading in run.sources
                    if reading.get("source") == source and reading.get("status") == OK and reading.get("as_of")]
    return max([moment for moment in (observed, *read_by_runs) if moment is not None], default=None)
