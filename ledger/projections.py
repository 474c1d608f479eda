"""Projections: read models derived from events, never ahead of or behind the log.

Core projections (balance per account and asset, head of every stream): a small append updates them from
the values it holds (migration 0004); a batch append and a rebuild run `ledger_project_core(first, last)`
(migration 0003), set-based over the rows written.

Apps register their own read models (`register(projector)` in AppConfig.ready()). The store calls
`apply(events)` inside the append transaction; `rebuild` resets them and replays the log in batches
through the same `apply`. A test checks that a rebuild gives exactly the live state.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from django.db import connection

from . import cycle_collector

if TYPE_CHECKING:
    from .store import RecordedEvent

CORE = ("ledger.balances", "ledger.streams")


class Projector(Protocol):
    name: str
    stream_types: frozenset[str]  # the streams whose events it reads; it is called for no others

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        """Update the read model for these events (in position order), inside the caller's transaction."""

    def reset(self) -> None:
        """Empty the read model before a rebuild."""


_projectors: dict[str, Projector] = {}


def register(projector: Projector) -> None:
    if projector.name in CORE:
        raise ValueError(f"projector name {projector.name!r} is reserved")
    _projectors[projector.name] = projector


def names() -> list[str]:
    return [*CORE, *_projectors]


def read_by_app_projector(stream_types: set[str]) -> bool:
    """Whether any app projector reads events of these stream types (and so must run in their append's
    transaction)."""
    return any(projector.stream_types & stream_types for projector in _projectors.values())


def apply_app_projectors(events: Sequence[RecordedEvent]) -> None:
    """Run the app projectors that read these events inside the append's transaction. Every checkpoint was
    already moved to the new head by the append itself (one statement for all projectors); a failure here
    rolls both back."""
    stream_types = {event.stream_type for event in events}
    for projector in _projectors.values():
        if projector.stream_types & stream_types:
            projector.apply(events)


def _save_checkpoints(projector_names: list[str], position: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_projection_checkpoint (name, position)
            SELECT unnest(%s::text[]), %s
            ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position
            """,
            [projector_names, position],
        )


def rebuild(batch_size: int = 5000, progress: Callable[[int], None] | None = None) -> int:
    """Reset every projection and rebuild it from the whole log. Runs under the append lock in the
    caller's transaction, so no append interleaves. Returns the number of events replayed."""
    from .store import head_position, iter_all  # the store imports this module

    with connection.cursor() as cursor:
        cursor.execute("SELECT ledger_append_lock()")
        cursor.execute("DELETE FROM ledger_account_balance")
        cursor.execute("DELETE FROM ledger_stream_state")
        head = head_position()
        if head:
            cursor.execute("SELECT ledger_project_core(1, %s, %s::text[])", [head, list(CORE)])
    for projector in _projectors.values():
        projector.reset()
    if _projectors:
        with cycle_collector.paused():
            for batch in iter_all(batch_size=batch_size):
                for projector in _projectors.values():
                    projector.apply(batch)
                if progress:
                    progress(len(batch))
        _save_checkpoints(list(_projectors), head)
    elif progress:
        progress(head)
    return head
