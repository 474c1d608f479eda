"""The console dashboard's "Open breaks" panel (console.dashboard slot `open_breaks`)."""
from __future__ import annotations

from django.db.models import Case, IntegerField, Value, When
from django.urls import reverse

from console.dashboard import Panel, PanelRow
from ledger.canonical import decimal_str

from .models import Break, ReconciliationRun

SHOWN = 10


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
    note = f"{live.count()} open" + (f"; last run {last.run_id} {last.status}" if last else "; no run yet")
    return Panel(rows, note=note)
