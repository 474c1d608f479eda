"""Prometheus gauges of reconciliation: live breaks by severity and kind (registered with ops.metrics)."""
from __future__ import annotations

from django.db.models import Count

from .models import Break


def gauges() -> list[str]:
    lines = ["# HELP shareledger_reconciliation_open_breaks Breaks open or acknowledged, by severity and kind.",
             "# TYPE shareledger_reconciliation_open_breaks gauge"]
    rows = (Break.objects.filter(status__in=Break.LIVE).values("severity", "kind").annotate(n=Count("pk"))
            .order_by("severity", "kind"))
    for row in rows:
        lines.append(f'shareledger_reconciliation_open_breaks{{severity="{row["severity"]}",kind="{row["kind"]}"}} {row["n"]}')
    return lines
