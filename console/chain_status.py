"""Answers "does the hash chain verify up to this event?" fast, by verifying only past a checkpoint.

Verifying a log of millions from position 1 on every page view would take minutes. The checkpoint remembers the
last position verified, its hash and when; later checks verify from there. Before trusting the checkpoint we
compare the hash stored at its position with the one remembered: if they differ, history was rewritten after
it was verified, and the checkpoint is dropped so the next check starts again from position 1.
The checkpoint vouches for the chain as it was when verified, and an event below it can be edited since
without touching the hash at the checkpoint. So the event asked about is always re-hashed from its stored
fields and postings, and it and its successor are checked to link to the stored hashes before them: two events.
A page view verifies at most INLINE_VERIFY_LIMIT events; beyond that it says so and leaves the work to
`console.tasks.verify_ledger_chain` (periodic) or `manage.py verify_ledger`.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from django.utils import timezone

from ledger.models import Event
from ledger.verify import verify

from .models import ChainCheckpoint

INLINE_VERIFY_LIMIT = 5_000  # about 150 ms of hashing


@dataclass(frozen=True)
class ChainStatus:
    verified_through: int  # every event up to here linked and hashed correctly at verified_at (0: nothing verified)
    verified_at: datetime | None
    broken_at: int | None = None
    problem: str | None = None
    events_checked: int = 0  # by this call (the rest was covered by the checkpoint)
    altered: bool = False  # the event asked about, re-hashed now, no longer matches the chain the checkpoint verified

    def covers(self, position: int) -> bool:
        return self.problem is None and position <= self.verified_through


def current_checkpoint() -> ChainCheckpoint | None:
    """The checkpoint if the ledger still carries the hash it remembers; dropped otherwise."""
    checkpoint = ChainCheckpoint.objects.filter(pk=1).first()
    if checkpoint is None:
        return None
    stored = Event.objects.filter(position=checkpoint.position).values_list("hash", flat=True).first()
    if stored != checkpoint.hash:
        ChainCheckpoint.objects.filter(pk=1, hash=checkpoint.hash).delete()
        return None
    return checkpoint


def verify_through(position: int, *, limit: int | None = INLINE_VERIFY_LIMIT) -> ChainStatus:
    """Verify the chain up to `position` (or as far as `limit` events past the checkpoint allow)."""
    checkpoint = current_checkpoint()
    start = checkpoint.position + 1 if checkpoint else 1
    if checkpoint and checkpoint.position >= position:
        return _recheck(position, checkpoint)
    target = position if limit is None else min(position, start - 1 + limit)
    result = verify(from_position=start, to_position=target)
    if not result.ok:
        verified = result.last_position or (checkpoint.position if checkpoint else 0)
        return ChainStatus(verified, checkpoint.verified_at if checkpoint else None, result.bad_position, result.problem,
                           result.events_checked)
    if result.last_position is None:  # nothing in range: the position does not exist (yet)
        return ChainStatus(checkpoint.position if checkpoint else 0, checkpoint.verified_at if checkpoint else None)
    verified_at = timezone.now()
    _advance(result.last_position, result.head_hash, verified_at)
    return ChainStatus(result.last_position, verified_at, events_checked=result.events_checked)


def _recheck(position: int, checkpoint: ChainCheckpoint) -> ChainStatus:
    """The checkpoint's verdict for `position`, once the event there and its successor's link to it are
    checked again against what is stored now (an edit that recomputed the event's own hash breaks that link)."""
    result = verify(from_position=position, to_position=position + 1)
    if result.ok:
        return ChainStatus(checkpoint.position, checkpoint.verified_at, events_checked=result.events_checked)
    return ChainStatus(checkpoint.position, checkpoint.verified_at, result.bad_position, result.problem,
                       result.events_checked, altered=result.bad_position in (position, position + 1))


def _advance(position: int, head_hash: str, verified_at: datetime) -> None:
    """Move the checkpoint forward only: concurrent verifiers may finish in any order."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO console_chain_checkpoint (id, position, hash, verified_at) VALUES (1, %s, %s, %s)
            ON CONFLICT (id) DO UPDATE SET position = EXCLUDED.position, hash = EXCLUDED.hash,
                                           verified_at = EXCLUDED.verified_at
             WHERE console_chain_checkpoint.position < EXCLUDED.position
            """,
            [position, head_hash, verified_at],
        )
