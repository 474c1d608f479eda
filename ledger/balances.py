"""Balance reads: current (from the projection); bi-temporal point-in-time, and summed for proofs (from the
postings).

`as_of` is valid time: "holdings on 2026-03-30" counts postings effective at or before it.
`known_at` is transaction time: "what the ledger said on 2026-03-31" ignores postings recorded later,
so corrections recorded afterwards do not rewrite what we knew then.

A point-in-time read costs about the same for an account with a million postings as for one with ten. It
never filters an account's whole history by effective time; it works with log positions, which order
postings by when they were recorded (recorded_at never goes backwards along positions):
- "known at T" is a prefix of the log: positions up to P_T, the last one recorded by T;
- the sum over a prefix, B(P), starts from the account's nearest snapshot at or before P
  (ledger/snapshots.py) or walks back from the current balance, whichever range is shorter;
- "as of A" then corrects B(P_A), the prefix recorded by A, with the legs recorded on the wrong side of A:
    - early legs, recorded by A but effective after it (effective_at > recorded_at): subtracted;
    - legs recorded after A (up to P_T) but effective by A: added. Those recorded within LATE_AFTER of A
      are a short walk by position; those recorded later than that are "late" (recorded LATE_AFTER or more
      after they took effect) and sit in a small partial index.
  Both partial indexes are defined in migration 0006 with the same predicates as the queries below.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import connection

from .canonical import normalize_decimal
from .models import AccountBalance

LATE_AFTER = timedelta(hours=1)  # = interval '1 hour' in the partial index ledger_posting_late (migration 0006)
LATE = "recorded_at - effective_at >= interval '1 hour'"
NOT_LATE = "recorded_at - effective_at < interval '1 hour'"
EARLY = "effective_at > recorded_at"


def balance(account: str, asset: str, *, as_of: datetime | None = None, known_at: datetime | None = None) -> Decimal:
    if as_of is None and known_at is None:
        row = AccountBalance.objects.filter(account=account, asset=asset).values_list("balance", flat=True).first()
        return normalize_decimal(row) if row else Decimal(0)
    with connection.cursor() as cursor:
        if as_of is None:
            (known,) = _last_positions_recorded_by(cursor, [known_at])
            total = _through(cursor, account, asset, known)
        else:
            known, by_as_of, near_as_of = _last_positions_recorded_by(cursor, [known_at, as_of, as_of + LATE_AFTER])
            total = _as_of(cursor, account, asset, as_of, known, min(by_as_of, known), min(near_as_of, known))
    return normalize_decimal(total) if total else Decimal(0)


def last_position_recorded_by(moment: datetime) -> int:
    """The last log position recorded at or before `moment` (0 if none): every leg at or below it was
    recorded by then, every leg above it later."""
    with connection.cursor() as cursor:
        return _last_positions_recorded_by(cursor, [moment])[0]


def _last_positions_recorded_by(cursor, moments: list[datetime | None]) -> tuple[int, ...]:
    """For each moment, the last position recorded by then (None: the head), in one statement. Each is one
    backward probe of the (recorded_at, position) index; a batch's events share one recorded_at."""
    columns = ["(SELECT coalesce(max(position), 0) FROM ledger_event)" if moment is None else
               """coalesce((SELECT e.position FROM ledger_event e WHERE e.recorded_at <= %s
                             ORDER BY e.recorded_at DESC, e.position DESC LIMIT 1), 0)"""
               for moment in moments]
    cursor.execute("SELECT " + ", ".join(columns), [moment for moment in moments if moment is not None])
    return tuple(cursor.fetchone())


def _through(cursor, account: str, asset: str, position: int) -> Decimal:
    """B(position): the sum of every posting of the account up to a log position."""
    cursor.execute(
        """
        SELECT s.position, s.balance, b.last_position
          FROM (SELECT 1) AS one
          LEFT JOIN LATERAL (SELECT x.position, x.balance FROM ledger_balance_snapshot x
                              WHERE x.account = %(account)s AND x.asset = %(asset)s AND x.position <= %(position)s
                              ORDER BY x.position DESC LIMIT 1) s ON true
          LEFT JOIN ledger_account_balance b ON b.account = %(account)s AND b.asset = %(asset)s
        """,
        {"account": account, "asset": asset, "position": position},
    )
    snapshot_position, snapshot_balance, last_position = cursor.fetchone()
    if last_position is None:
        return Decimal(0)  # no posting ever: the projection is written in every append's transaction
    start = snapshot_position or 0
    if position - start <= last_position - position:
        cursor.execute(
            "SELECT coalesce(sum(amount), 0) FROM ledger_posting"
            " WHERE account = %s AND asset = %s AND event_position > %s AND event_position <= %s",
            [account, asset, start, position],
        )
        return (snapshot_balance or Decimal(0)) + cursor.fetchone()[0]
    # Back from the current balance: one statement, so both parts see the same appends.
    cursor.execute(
        """
        SELECT b.balance - coalesce((SELECT sum(p.amount) FROM ledger_posting p
                                      WHERE p.account = b.account AND p.asset = b.asset
                                        AND p.event_position > %(position)s), 0)
          FROM ledger_account_balance b WHERE b.account = %(account)s AND b.asset = %(asset)s
        """,
        {"account": account, "asset": asset, "position": position},
    )
    return cursor.fetchone()[0]


def _as_of(cursor, account: str, asset: str, as_of: datetime, known: int, by_as_of: int, near_as_of: int) -> Decimal:
    """Postings up to position `known` effective by `as_of`, from B(by_as_of) and the legs on the wrong side."""
    base = _through(cursor, account, asset, by_as_of)
    cursor.execute(
        f"""
        SELECT (SELECT coalesce(sum(amount), 0) FROM ledger_posting
                 WHERE account = %(account)s AND asset = %(asset)s AND {EARLY}
                   AND event_position <= %(by_as_of)s AND effective_at > %(as_of)s),
               (SELECT coalesce(sum(amount), 0) FROM ledger_posting
                 WHERE account = %(account)s AND asset = %(asset)s AND {NOT_LATE}
                   AND event_position > %(by_as_of)s AND event_position <= %(near_as_of)s AND effective_at <= %(as_of)s),
               (SELECT coalesce(sum(amount), 0) FROM ledger_posting
                 WHERE account = %(account)s AND asset = %(asset)s AND {LATE}
                   AND event_position > %(by_as_of)s AND event_position <= %(known)s AND effective_at <= %(as_of)s)
        """,
        {"account": account, "asset": asset, "as_of": as_of, "by_as_of": by_as_of, "near_as_of": near_as_of,
         "known": known},
    )
    early, recorded_soon_after, recorded_late = cursor.fetchone()
    return base - early + recorded_soon_after + recorded_late


def summed_balances(prefixes: Sequence[str], *, as_of: datetime | None = None) -> list[tuple[str, str, Decimal]]:
    """Non-zero balances of every account under any of these path prefixes, summed from the postings
    themselves (immutable, hash-chained) rather than read from the projection, which is derived data a
    connection could edit: for proofs such as the nightly reconciliation. One statement, so one instant of the
    log; with `as_of`, only the postings effective by then. Costs one pass over the matching postings."""
    effective = "effective_at <= %s AND " if as_of is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT account, asset, sum(amount) FROM ledger_posting WHERE {effective}("
            + " OR ".join(["starts_with(account, %s)"] * len(prefixes)) + ") GROUP BY account, asset HAVING sum(amount) <> 0",
            [*([as_of] if as_of is not None else []), *prefixes],
        )
        return [(account, asset, normalize_decimal(amount)) for account, asset, amount in cursor.fetchall()]


def balances_with_prefix(prefix: str, asset: str | None = None) -> dict[tuple[str, str], Decimal]:
    """Current balances of every account under a path prefix, e.g. "custody:alpaca-main:"."""
    rows = AccountBalance.objects.filter(account__startswith=prefix)
    if asset is not None:
        rows = rows.filter(asset=asset)
    return {(r.account, r.asset): normalize_decimal(r.balance) for r in rows if r.balance != 0}
