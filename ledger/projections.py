"""Projections: read models derived from events.

In-transaction projectors run inside the append transaction, so a read model is never behind the log
and never ahead of it. Apps register theirs (`register(projector)`) in AppConfig.ready(). Each projector
must be rebuildable from scratch by replaying the log: `rebuild_projections` resets and replays, and a test
checks that the result equals what live updating produced. A projector applies a whole batch at once so
the write path stays set-based.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from django.db import connection

from .canonical import EXACT

if TYPE_CHECKING:
    from .store import RecordedEvent


class Projector(Protocol):
    name: str

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        """Update the read model for these events (in position order), inside the caller's transaction."""

    def reset(self) -> None:
        """Empty the read model before a rebuild."""


class BalanceProjector:
    """Current balance per (account, asset)."""

    name = "ledger.balances"

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        deltas: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        last: dict[tuple[str, str], int] = {}
        for event in events:
            for leg in event.postings:
                deltas[(leg.account, leg.asset)] = EXACT.add(deltas[(leg.account, leg.asset)], leg.amount)
                last[(leg.account, leg.asset)] = event.position
        if not deltas:
            return
        keys = sorted(deltas)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO ledger_account_balance (account, asset, balance, last_position)
                SELECT * FROM unnest(%s::text[], %s::text[], %s::numeric[], %s::bigint[])
                ON CONFLICT (account, asset) DO UPDATE
                   SET balance = ledger_account_balance.balance + EXCLUDED.balance,
                       last_position = EXCLUDED.last_position
                """,
                [[k[0] for k in keys], [k[1] for k in keys], [deltas[k] for k in keys], [last[k] for k in keys]],
            )

    def reset(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM ledger_account_balance")


class StreamStateProjector:
    """Head of every stream: version, last position and event type."""

    name = "ledger.streams"

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        heads: dict[tuple[str, str], RecordedEvent] = {}
        for event in events:
            heads[(event.stream_type, event.stream_id)] = event
        keys = sorted(heads)
        with connection.cursor() as cursor:
            cursor.execute(
                """
                INSERT INTO ledger_stream_state (stream_type, stream_id, version, last_position, last_event_type, updated_at)
                SELECT * FROM unnest(%s::text[], %s::text[], %s::int[], %s::bigint[], %s::text[], %s::timestamptz[])
                ON CONFLICT (stream_type, stream_id) DO UPDATE
                   SET version = EXCLUDED.version, last_position = EXCLUDED.last_position,
                       last_event_type = EXCLUDED.last_event_type, updated_at = EXCLUDED.updated_at
                """,
                [[k[0] for k in keys], [k[1] for k in keys], [heads[k].version for k in keys],
                 [heads[k].position for k in keys], [heads[k].event_type for k in keys],
                 [heads[k].recorded_at for k in keys]],
            )

    def reset(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM ledger_stream_state")


_projectors: dict[str, Projector] = {}


def register(projector: Projector) -> None:
    _projectors[projector.name] = projector


def registered() -> list[Projector]:
    return list(_projectors.values())


register(BalanceProjector())
register(StreamStateProjector())


def apply_in_transaction(events: Sequence[RecordedEvent]) -> None:
    for projector in _projectors.values():
        projector.apply(events)
    _save_checkpoints(list(_projectors), events[-1].position)


def _save_checkpoints(names: list[str], position: int) -> None:
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO ledger_projection_checkpoint (name, position)
            SELECT unnest(%s::text[]), %s
            ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position
            """,
            [names, position],
        )


def rebuild(batch_size: int = 5000, progress: Callable[[int], None] | None = None) -> int:
    """Reset every projector and replay the whole log through the same `apply` code live appends use.

    Runs under the append lock in the caller's transaction, so no append interleaves with the replay.
    Returns the number of events replayed.
    """
    from .store import LEDGER_LOCK, iter_all  # the store imports this module; import at call time

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LEDGER_LOCK])
    for projector in _projectors.values():
        projector.reset()
    replayed = 0
    last_position = 0
    for batch in iter_all(batch_size=batch_size):
        for projector in _projectors.values():
            projector.apply(batch)
        replayed += len(batch)
        last_position = batch[-1].position
        if progress:
            progress(len(batch))
    _save_checkpoints(list(_projectors), last_position)
    return replayed

