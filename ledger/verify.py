"""Recompute the hash chain and check every stored invariant, from the database alone."""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection, transaction

from . import canonical, cycle_collector
from .log_scan import scan

# (table, trigger) pairs installed by migrations/0002_database_invariants.py; keep the two in sync.
REQUIRED_TRIGGERS = frozenset({
    ("ledger_event", "ledger_event_immutable"),
    ("ledger_event", "ledger_event_no_truncate"),
    ("ledger_posting", "ledger_posting_immutable"),
    ("ledger_posting", "ledger_posting_no_truncate"),
    ("ledger_posting", "ledger_posting_balanced"),
    ("ledger_idempotency", "ledger_idempotency_immutable"),
    ("ledger_idempotency", "ledger_idempotency_no_truncate"),
})


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    events_checked: int
    first_position: int | None
    last_position: int | None
    head_hash: str | None
    bad_position: int | None = None
    problem: str | None = None
    snapshots_checked: int | None = None  # None: not checked (a run that does not start at position 1)
    balances_checked: int | None = None  # None: not checked (a run that does not cover the whole log)

    def summary(self) -> str:
        if self.ok:
            if not self.events_checked:
                return "ledger OK: no events in range; immutability triggers installed"
            snapshots = ("" if self.snapshots_checked is None
                         else "; no balance snapshots yet" if self.snapshots_checked == 0
                         else f"; {self.snapshots_checked} balance snapshots match their postings")
            balances = ("" if self.balances_checked is None
                        else f"; {self.balances_checked} current balances match their postings")
            return (f"ledger OK: {self.events_checked} events verified, positions {self.first_position}.."
                    f"{self.last_position}, head hash {self.head_hash}; immutability triggers installed"
                    f"{snapshots}{balances}")
        where = f" at position {self.bad_position}" if self.bad_position is not None else ""
        return f"ledger BROKEN{where}: {self.problem}"


def missing_triggers() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND t.tgenabled IN ('O', 'A')"
        )
        installed = set(cursor.fetchall())
    return sorted(f"{table}.{name}" for table, name in REQUIRED_TRIGGERS - installed)


def verify(from_position: int = 1, to_position: int | None = None,
           progress: Callable[[int], None] | None = None) -> VerifyResult:
    """Walk the log in order: positions contiguous, prev_hash links, hash recomputed, postings balanced per
    asset and stamped with their event's times. Stops at the first bad position. A run from position 1 also
    checks every balance snapshot up to the last verified position against the postings, and a run over the
    whole log (no `to_position`) every current balance."""
    missing = missing_triggers()
    if missing:
        return VerifyResult(False, 0, None, None, None, None, f"immutability triggers missing or disabled: {', '.join(missing)}")
    from_position = max(from_position, 1)
    checked = 0
    first = last = None
    head_hash = None
    with transaction.atomic(), cycle_collector.paused():
        with connection.cursor() as cursor:
            cursor.execute("SELECT hash FROM ledger_event WHERE position = %s", [from_position - 1])
            row = cursor.fetchone()
        expected_prev = row[0] if row else (canonical.GENESIS_HASH if from_position == 1 else None)
        if expected_prev is None:
            return VerifyResult(False, 0, None, None, None, from_position - 1, "event before the range is missing")
        expected_position = from_position
        for event in scan(from_position, to_position):
            problem = _check(event, expected_position, expected_prev)
            if problem:
                return VerifyResult(False, checked, first, last, head_hash, event.position, problem)
            first = first or event.position
            last = event.position
            head_hash = expected_prev = event.hash
            expected_position += 1
            checked += 1
            if progress and checked % 10000 == 0:
                progress(10000)
        if from_position > 1 or last is None:
            return VerifyResult(True, checked, first, last, head_hash)
        snapshots, position, problem = _check_snapshots(last)
        if problem:
            return VerifyResult(False, checked, first, last, head_hash, position, problem)
        if to_position is not None:
            return VerifyResult(True, checked, first, last, head_hash, snapshots_checked=snapshots)
        balances, problem = _check_balances()
        if problem:
            return VerifyResult(False, checked, first, last, head_hash, None, problem, snapshots)
        return VerifyResult(True, checked, first, last, head_hash, snapshots_checked=snapshots, balances_checked=balances)


# Snapshots are derived data, but point-in-time reads start from them (ledger/balances.py): a wrong one would
# make "what did we know at T" wrong while the chain verifies. Each snapshot must equal the account's previous
# snapshot plus the postings between the two, so one pass reads each posting up to the last snapshot once.
# One statement returns how many were checked and the first wrong one (its columns NULL when none is).
_CHECK_SNAPSHOTS = """
WITH checked AS (
    SELECT s.position, s.account, s.asset, s.balance,
           s.prev_balance + coalesce((SELECT sum(p.amount) FROM ledger_posting p
                                       WHERE p.account = s.account AND p.asset = s.asset
                                         AND p.event_position > s.prev_position
                                         AND p.event_position <= s.position), 0) AS expected
      FROM (SELECT account, asset, position, balance,
                   lag(position, 1, 0::bigint) OVER w AS prev_position,
                   lag(balance, 1, 0::numeric) OVER w AS prev_balance
              FROM ledger_balance_snapshot WHERE position <= %s
            WINDOW w AS (PARTITION BY account, asset ORDER BY position)) s
)
SELECT (SELECT count(*) FROM checked), wrong.*
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT c.position, c.account, c.asset, c.balance, c.expected FROM checked c
                      WHERE c.balance <> c.expected
                      ORDER BY c.position, c.account, c.asset LIMIT 1) wrong ON true
"""


def _check_snapshots(through: int) -> tuple[int, int | None, str | None]:
    """(snapshots checked, then the position of the first wrong one and what is wrong with it, or None)."""
    with connection.cursor() as cursor:
        cursor.execute(_CHECK_SNAPSHOTS, [through])
        checked, position, account, asset, stored, expected = cursor.fetchone()
    if position is None:
        return checked, None, None
    return checked, position, (f"balance snapshot of {account} in {asset} says {canonical.decimal_str(stored)},"
                               f" its postings sum to {canonical.decimal_str(expected)}")


# The partner API, the console and the corporate-action runs read current balances from this projection,
# which is derived data any connection allowed to write could edit: a wrong balance would show a figure the
# postings never said (reconciliation sums the postings itself). Every balance must equal the sum of its
# account's postings, and every account with postings must have one. One statement is one snapshot, and
# appends move the projection in the same transaction as the postings, so none can fall between the two.
_CHECK_BALANCES = """
WITH compared AS (
    SELECT coalesce(s.account, b.account) AS account, coalesce(s.asset, b.asset) AS asset,
           b.balance AS stored, s.total AS expected
      FROM (SELECT account, asset, sum(amount) AS total FROM ledger_posting GROUP BY account, asset) s
      FULL JOIN ledger_account_balance b ON b.account = s.account AND b.asset = s.asset
)
SELECT (SELECT count(*) FROM compared), wrong.*
  FROM (SELECT 1) one
  LEFT JOIN LATERAL (SELECT c.account, c.asset, c.stored, c.expected FROM compared c
                      WHERE c.stored IS DISTINCT FROM c.expected
                      ORDER BY c.account, c.asset LIMIT 1) wrong ON true
"""


def _check_balances() -> tuple[int, str | None]:
    """(current balances checked, what is wrong with the first wrong one or None)."""
    with connection.cursor() as cursor:
        cursor.execute(_CHECK_BALANCES)
        checked, account, asset, stored, expected = cursor.fetchone()
    if account is None:
        return checked, None
    if stored is None:
        return checked, f"no current balance for {account} in {asset}, whose postings sum to {canonical.decimal_str(expected)}"
    if expected is None:
        return checked, f"current balance of {account} in {asset} says {canonical.decimal_str(stored)}, but it has no postings"
    return checked, (f"current balance of {account} in {asset} says {canonical.decimal_str(stored)},"
                     f" its postings sum to {canonical.decimal_str(expected)}")


def _check(event, expected_position: int, expected_prev: str) -> str | None:
    if event.position != expected_position:
        return f"gap in positions: expected {expected_position}, found {event.position}"
    if event.prev_hash != expected_prev:
        return f"prev_hash {event.prev_hash} does not link to the previous event's hash {expected_prev}"
    recomputed = canonical.event_hash_from_parts(
        position=event.position, stream_type=event.stream_type, stream_id=event.stream_id, version=event.version,
        event_type=event.event_type, schema_version=event.schema_version,
        payload_json=canonical.dumps(canonical.loads(event.payload_json)),
        metadata_json=canonical.dumps(canonical.loads(event.metadata_json)),
        recorded_at=event.recorded_at, effective_at=event.effective_at,
        postings_json=canonical.postings_json([(p.account, p.asset, p.amount) for p in event.postings]),
        prev_hash=event.prev_hash,
    )
    if recomputed != event.hash:
        return f"hash mismatch: stored {event.hash}, recomputed {recomputed} (event content was altered)"
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for leg in event.postings:
        totals[leg.asset] = canonical.EXACT.add(totals[leg.asset], Decimal(leg.amount))
        if leg.effective_at != event.effective_at or leg.recorded_at != event.recorded_at:
            return f"posting to {leg.account} carries times that differ from its event"
    for asset, total in totals.items():
        if total != 0:
            return f"postings do not balance in {asset}: sum {canonical.decimal_str(total)}"
    return None
