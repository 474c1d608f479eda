"""Break lifecycle: open -> acknowledged (by whom) -> resolved (reason + correcting event), or closed
automatically, with a record, by a later run that looked again and no longer found it.

A run matches what it found with the live (open or acknowledged) breaks by key (kind:symbol:subject): a known
key is `break_seen_again` (amount and last-seen move), a new one is `break_opened` with a new break id. A live
break the run did not find is `break_auto_closed` only if the run actually checked that difference (an
instrument left incomplete closes nothing). Every change appends to `reconciliation_break/<id>` at the
version it was decided on, so a person acting on a break while a run finishes cannot be overwritten.
"""
from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from ledger import store
from ledger.errors import ConcurrencyError
from ledger.models import Event
from ledger.store import NewEvent, StreamAppend

from . import streams
from .checks import FoundBreak, InstrumentVerdict
from .errors import BreakStateConflict, ResolutionReasonMissing, UnknownBreak, UnknownCorrectingEvent
from .models import Break


@dataclass(frozen=True)
class BreakOutcome:
    break_id: str
    found: FoundBreak
    new: bool


@dataclass
class BreakPlan:
    appends: list[StreamAppend]
    found: list[BreakOutcome]
    closed: list[str]


def new_break_id() -> str:
    return f"brk-{uuid.uuid4().hex[:16]}"


def plan_breaks(run_id: str, found: Iterable[FoundBreak], verdicts: dict[str, InstrumentVerdict],
                sources_read_ok: set[str], symbols: set[str] | None) -> BreakPlan:
    """The break stream appends for what a run found, and which live breaks it closes."""
    live = Break.objects.filter(status__in=Break.LIVE)
    if symbols is not None:
        live = live.filter(symbol__in=[*symbols, ""])
    live_by_key = {row.key: row for row in live}
    plan = BreakPlan([], [], [])
    found_keys: set[str] = set()
    for item in found:
        found_keys.add(item.key)
        data = {"amount": item.amount, "detail": item.detail, "severity": item.severity, "run_id": run_id}
        earlier = live_by_key.get(item.key)
        if earlier is None:
            break_id = new_break_id()
            opened = {"break_id": break_id, "key": item.key, "kind": item.kind, "symbol": item.symbol,
                      "subject": item.subject, "unit": item.unit, **data}
            plan.appends.append(StreamAppend(streams.BREAK, break_id, [NewEvent("break_opened", opened)], 0))
        else:
            break_id = earlier.break_id
            plan.appends.append(StreamAppend(streams.BREAK, break_id, [NewEvent("break_seen_again", data)],
                                             earlier.stream_version))
        plan.found.append(BreakOutcome(break_id, item, earlier is None))
    for key, row in live_by_key.items():
        if key not in found_keys and _looked_again(row, verdicts, sources_read_ok):
            plan.appends.append(StreamAppend(streams.BREAK, row.break_id, [NewEvent("break_auto_closed", {
                "run_id": run_id, "reason": f"run {run_id} checked {row.kind} again and found no difference",
            })], row.stream_version))
            plan.closed.append(row.break_id)
    return plan


def _looked_again(row: Break, verdicts: dict[str, InstrumentVerdict], sources_read_ok: set[str]) -> bool:
    if row.kind == "stale_source":
        return row.subject in sources_read_ok
    verdict = verdicts.get(row.symbol)
    return verdict is not None and verdict.covers(row.kind, row.subject)


def acknowledge_break(break_id: str, actor: str, note: str = "") -> Break:
    """Someone has seen the break and owns it; it stays live (a later run still closes it when gone)."""
    row = get_break(break_id)
    if row.status != Break.Status.OPEN:
        raise BreakStateConflict(f"break {break_id} is {row.status}; only an open break can be acknowledged")
    _append(row, "break_acknowledged", {"note": note}, actor)
    return get_break(break_id)


def resolve_break(break_id: str, actor: str, reason: str, correcting_event_position: int) -> Break:
    """Close a live break by hand, naming why and the ledger event that corrected the difference."""
    row = get_break(break_id)
    if row.status not in Break.LIVE:
        raise BreakStateConflict(f"break {break_id} is {row.status}; only an open or acknowledged break can be resolved")
    if not reason or not reason.strip():
        raise ResolutionReasonMissing("a resolution needs a reason")
    if isinstance(correcting_event_position, bool) or not isinstance(correcting_event_position, int) \
            or not Event.objects.filter(position=correcting_event_position).exists():
        raise UnknownCorrectingEvent(f"no ledger event at position {correcting_event_position!r}")
    _append(row, "break_resolved", {"reason": reason.strip(), "correcting_event_position": correcting_event_position},
            actor)
    return get_break(break_id)


def get_break(break_id: str) -> Break:
    row = Break.objects.filter(break_id=break_id).first()
    if row is None:
        raise UnknownBreak(f"no break {break_id!r}")
    return row


def _append(row: Break, event_type: str, payload: dict, actor: str) -> None:
    try:
        store.append(streams.BREAK, row.break_id, [NewEvent(event_type, payload)], metadata={"actor": actor},
                     expected_version=row.stream_version)
    except ConcurrencyError:
        raise BreakStateConflict(f"break {row.break_id} changed meanwhile (a run or someone else); look again") from None
