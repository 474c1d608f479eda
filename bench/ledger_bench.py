"""Ledger write and read paths, measured in one run against a throwaway database.

    .venv/bin/python bench/ledger_bench.py [--log-events 1000000]

Prints: batch append (hash chain + postings + projections) vs raw COPY of the same rows into plain tables,
and the ceiling any append that keeps the ledger's tables has (the same rows COPYed into tables with their
indexes, constraints and balance trigger); single appends each in its own durable transaction (rate, p50,
p99), read against the cheapest durable transaction on the same connection (a one-row INSERT in
autocommit); verify_ledger and rebuild_projections rates over a log of --log-events events; the balance
snapshot follower catching up over it; balance read latency at that size, also for the one account every
event posts to.
"""
from __future__ import annotations

import argparse
import statistics
import time
import uuid
from decimal import Decimal
from pathlib import Path

from _benchdb import bench_database

EVENTS_PER_BATCH = 5000
POSTING_COLUMNS = "event_position, seq, account, asset, amount, effective_at, recorded_at"  # all but the surrogate id


def make_batch(tag: str, count: int, start: int):
    from ledger.store import NewEvent, Posting, StreamAppend

    appends = []
    for i in range(start, start + count):
        qty = Decimal(i % 997 + 1) / 4
        appends.append(StreamAppend("journal", f"{tag}-{i}", [NewEvent(
            "shares_received", {"qty": qty, "symbol": "AAPL", "broker_activity_id": f"act-{tag}-{i}"},
            [Posting(f"custody:alpaca-main:S{i % 500}", "AAPL", qty), Posting("equity:issued:AAPL", "AAPL", qty.copy_negate())],
        )]))
    return appends


def bench_batch_vs_copy(n: int) -> tuple[float, float, float]:
    """Events/s of: our batch append; raw COPY of the same rows into plain tables (the issue's yardstick);
    COPY of the same rows into tables shaped like the ledger's own (same indexes, constraints and balance
    trigger, holding what the ledger held before; no validation, hashing or projections). The third is a
    ceiling: no append path that keeps these tables can beat it, whatever it does in Python."""
    from django.db import connection

    from ledger import store

    meta = {"actor": "system:bench"}
    batches = [make_batch(uuid.uuid4().hex[:8], EVENTS_PER_BATCH, k * EVENTS_PER_BATCH) for k in range(n // EVENTS_PER_BATCH)]
    start = time.perf_counter()
    for batch in batches:
        store.append_many(batch, metadata=meta)
    ours = n / (time.perf_counter() - start)

    with connection.cursor() as cursor:
        cursor.execute("SELECT position, stream_type, stream_id, version, event_type, schema_version, payload::text,"
                       " metadata::text, recorded_at, effective_at, prev_hash, hash FROM ledger_event ORDER BY position DESC LIMIT %s", [n])
        event_rows = cursor.fetchall()[::-1]
        cursor.execute(f"SELECT {POSTING_COLUMNS} FROM ledger_posting WHERE event_position >= %s ORDER BY event_position, seq",
                       [event_rows[0][0]])
        posting_rows = cursor.fetchall()
        # Plain logged tables with the same columns and no indexes, constraints or triggers.
        cursor.execute("CREATE TABLE raw_event (LIKE ledger_event)")
        cursor.execute("CREATE TABLE raw_posting (LIKE ledger_posting INCLUDING DEFAULTS INCLUDING IDENTITY)")
        # The ledger's shape. The balance trigger finds these positions, with the same times, in ledger_event.
        cursor.execute("CREATE TABLE shaped_event (LIKE ledger_event INCLUDING ALL)")
        cursor.execute("CREATE TABLE shaped_posting (LIKE ledger_posting INCLUDING ALL)")
        cursor.execute("CREATE TRIGGER shaped_posting_balanced AFTER INSERT ON shaped_posting REFERENCING NEW TABLE AS"
                       " new_postings FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_balanced()")
        # Holding what the ledger held before the batches, so their indexes are as deep as the ledger's were.
        cursor.execute("INSERT INTO shaped_event SELECT * FROM ledger_event WHERE position < %s", [event_rows[0][0]])
        cursor.execute(f"INSERT INTO shaped_posting ({POSTING_COLUMNS}) SELECT {POSTING_COLUMNS} FROM ledger_posting"
                       " WHERE event_position < %s", [event_rows[0][0]])
    raw = n / copy_rows_seconds("raw_event", "raw_posting", event_rows, posting_rows)
    shaped = n / copy_rows_seconds("shaped_event", "shaped_posting", event_rows, posting_rows)
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE raw_event, raw_posting, shaped_event, shaped_posting")
    return ours, raw, shaped


def copy_rows_seconds(event_table: str, posting_table: str, event_rows: list[tuple], posting_rows: list[tuple]) -> float:
    """COPY the rows in transactions of EVENTS_PER_BATCH events and their postings, as the append does."""
    from django.db import connection, transaction

    postings_by_event: dict[int, list[tuple]] = {}
    for row in posting_rows:
        postings_by_event.setdefault(row[0], []).append(row)
    start = time.perf_counter()
    for k in range(0, len(event_rows), EVENTS_PER_BATCH):
        chunk = event_rows[k:k + EVENTS_PER_BATCH]
        with transaction.atomic(), connection.cursor() as cursor:
            with cursor.cursor.copy(f"COPY {event_table} FROM STDIN") as copy:
                for row in chunk:
                    copy.write_row(row)
            with cursor.cursor.copy(f"COPY {posting_table} ({POSTING_COLUMNS}) FROM STDIN") as copy:
                for row in chunk:
                    for leg in postings_by_event.get(row[0], ()):
                        copy.write_row(leg)
    return time.perf_counter() - start


def p99_ms(seconds: list[float]) -> float:
    return sorted(seconds)[int(len(seconds) * 0.99) - 1] * 1000


def bench_single_appends(n: int) -> tuple[float, float, float]:
    from ledger import store
    from ledger.store import NewEvent, Posting

    tag = uuid.uuid4().hex[:8]
    latencies = []
    start = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        store.append("journal", f"single-{tag}-{i % 50}", [NewEvent(
            "shares_received", {"qty": "1", "n": i},
            [Posting("custody:alpaca-main:AAPL", "AAPL", Decimal(1)), Posting("equity:issued:AAPL", "AAPL", Decimal(-1))],
        )], metadata={"actor": "system:bench"})
        latencies.append(time.perf_counter() - t0)
    rate = n / (time.perf_counter() - start)
    latencies.sort()
    return rate, statistics.median(latencies) * 1000, latencies[int(len(latencies) * 0.99) - 1] * 1000


def bench_durable_floor(n: int) -> float:
    """The cheapest durable transaction on this machine and connection: one single-row INSERT in autocommit
    (one round trip, one WAL flush). What no append can beat; the single-append rate is read against it."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE floor_probe (id bigserial PRIMARY KEY, note text NOT NULL)")
        start = time.perf_counter()
        for _ in range(n):
            cursor.execute("INSERT INTO floor_probe (note) VALUES ('x')")
        rate = n / (time.perf_counter() - start)
        cursor.execute("DROP TABLE floor_probe")
    return rate


CONCURRENT_WRITER = """
import sys, time
import django
django.setup()
from decimal import Decimal
from ledger import store
from ledger.store import NewEvent, Posting
n, start_at, tag = int(sys.argv[1]), float(sys.argv[2]), sys.argv[3]
while time.time() < start_at:
    time.sleep(0.001)
for i in range(n):
    store.append("journal", f"{tag}-{i % 20}", [NewEvent("shares_received", {"qty": "1"},
                 [Posting("custody:alpaca-main:AAPL", "AAPL", Decimal(1)), Posting("equity:issued:AAPL", "AAPL", Decimal(-1))])],
                 metadata={"actor": "system:bench"})
"""


def bench_concurrent_appends(processes: int, per_process: int) -> float:
    """Aggregate single-append rate with several writer processes: the ceiling the append lock sets."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    start_at = time.time() + 3
    procs = [subprocess.Popen([sys.executable, "-c", CONCURRENT_WRITER, str(per_process), str(start_at),
                               f"conc-{uuid.uuid4().hex[:6]}"], env=env) for _ in range(processes)]
    for proc in procs:
        if proc.wait() != 0:
            raise SystemExit("a concurrent writer failed")
    return processes * per_process / (time.time() - start_at)


def grow_log_to(target: int) -> None:
    from ledger import store

    tag = uuid.uuid4().hex[:8]
    have = store.head_position()
    while have < target:
        count = min(EVENTS_PER_BATCH, target - have)
        store.append_many(make_batch(tag, count, have), metadata={"actor": "system:bench"})
        have += count


def bench_verify_and_rebuild() -> tuple[int, int, float, float, float]:
    """Events verified; verify_ledger's rate with its default workers (one per usable core) and with one
    process; rebuild_projections' rate."""
    from django.db import transaction

    from ledger import projections
    from ledger.verify import usable_cores, verify

    rates = []
    for workers in (usable_cores(), 1):
        start = time.perf_counter()
        result = verify(workers=workers)
        rates.append(result.events_checked / (time.perf_counter() - start))
        assert result.ok, result.summary()
    start = time.perf_counter()
    with transaction.atomic():
        replayed = projections.rebuild()
    rebuild_rate = replayed / (time.perf_counter() - start)
    return result.events_checked, usable_cores(), rates[0], rates[1], rebuild_rate


def bench_balance_reads(samples: int = 500) -> tuple[float, float, int]:
    from datetime import UTC, datetime

    from django.db import connection

    from ledger.balances import balance

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_posting")
        postings = cursor.fetchone()[0]
    current, point_in_time = [], []
    now = datetime.now(UTC)
    for i in range(samples):
        t0 = time.perf_counter()
        balance(f"custody:alpaca-main:S{i % 500}", "AAPL")
        current.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        balance(f"custody:alpaca-main:S{i % 500}", "AAPL", as_of=now, known_at=now)
        point_in_time.append(time.perf_counter() - t0)
    return p99_ms(current), p99_ms(point_in_time), postings


def bench_snapshots() -> float:
    """The snapshot follower catching up over the whole log (events per second)."""
    from ledger.snapshots import take_snapshots
    from ledger.store import head_position

    start = time.perf_counter()
    take_snapshots()
    return head_position() / (time.perf_counter() - start)


def bench_busiest_account_reads(samples: int = 200) -> tuple[int, float, float]:
    """Point-in-time reads of the account every event posts to (equity:issued:AAPL), at moments spread over
    the log: "as known at T" and "as of T, as known at T". Every batch of the log shares one recorded time,
    so T is each sampled batch's; the log was written in about a minute, so "as of T, known now" would
    walk every leg recorded in the hour after T (all of them here; an hour of the account's traffic in life)."""
    import random

    from django.db import connection

    from ledger.balances import balance

    account = "equity:issued:AAPL"
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_posting WHERE account = %s", [account])
        legs = cursor.fetchone()[0]
        cursor.execute("SELECT DISTINCT recorded_at FROM ledger_event")
        moments = [row[0] for row in cursor.fetchall()]
    rng = random.Random(7)
    known, both = [], []
    for _ in range(samples):
        moment = rng.choice(moments)
        t0 = time.perf_counter()
        balance(account, "AAPL", known_at=moment)
        known.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        balance(account, "AAPL", as_of=moment, known_at=moment)
        both.append(time.perf_counter() - t0)
    return legs, p99_ms(known), p99_ms(both)


def machine_speed_ms() -> float:
    """How fast this machine's cores are right now (lower is faster): the best of three pure-Python loops.
    Printed so that figures from different days and machines can be read side by side."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        sum(range(10_000_000))
        best = min(best, time.perf_counter() - start)
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch-events", type=int, default=50_000)
    parser.add_argument("--single-appends", type=int, default=3_000)
    parser.add_argument("--log-events", type=int, default=1_000_000)
    args = parser.parse_args()
    print(f"machine speed: sum(range(10**7)) in {machine_speed_ms():.0f} ms (best of 3)")
    with bench_database("shareledger_bench_ledger"):
        ours, raw, shaped = bench_batch_vs_copy(args.batch_events)
        print(f"batch append (hash chain + postings + projections): {ours:,.0f} events/s; raw COPY of the same rows: "
              f"{raw:,.0f} events/s; ratio {ours / raw:.2f}x (target >= 0.5x)")
        print(f"  ceiling: COPY of the same rows into tables shaped like the ledger's (indexes, constraints, balance "
              f"trigger): {shaped:,.0f} events/s, {shaped / raw:.2f}x raw; the batch append reaches "
              f"{ours / shaped:.2f}x of that")
        rate, p50, p99 = bench_single_appends(args.single_appends)
        print(f"single appends, one durable transaction each: {rate:,.0f} events/s, p50 {p50:.2f} ms, p99 {p99:.2f} ms "
              f"(target >= 1,000/s, p99 < 10 ms)")
        floor = bench_durable_floor(args.single_appends)
        print(f"  floor: one-row INSERT, autocommit, same connection: {floor:,.0f} transactions/s; "
              f"a single append costs {floor / rate:.2f}x that")
        for writers in (2, 4):
            aggregate = bench_concurrent_appends(writers, args.single_appends // writers)
            print(f"single appends from {writers} concurrent writer processes: {aggregate:,.0f} events/s in total")
        grow_log_to(args.log_events)
        events, workers, verify_rate, one_process_rate, rebuild_rate = bench_verify_and_rebuild()
        print(f"verify_ledger over {events:,} events, {workers} worker processes (its default here): "
              f"{verify_rate:,.0f} events/s (target >= 50,000/s); one process: {one_process_rate:,.0f} events/s")
        print(f"rebuild_projections over {events:,} events: {rebuild_rate:,.0f} events/s (target >= 20,000/s)")
        print(f"snapshot follower catching up over the log: {bench_snapshots():,.0f} events/s")
        current_p99, pit_p99, postings = bench_balance_reads()
        print(f"balance read at {postings:,} postings: current p99 {current_p99:.3f} ms, point-in-time p99 {pit_p99:.3f} ms (target < 5 ms)")
        legs, known_p99, both_p99 = bench_busiest_account_reads()
        print(f"point-in-time reads of one account with {legs:,} postings: as known at T p99 {known_p99:.3f} ms, "
              f"as of T as known at T p99 {both_p99:.3f} ms (target < 5 ms)")


if __name__ == "__main__":
    main()
