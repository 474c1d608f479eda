"""Run reports: machine-readable (JSON, CSV) and human-readable (HTML; PDF in pdf_report.py), from the run's read
models and events.

Every figure is the one the run recorded in its `instrument_reconciled` events, so a report can be checked
line by line against an export of the ledger. Decimals are strings in JSON and plain numbers in CSV.
"""
from __future__ import annotations

import csv
import io
import json

from django.template.loader import render_to_string

from ledger.canonical import normalize_json
from ledger.models import Event

from . import streams
from .errors import UnknownRun
from .models import Break, InstrumentResult, ReconciliationRun

CSV_LEADING = ["symbol", "status", "shares_in_custody", "tokens_outstanding"]
CSV_TRAILING = ["ledger_custody", "ledger_supply", "in_flight_mint", "in_flight_redeem", "difference", "explanation"]


def get_run(run_id: str) -> ReconciliationRun:
    run = ReconciliationRun.objects.filter(run_id=run_id).first()
    if run is None:
        raise UnknownRun(f"no reconciliation run {run_id!r}")
    return run


def run_report(run_id: str) -> dict:
    """Everything the run saw and concluded, JSON-safe (decimals and times as canonical strings)."""
    run = get_run(run_id)
    results = InstrumentResult.objects.filter(run=run).order_by("symbol")
    detected = Event.objects.filter(stream_type=streams.RUN, stream_id=run_id, event_type="break_detected") \
        .order_by("version").values_list("payload", flat=True)
    detected = [json.loads(payload) if isinstance(payload, str) else payload for payload in detected]
    status_now = dict(Break.objects.filter(break_id__in=[b["break_id"] for b in detected])
                      .values_list("break_id", "status"))
    return normalize_json({
        "run": {
            "run_id": run.run_id, "scope": run.scope, "status": run.status, "actor": run.actor,
            "requested_as_of": run.requested_as_of, "started_at": run.started_at, "finished_at": run.finished_at,
            "counts": {"instruments": run.instrument_count, "clean": run.clean_count, "breaks": run.with_breaks_count,
                       "incomplete": run.incomplete_count, "breaks_found": run.open_break_count,
                       "new_breaks": run.new_break_count, "breaks_closed": run.closed_break_count},
            "events_sha256": run.events_sha256, "last_event_position": run.last_position,
            "last_event_hash": run.last_event_hash,
        },
        "sources": run.sources,
        "instruments": [{
            "symbol": r.symbol, "status": r.status, "tokens_per_share": r.tokens_per_share,
            "shares_in_custody": r.shares_in_custody, "tokens_outstanding": r.tokens_outstanding,
            "difference": r.difference, "ledger_custody": r.ledger_custody, "ledger_supply": r.ledger_supply,
            "in_flight_mint": r.in_flight_mint, "in_flight_redeem": r.in_flight_redeem,
            "custody_by_account": r.custody_by_account, "supply_by_network": r.supply_by_network,
            "explanation": r.explanation, "incomplete_reasons": r.incomplete_reasons,
        } for r in results],
        "breaks": [{**found, "status_now": status_now.get(found["break_id"], "")} for found in detected],
    }, "report")


def render_json(run_id: str) -> str:
    return json.dumps(run_report(run_id), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_csv(run_id: str) -> str:
    """One line per instrument; one supply column per network seen in the run (share equivalents)."""
    report = run_report(run_id)
    networks = sorted({network for row in report["instruments"] for network in row["supply_by_network"]})
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*CSV_LEADING, *(f"supply_{network}" for network in networks), *CSV_TRAILING])
    for row in report["instruments"]:
        per_network = [(row["supply_by_network"].get(network) or {}).get("shares") for network in networks]
        writer.writerow([*(row[column] for column in CSV_LEADING), *per_network,
                         *(row[column] for column in CSV_TRAILING)])
    return out.getvalue()


def render_html(run_id: str) -> str:
    report = run_report(run_id)
    networks = sorted({network for row in report["instruments"] for network in row["supply_by_network"]})
    for row in report["instruments"]:
        row["network_supplies"] = [(row["supply_by_network"].get(network) or {}).get("shares") for network in networks]
    return render_to_string("reconciliation/report.html", {"report": report, "networks": networks})
