"""Point-in-time balances read from snapshots and log positions: exact on every kind of leg (recorded soon
after it took effect, long after, or before), and bounded in cost however long the account's history."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings as django_settings
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ledger import store
from ledger.balances import LATE_AFTER, balance
from ledger.models import BalanceSnapshot, ProjectionCheckpoint
from ledger.snapshots import CHECKPOINT, take_snapshots
from ledger.store import NewEvent, Posting

from .factories import ACTOR, transfer
from .test_one_statement_append import index_tuples_read

pytestmark = pytest.mark.django_db

# Offsets of a leg's effective time from the moment it is recorded: None = effective when recorded.
OFFSETS = [None, timedelta(minutes=-5), timedelta(minutes=-59), timedelta(hours=-1, seconds=-1), timedelta(days=-3),
           timedelta(seconds=2), timedelta(days=2)]


def naive_balance(account: str, asset: str, as_of: datetime | None, known_at: datetime | None) -> Decimal:
    """The definition, summed over every posting of the account."""
    conditions, params = ["account = %s", "asset = %s"], [account, asset]
    if as_of is not None:
        conditions.append("effective_at <= %s")
        params.append(as_of)
    if known_at is not None:
        conditions.append("recorded_at <= %s")
        params.append(known_at)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(sum(amount), 0) FROM ledger_posting WHERE {' AND '.join(conditions)}", params)
        return cursor.fetchone()[0]


def snapshots_from_here(every: int) -> None:
    """Start the snapshot follower at the current head, so a test does not walk boundaries of other data."""
    head = store.head_position()
    ProjectionCheckpoint.objects.update_or_create(name=CHECKPOINT, defaults={"position": head - head % every})


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=st.lists(st.tuples(st.sampled_from(OFFSETS), st.integers(1, 9), st.booleans(), st.booleans()),
                      min_size=1, max_size=12))
def test_point_in_time_reads_equal_the_definition_for_every_kind_of_leg(steps):
    """Each step appends one leg pair whose effective time is before, at or after its recording (by less or
    more than the late window), and may let the snapshot follower run. Every read at every interesting
    moment (each leg's times, a microsecond either side, the late window after them) equals the sum over all
    postings."""
    account, counter = f"custody:pit-{uuid.uuid4().hex[:8]}:AAPL", f"equity:pit-{uuid.uuid4().hex[:8]}"
    snapshots_from_here(every=2)
    moments: set[datetime] = set()
    for offset, qty, negative, snapshot in steps:
        effective_at = datetime.now(UTC) + offset if offset is not None else None
        amount = str(-qty if negative else qty)
        recorded = store.append("journal", account, [transfer("adjusted", account, counter, amount,
                                                              effective_at=effective_at)], metadata=ACTOR).events[0]
        moments |= {recorded.recorded_at, recorded.effective_at, recorded.effective_at + LATE_AFTER,
                    recorded.recorded_at - LATE_AFTER}
        if snapshot:
            take_snapshots(every=2, min_postings=1)
    probes = sorted({m + d for m in moments for d in (timedelta(microseconds=-1), timedelta(0), timedelta(microseconds=1))})
    known = [None, *probes[:: max(1, len(probes) // 6)]]
    for as_of in [None, *probes]:
        for known_at in known:
            if as_of is None and known_at is None:
                continue
            for name in (account, counter):
                assert balance(name, "AAPL", as_of=as_of, known_at=known_at) == \
                    naive_balance(name, "AAPL", as_of, known_at), (name, as_of, known_at)


def test_the_follower_snapshots_busy_accounts_once_per_boundary_with_the_exact_balance(unique):
    busy, quiet = f"custody:busy-{unique}:AAPL", f"custody:quiet-{unique}:AAPL"
    snapshots_from_here(every=100)
    for _ in range(5):
        store.append("journal", unique, [transfer("adjusted", busy, f"equity:{unique}", "1.5") for _ in range(60)]
                     + [transfer("adjusted", quiet, f"equity:{unique}", "2")], metadata=ACTOR)

    written = take_snapshots(every=100, min_postings=50)

    rows = list(BalanceSnapshot.objects.filter(account__in=[busy, quiet, f"equity:{unique}"]).order_by("account", "position"))
    assert written >= len(rows) > 0
    assert {r.account for r in rows} == {busy, f"equity:{unique}"}  # the quiet account never reached 50 legs
    for row in rows:
        assert row.position % 100 == 0
        assert row.balance == _sum_through(row.account, row.position)
    assert take_snapshots(every=100, min_postings=50) == 0  # nothing new: a second run writes nothing
    head = store.head_position()
    assert ProjectionCheckpoint.objects.get(name=CHECKPOINT).position == head - head % 100


def _sum_through(account: str, position: int) -> Decimal:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(sum(amount), 0) FROM ledger_posting WHERE account = %s AND event_position <= %s",
                       [account, position])
        return cursor.fetchone()[0]


def test_a_read_deep_in_a_long_history_walks_a_few_hundred_postings_not_all_of_them(unique):
    """3,000 legs on one account: a read as known at the middle of its history starts from a snapshot."""
    account = f"chain:pit-{unique}:AAPLx:supply"
    snapshots_from_here(every=200)
    middle = None
    for batch in range(15):
        result = store.append("journal", f"{unique}-{batch}",
                              [transfer("minted", f"custody:pit-{unique}:AAPL", account, "1") for _ in range(200)],
                              metadata=ACTOR)
        if batch == 7:
            middle = result.events[-1].recorded_at
    take_snapshots(every=200, min_postings=50)

    before = index_tuples_read("ledger_posting_acct_pos")
    assert balance(account, "AAPL", as_of=middle, known_at=middle) == Decimal(-1600) == naive_balance(account, "AAPL", middle, middle)
    assert balance(account, "AAPL", known_at=middle - timedelta(microseconds=1)) == Decimal(-1400)
    assert balance(account, "AAPL", as_of=datetime.now(UTC)) == Decimal(-3000)
    read = index_tuples_read("ledger_posting_acct_pos") - before
    assert read < 3 * 200 + 50, f"{read} index entries read for three point-in-time reads"


def test_the_late_window_is_the_one_the_partial_index_holds():
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_expr(indpred, indrelid) FROM pg_index WHERE indexrelid = 'ledger_posting_late'::regclass")
        predicate = cursor.fetchone()[0]
        cursor.execute("SELECT %s::interval::text", [LATE_AFTER])
        window = cursor.fetchone()[0]
    assert f"'{window}'::interval" in predicate


def test_the_beat_takes_snapshots_every_minute():
    from ledger.tasks import take_balance_snapshots

    entry = next(e for e in django_settings.CELERY_BEAT_SCHEDULE.values() if e["task"] == "ledger.tasks.take_balance_snapshots")
    assert entry["schedule"] == 60
    snapshots_from_here(every=1000)
    assert take_balance_snapshots.apply().get() == {"snapshots": 0}


def test_verify_ledger_checks_every_snapshot_against_the_postings_and_names_a_wrong_one(unique):
    from ledger.verify import verify

    busy = f"custody:busy-{unique}:AAPL"
    snapshots_from_here(every=100)
    for _ in range(4):
        store.append("journal", unique, [transfer("adjusted", busy, f"equity:{unique}", "1.5") for _ in range(60)],
                     metadata=ACTOR)
    take_snapshots(every=100, min_postings=50)
    ours = list(BalanceSnapshot.objects.filter(account=busy).order_by("position"))
    assert len(ours) >= 2

    intact = verify()
    assert intact.ok and intact.snapshots_checked >= len(ours)
    assert f"{intact.snapshots_checked} balance snapshots match their postings" in intact.summary()
    assert verify(from_position=2).snapshots_checked is None  # a partial run does not vouch for them

    with connection.cursor() as cursor:  # derived data, not append-only: nothing but verify guards it
        cursor.execute("UPDATE ledger_balance_snapshot SET balance = balance + 0.5 WHERE account = %s AND position = %s",
                       [busy, ours[0].position])
    broken = verify()
    assert not broken.ok and broken.bad_position == ours[0].position  # the wrong one, not the next that builds on it
    stored = ours[0].balance + Decimal("0.5")
    assert broken.problem == (f"balance snapshot of {busy} in AAPL says {stored.normalize():f}, "
                              f"its postings sum to {ours[0].balance.normalize():f}")
    assert verify(to_position=ours[0].position - 1).ok  # a snapshot beyond the range is not read
