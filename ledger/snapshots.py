"""Balance snapshots: an account's balance over every posting up to a log position.

Point-in-time reads (ledger/balances.py) start from the nearest snapshot, so their cost is bounded by the
postings since it rather than by the account's history. A follower takes them: at every SNAPSHOT_EVERY
positions of the log (a boundary), each account with at least SNAPSHOT_MIN_POSTINGS postings since its
previous snapshot gets a new one. A read then walks at most about SNAPSHOT_MIN_POSTINGS + SNAPSHOT_EVERY
postings, plus whatever was appended since the follower last ran (the beat runs it every minute; a read can
also walk back from the current balance, which is exact at any time).

The log is append-only and positions are handed out in commit order, so a snapshot at a boundary below the
head never goes stale. Each boundary is one transaction that writes its snapshots and moves the checkpoint,
under a row lock: a crash or a second runner can neither skip a boundary nor write one twice.
"""
from __future__ import annotations

from django.db import connection, transaction

SNAPSHOT_EVERY = 1000
SNAPSHOT_MIN_POSTINGS = 100
CHECKPOINT = "ledger.balance_snapshots"  # a row of ledger_projection_checkpoint

_SNAPSHOT_BOUNDARY = """
INSERT INTO ledger_balance_snapshot (account, asset, position, balance)
SELECT t.account, t.asset, %(boundary)s, coalesce(s.balance, 0) + since.total
  FROM (SELECT DISTINCT p.account, p.asset FROM ledger_posting p
         WHERE p.event_position > %(done)s AND p.event_position <= %(boundary)s) t
  LEFT JOIN LATERAL (SELECT x.position, x.balance FROM ledger_balance_snapshot x
                      WHERE x.account = t.account AND x.asset = t.asset
                      ORDER BY x.position DESC LIMIT 1) s ON true
 CROSS JOIN LATERAL (SELECT count(*) AS n, coalesce(sum(p.amount), 0) AS total FROM ledger_posting p
                      WHERE p.account = t.account AND p.asset = t.asset
                        AND p.event_position > coalesce(s.position, 0) AND p.event_position <= %(boundary)s) since
 WHERE since.n >= %(min_postings)s
"""


def take_snapshots(*, every: int = SNAPSHOT_EVERY, min_postings: int = SNAPSHOT_MIN_POSTINGS) -> int:
    """Take the snapshots of every boundary the log has passed since the last run. Returns how many."""
    written = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO ledger_projection_checkpoint (name, position) VALUES (%s, 0)"
                           " ON CONFLICT (name) DO NOTHING", [CHECKPOINT])
            cursor.execute("SELECT position FROM ledger_projection_checkpoint WHERE name = %s FOR UPDATE", [CHECKPOINT])
            done = cursor.fetchone()[0]
            boundary = (done // every + 1) * every
            cursor.execute("SELECT coalesce(max(position), 0) FROM ledger_event")
            if boundary > cursor.fetchone()[0]:
                return written
            cursor.execute(_SNAPSHOT_BOUNDARY, {"done": done, "boundary": boundary, "min_postings": min_postings})
            written += cursor.rowcount
            cursor.execute("UPDATE ledger_projection_checkpoint SET position = %s WHERE name = %s", [boundary, CHECKPOINT])
