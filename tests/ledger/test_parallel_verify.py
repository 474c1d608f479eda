"""verify_ledger with several worker processes: the same answer as one walk, whatever breaks and wherever.

The workers are forked processes with their own connections, so they only see committed events: these tests
use `committed_db`, append their own events at the end of the shared test log, and put back every row they
tamper with, however the test ends.
"""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from ledger import store
from ledger import verify as verify_module
from ledger.verify import verify

from tests.conftest import ROOT

from .factories import ACTOR, transfer

CHUNK = 6
EVENTS = 6 * CHUNK


@pytest.fixture
def first_position(committed_db, unique) -> int:
    """Position of the first of EVENTS consecutive committed events; every third one has no postings."""
    events = [store.NewEvent("note_added", {"i": i}) if i % 3 == 2
              else transfer("shares_received", f"custody:alpaca:{unique}", f"equity:{unique}", str(i + 1))
              for i in range(EVENTS)]
    return store.append("journal", f"parallel-{unique}", events, metadata=ACTOR).events[0].position


def _as_superuser(sql: str, params: list) -> None:
    """Switch the guard off, run one statement, switch the guard back on: committed, as a superuser could."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_immutable")
        try:
            cursor.execute(sql, params)
        finally:
            cursor.execute("ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_immutable")


@contextmanager
def _edited(position: int, column: str, value: str):
    """One event's column edited, and the original put back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {column}::text FROM ledger_event WHERE position = %s", [position])
        original = cursor.fetchone()[0]
    _as_superuser(f"UPDATE ledger_event SET {column} = %s WHERE position = %s", [value, position])
    try:
        yield
    finally:
        _as_superuser(f"UPDATE ledger_event SET {column} = %s WHERE position = %s", [original, position])


@contextmanager
def _removed(position: int):
    """One event without postings deleted, and inserted back afterwards."""
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMP TABLE removed_event AS SELECT * FROM ledger_event WHERE position = %s", [position])
    _as_superuser("DELETE FROM ledger_event WHERE position = %s", [position])
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("INSERT INTO ledger_event SELECT * FROM removed_event")
            cursor.execute("DROP TABLE removed_event")


def _both_ways(from_position: int):
    """verify() by one walk and by two workers over chunks of CHUNK events; the chunk sizes the workers reported."""
    one = verify(from_position)
    reported: list[int] = []
    several = verify(from_position, workers=2, chunk_events=CHUNK, progress=reported.append)
    return one, several, reported


def test_workers_give_the_result_of_one_walk_over_the_whole_log(first_position):
    head = store.head_position()
    chunk = max(head // 4, 1)
    one = verify()
    reported: list[int] = []
    several = verify(workers=2, chunk_events=chunk, progress=reported.append)

    assert one.ok and one.balances_checked and one.last_position == head
    assert several == one
    assert len(reported) >= 4 and sum(reported) == head  # walked in chunks, every event once


def test_workers_leave_the_callers_connection_as_it_was(first_position):
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        before = cursor.fetchone()[0]
    _, several, reported = _both_ways(first_position)
    assert several.ok and len(reported) == EVENTS // CHUNK
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        assert cursor.fetchone()[0] == before


@pytest.mark.parametrize("offset", [0, CHUNK, CHUNK + 2, 2 * CHUNK - 1, EVENTS - 1],
                         ids=["first-event", "first-of-a-chunk", "inside-a-chunk", "last-of-a-chunk", "last-event"])
def test_an_edited_payload_is_named_at_its_position_by_workers_as_by_one_walk(first_position, offset):
    bad = first_position + offset
    with _edited(bad, "payload", '{"i": 999}'):
        one, several, _ = _both_ways(first_position)
    assert not one.ok and one.bad_position == bad and one.problem.startswith("hash mismatch")
    assert several == one


def test_a_broken_link_between_two_chunks_is_found(first_position):
    bad = first_position + 2 * CHUNK
    with _edited(bad, "prev_hash", "0" * 64):
        one, several, _ = _both_ways(first_position)
    assert not one.ok and one.bad_position == bad and "does not link" in one.problem
    assert several == one


@pytest.mark.parametrize("offset", [CHUNK - 1, CHUNK + 2], ids=["last-of-a-chunk", "inside-a-chunk"])
def test_a_removed_event_is_a_gap_found_by_workers_as_by_one_walk(first_position, offset):
    missing = first_position + offset
    assert offset % 3 == 2  # an event without postings: nothing else refers to it
    with _removed(missing):
        one, several, _ = _both_ways(first_position)
    assert not one.ok and one.problem == f"gap in positions: expected {missing}, found {missing + 1}"
    assert several == one
    assert verify(first_position, workers=2, chunk_events=CHUNK).ok  # put back: intact again


def test_inside_a_transaction_verify_walks_alone_and_sees_what_is_not_yet_committed(committed_db, unique):
    with transaction.atomic():
        uncommitted = store.append("journal", f"uncommitted-{unique}",
                                   [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "1")] * 3,
                                   metadata=ACTOR).events
        result = verify(uncommitted[0].position - 2 * CHUNK, workers=2, chunk_events=CHUNK)
        transaction.set_rollback(True)
    assert result.ok and result.last_position == uncommitted[-1].position


def test_verify_ledger_command_uses_workers_and_refuses_zero(first_position):
    out = io.StringIO()
    call_command("verify_ledger", "--no-progress", "--workers", "2", stdout=out)
    assert out.getvalue().startswith("ledger OK")
    with pytest.raises(CommandError, match="--workers must be at least 1"):
        call_command("verify_ledger", "--no-progress", "--workers", "0")


_walk_chunk = verify_module._walk_chunk
_doomed_chunk_start = None


def _dies_on_the_doomed_chunk(chunk: tuple[int, int]):
    """Stands in for verify's chunk walker in the forked workers (patched in before they fork)."""
    if chunk[0] == _doomed_chunk_start:
        os.kill(os.getpid(), signal.SIGKILL)
    return _walk_chunk(chunk)


def test_a_worker_that_dies_fails_the_command_instead_of_hanging_it(first_position, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "_doomed_chunk_start", first_position + CHUNK)
    monkeypatch.setattr(verify_module, "_walk_chunk", _dies_on_the_doomed_chunk)
    monkeypatch.setattr(verify_module, "CHUNK_EVENTS", CHUNK)
    with pytest.raises(CommandError, match="verify NOT completed, nothing concluded about the ledger: a worker"):
        call_command("verify_ledger", "--no-progress", "--workers", "2", "--from", str(first_position))
    monkeypatch.undo()
    assert verify(first_position, workers=2, chunk_events=CHUNK).ok  # the next run, with healthy workers


APPENDER = r"""
import sys, time
import django
django.setup()
from decimal import Decimal
from ledger import store
from ledger.store import NewEvent, Posting
tag, deadline = sys.argv[1], time.time() + 60
started = False
while time.time() < deadline:
    store.append("journal", f"busy-{tag}", [NewEvent("shares_received", {"qty": "1"},
                 [Posting(f"custody:alpaca:{tag}", "AAPL", Decimal(1)), Posting(f"equity:{tag}", "AAPL", Decimal(-1))])],
                 metadata={"actor": "system:test-appender"})
    if not started:  # only once an append has committed: a slow start must not pass for a quiet log
        print("started", flush=True)
        started = True
"""


def test_workers_verify_while_another_process_appends(first_position, subprocess_env, unique):
    """Positions are handed out in commit order, so every chunk up to the head verify read at its start is
    already committed when a worker reads it, however many appends commit meanwhile."""
    appender = subprocess.Popen([sys.executable, "-c", APPENDER, unique], env=subprocess_env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        if appender.stdout.readline().strip() != "started":
            appender.kill()
            pytest.fail(f"the appender did not commit an append: {appender.communicate()[1][-2000:]}")
        head_before = store.head_position()
        results = [verify(first_position, workers=2, chunk_events=CHUNK) for _ in range(3)]
        deadline = time.monotonic() + 30
        while results[-1].last_position == results[0].last_position and time.monotonic() < deadline:
            results.append(verify(first_position, workers=2, chunk_events=CHUNK))  # a loaded machine: walk again
    finally:
        appender.kill()
        appender.communicate()
    assert all(result.ok for result in results), [result.summary() for result in results]
    assert results[0].last_position >= head_before
    assert results[-1].last_position > results[0].last_position
