"""Keeps the reconciliation read models in step with the log, inside each append's transaction.

Every event carries what its row needs, so replaying the log after `reset` rebuilds the same rows; times are
the events' recorded_at. A run's `events_sha256` folds the hashes of its stream's events in order
(d = sha256_hex(d + event.hash), starting from 64 zeros), so anyone holding an export can recompute it.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import connection
from django.db.models import F

from ledger.canonical import GENESIS_HASH, sha256_hex
from ledger.store import RecordedEvent

from . import streams
from .models import AggregatorContract, Break, InstrumentResult, ReconciliationRun

TERMINAL_RUN_EVENTS = {"run_completed": ReconciliationRun.Status.COMPLETED,
                       "run_incomplete": ReconciliationRun.Status.INCOMPLETE}


def fold_event_hash(digest: str, event_hash: str) -> str:
    return sha256_hex(digest + event_hash)


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class ReconciliationProjector:
    name = "reconciliation"
    stream_types = frozenset({streams.RUN, streams.BREAK, streams.AGGREGATOR})

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        runs: dict[str, ReconciliationRun] = {}
        new_runs: list[ReconciliationRun] = []
        results: list[InstrumentResult] = []
        for event in events:
            if event.stream_type == streams.RUN:
                run = runs.get(event.stream_id)
                if event.event_type == "run_started":
                    run = _started_run(event)
                    new_runs.append(run)
                elif run is None:
                    run = ReconciliationRun.objects.get(run_id=event.stream_id)
                runs[event.stream_id] = run
                _apply_run_event(run, event, results)
            elif event.stream_type == streams.BREAK:
                _apply_break_event(event)
            elif event.stream_type == streams.AGGREGATOR:
                _apply_aggregator_event(event)
        ReconciliationRun.objects.bulk_create(new_runs)
        for run in runs.values():
            if run not in new_runs:
                run.save()
        InstrumentResult.objects.bulk_create(results, batch_size=2000)

    def reset(self) -> None:
        with connection.cursor() as cursor:
            for table in ("reconciliation_break", "reconciliation_instrumentresult", "reconciliation_reconciliationrun",
                          "reconciliation_aggregatorcontract"):
                cursor.execute(f"DELETE FROM {table}")


def _started_run(event: RecordedEvent) -> ReconciliationRun:
    data = event.payload
    return ReconciliationRun(
        run_id=event.stream_id, scope=data["scope"][:200], status=ReconciliationRun.Status.RUNNING,
        requested_as_of=data["as_of"], actor=event.metadata["actor"], started_at=event.recorded_at,
        instrument_count=data["instrument_count"], events_sha256=GENESIS_HASH, last_position=event.position,
        last_event_hash=event.hash,
    )


def _apply_run_event(run: ReconciliationRun, event: RecordedEvent, results: list[InstrumentResult]) -> None:
    run.events_sha256 = fold_event_hash(run.events_sha256, event.hash)
    run.last_position, run.last_event_hash = event.position, event.hash
    data = event.payload
    if event.event_type == "source_fetched":
        run.sources = [*run.sources, data]
    elif event.event_type == "instrument_reconciled":
        results.append(InstrumentResult(
            run_id=run.run_id, symbol=data["symbol"], status=data["status"],
            tokens_per_share=Decimal(data["tokens_per_share"]),
            shares_in_custody=_decimal(data["shares_in_custody"]), tokens_outstanding=_decimal(data["tokens_outstanding"]),
            ledger_custody=Decimal(data["ledger"]["custody"]), ledger_supply=Decimal(data["ledger"]["supply"]),
            in_flight_mint=Decimal(data["in_flight"]["mint"]), in_flight_redeem=Decimal(data["in_flight"]["redeem"]),
            difference=_decimal(data["difference"]), custody_by_account=data["custody_by_account"],
            supply_by_network=data["supply_by_network"], explanation=data["explanation"],
            incomplete_reasons=data["incomplete_reasons"], position=event.position,
        ))
    elif event.event_type in TERMINAL_RUN_EVENTS:
        counts = data["counts"]
        run.status = TERMINAL_RUN_EVENTS[event.event_type]
        run.finished_at = event.recorded_at
        run.clean_count, run.with_breaks_count = counts["clean"], counts["breaks"]
        run.incomplete_count = counts["incomplete"]
        run.new_break_count, run.open_break_count = counts["new_breaks"], counts["breaks_found"]
        run.closed_break_count = counts["breaks_closed"]


def _apply_break_event(event: RecordedEvent) -> None:
    data, at = event.payload, event.recorded_at
    if event.event_type == "break_opened":
        Break.objects.create(
            break_id=event.stream_id, key=data["key"], kind=data["kind"], symbol=data["symbol"],
            subject=data["subject"], severity=data["severity"], status=Break.Status.OPEN,
            amount=Decimal(data["amount"]), unit=data["unit"], detail=data["detail"], first_seen_at=at,
            last_seen_at=at, first_run_id=data["run_id"], last_run_id=data["run_id"], stream_version=event.version,
        )
        return
    changes: dict = {"stream_version": event.version}
    if event.event_type == "break_seen_again":
        changes.update(amount=Decimal(data["amount"]), detail=data["detail"], severity=data["severity"],
                       last_seen_at=at, last_run_id=data["run_id"])
        Break.objects.filter(break_id=event.stream_id).update(times_seen=F("times_seen") + 1, **changes)
        return
    if event.event_type == "break_acknowledged":
        changes.update(status=Break.Status.ACKNOWLEDGED, acknowledged_by=event.metadata["actor"], acknowledged_at=at,
                       acknowledgement_note=data["note"])
    elif event.event_type == "break_resolved":
        changes.update(status=Break.Status.RESOLVED, resolved_by=event.metadata["actor"], resolved_at=at,
                       resolution_reason=data["reason"], correcting_event_position=data["correcting_event_position"])
    elif event.event_type == "break_auto_closed":
        changes.update(status=Break.Status.CLOSED, closed_at=at, closed_by_run_id=data["run_id"])
    Break.objects.filter(break_id=event.stream_id).update(**changes)


def _apply_aggregator_event(event: RecordedEvent) -> None:
    if event.event_type == "aggregator_deployed":
        data = event.payload
        AggregatorContract.objects.update_or_create(network=event.stream_id, defaults={
            "chain_id": data["chain_id"], "address": data["address"], "deployed_at": event.recorded_at,
            "stream_version": event.version,
        })
