"""An append that is its own transaction and read by no app projector is one server-side statement in
autocommit. It must be exactly as durable, atomic and projected as an append inside a caller's transaction."""
from __future__ import annotations

from decimal import Decimal

import psycopg
import pytest
from django.db import DatabaseError, connection, transaction

from ledger import projections, store
from ledger.errors import ConcurrencyError
from ledger.models import Event
from ledger.store import NewEvent, Posting, StreamAppend

from ..conftest import database_url_from_settings, wait_until_an_append_waits
from .factories import ACTOR, transfer

pytestmark = pytest.mark.usefixtures("committed_db")


def read_elsewhere(sql: str, params: list) -> list[tuple]:
    """What another session sees: only committed rows."""
    with psycopg.connect(database_url_from_settings(), autocommit=True) as other:
        return other.execute(sql, params).fetchall()


def test_a_standalone_append_is_committed_when_it_returns(unique):
    result = store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "7")],
                          metadata=ACTOR)
    assert not connection.in_atomic_block
    assert read_elsewhere("SELECT position, hash FROM ledger_event WHERE stream_id = %s", [unique]) == [
        (result.first_position, result.events[0].hash)]
    assert read_elsewhere("SELECT balance FROM ledger_account_balance WHERE account = %s",
                          [f"custody:alpaca:{unique}"]) == [(Decimal("7"),)]


def test_an_append_inside_the_callers_transaction_rolls_back_with_it(unique):
    with pytest.raises(RuntimeError), transaction.atomic():
        store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "7")],
                     metadata=ACTOR)
        raise RuntimeError("the caller fails after the append")
    assert not Event.objects.filter(stream_id=unique).exists()
    assert read_elsewhere("SELECT 1 FROM ledger_account_balance WHERE account = %s", [f"custody:alpaca:{unique}"]) == []


def test_a_refused_standalone_append_writes_nothing_and_leaves_the_connection_usable(unique):
    store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "1")],
                 metadata=ACTOR)
    with pytest.raises(ConcurrencyError):
        store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "1")],
                     metadata=ACTOR, expected_version=0)
    assert Event.objects.filter(stream_id=unique).count() == 1
    store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "1")],
                 metadata=ACTOR, expected_version=1)
    assert Event.objects.filter(stream_id=unique).count() == 2


def test_projections_of_one_statement_appends_equal_the_log(unique):
    """Several streams, a stream twice in one append, legs that net to zero within an append: the balances and
    stream heads the append wrote from its own values are what the log says."""
    a, b = f"custody:alpaca:{unique}-a", f"custody:alpaca:{unique}-b"
    for i in range(5):
        store.append_many([
            StreamAppend("journal", f"{unique}-x", [
                transfer("shares_received", a, "equity:opening", f"{i}.5"),
                NewEvent("shares_moved", {"i": i}, [Posting(a, "AAPL", Decimal("-1")), Posting(b, "AAPL", Decimal("1")),
                                                    Posting(b, "USD", Decimal("2")), Posting(a, "USD", Decimal("-2"))]),
            ]),
            StreamAppend("journal", f"{unique}-y", [transfer("cash_received", b, "equity:opening", "3", asset="USD")]),
        ], metadata=ACTOR)
    with connection.cursor() as cursor:
        cursor.execute("SELECT account, asset, balance, last_position FROM ledger_account_balance"
                       " WHERE account IN (%s, %s) ORDER BY 1, 2", [a, b])
        live_balances = cursor.fetchall()
        cursor.execute("SELECT account, asset, sum(amount), max(event_position) FROM ledger_posting"
                       " WHERE account IN (%s, %s) GROUP BY 1, 2 ORDER BY 1, 2", [a, b])
        assert live_balances == cursor.fetchall()
        cursor.execute("SELECT stream_id, version, last_position, last_event_type, updated_at FROM ledger_stream_state"
                       " WHERE stream_id LIKE %s ORDER BY 1", [f"{unique}-%"])
        live_streams = cursor.fetchall()
        cursor.execute("SELECT DISTINCT ON (stream_id) stream_id, version, position, event_type, recorded_at FROM ledger_event"
                       " WHERE stream_id LIKE %s ORDER BY stream_id, version DESC", [f"{unique}-%"])
        assert live_streams == cursor.fetchall()
        cursor.execute("SELECT DISTINCT position FROM ledger_projection_checkpoint")
        assert cursor.fetchall() == [(store.head_position(),)]


def test_the_streams_app_projectors_read_are_known_to_the_store():
    readers = {stream_type for projector in projections._projectors.values() for stream_type in projector.stream_types}
    assert {"partner", "mint_request", "instrument", "reconciliation_run", "corporate_action"} <= readers
    assert projections.read_by_app_projector({"mint_request"})
    assert not projections.read_by_app_projector({"journal"})


def test_every_projector_reads_registered_streams_only():
    from corporate_actions.projections import HANDLERS, CorporateActionsProjector
    from issuance.projections import APPLIERS, IssuanceProjector
    from ledger.streams import stream_types

    assert CorporateActionsProjector.stream_types == frozenset(HANDLERS)
    assert IssuanceProjector.stream_types == frozenset(APPLIERS)
    for projector in projections._projectors.values():
        assert projector.stream_types <= set(stream_types()), projector.name


@pytest.mark.parametrize(("position_sql", "times_sql"), [
    ("(SELECT max(position) + 1000 FROM ledger_event)", "now(), now()"),  # no such event
    ("%s", "(SELECT effective_at - interval '1 day' FROM ledger_event WHERE position = %s), now()"),  # other times
])
def test_a_posting_without_its_event_or_with_other_times_is_refused(unique, position_sql, times_sql):
    """Balanced legs, so only the check that a leg belongs to its event (and carries its times) can refuse them."""
    recorded = store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "1")],
                            metadata=ACTOR)
    params = [recorded.first_position] * (position_sql.count("%s") + times_sql.count("%s"))
    with pytest.raises(DatabaseError, match="no such event or differs from its times"), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_posting (event_position, seq, account, asset, amount, effective_at, recorded_at)"
                f" SELECT {position_sql}, s, 'custody:alpaca:x', 'AAPL', CASE s WHEN 5 THEN 1 ELSE -1 END, {times_sql}"
                " FROM generate_series(5, 6) s",
                params,
            )


def test_appends_wait_while_a_reader_holds_them_back(unique):
    import threading

    def append_elsewhere() -> None:
        try:
            store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "1")],
                         metadata=ACTOR)
        finally:
            connection.close()

    appending = threading.Thread(target=append_elsewhere)
    with store.appends_held():
        head = store.head_position()
        appending.start()
        wait_until_an_append_waits(appending)  # seen waiting in pg_locks, not assumed after a fixed pause
        assert appending.is_alive()
        assert store.head_position() == head  # the reads inside see one position
    appending.join(timeout=120)
    assert Event.objects.filter(stream_id=unique).count() == 1


def test_appends_are_released_when_a_read_under_the_hold_fails():
    with pytest.raises(DatabaseError), store.appends_held():
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1 / 0")
    assert read_elsewhere("SELECT pg_try_advisory_xact_lock(%s)", [store.APPEND_LOCK_KEY]) == [(True,)]


def index_tuples_read(index: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")  # this backend's counts, flushed when it goes idle
    with connection.cursor() as cursor:
        cursor.execute("SELECT idx_tup_read FROM pg_stat_user_indexes WHERE indexrelname = %s", [index])
        return cursor.fetchone()[0]


@pytest.mark.parametrize("append_size", [1, 100])  # the server-side call and the COPY path
def test_finding_a_streams_version_reads_one_index_entry_however_long_the_stream(unique, append_size):
    """The version of a stream with 400 events is read from the last entry of the (type, id, version) index,
    not by aggregating all 400 (which the planner chose on a table it had never analyzed)."""
    events = [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "1") for _ in range(400)]
    store.append("journal", unique, events, metadata=ACTOR)
    before = index_tuples_read("ledger_event_stream_version")
    store.append("journal", unique, events[:append_size], metadata=ACTOR, expected_version=400)
    assert index_tuples_read("ledger_event_stream_version") - before < 10


@pytest.mark.parametrize(("bad_leg", "error"), [
    ("(SELECT max(position) + 1000 FROM ledger_event), 0, 'custody:alpaca:x', 'AAPL', 1, now(), now()",
     "no such event or differs from its times"),
    ("{last}, 90, 'custody:alpaca:x', 'USD', 7, {times}", "do not balance in USD: they sum to 7"),
])
def test_one_bad_group_among_many_good_legs_refuses_the_whole_statement(unique, bad_leg, error):
    """The postings trigger checks every event and asset of a statement, not only the first: a single
    orphan or unbalanced group hidden among forty balanced legs of twenty events is found, and nothing of
    the statement stays."""
    recorded = store.append_many(
        [store.StreamAppend("journal", f"{unique}-{i}", [transfer("shares_received", f"custody:alpaca:{unique}",
                                                                  "equity:opening", "1")]) for i in range(20)],
        metadata=ACTOR)
    first, last = recorded.first_position, recorded.last_position
    times = f"(SELECT effective_at FROM ledger_event WHERE position = {last}), (SELECT recorded_at FROM ledger_event WHERE position = {last})"
    good = (f"SELECT e.position, 50 + s, 'custody:alpaca:x', 'AAPL', CASE s WHEN 0 THEN 2 ELSE -2 END, e.effective_at, e.recorded_at"
            f" FROM ledger_event e, generate_series(0, 1) s WHERE e.position BETWEEN {first} AND {last}")
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_posting")
        before = cursor.fetchone()[0]
    with pytest.raises(DatabaseError, match=error), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO ledger_posting (event_position, seq, account, asset, amount, effective_at, recorded_at) "
                + good + " UNION ALL SELECT " + bad_leg.format(last=last, times=times))
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM ledger_posting")
        assert cursor.fetchone()[0] == before


def sequential_scans_of_the_log() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'ledger_event'")
        return cursor.fetchone()[0]


@pytest.mark.parametrize("append_size", [1, 100])  # the server-side call and the COPY path
def test_an_append_never_scans_the_whole_log(unique, append_size):
    """Every read an append makes of the log (its head, stream versions, the postings trigger's check that
    each leg's event exists, the projections) goes through an index, whatever the table's statistics: a scan
    would cost the whole history on every append."""
    events = [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "1") for _ in range(append_size)]
    store.append("journal", f"{unique}-warm", events, metadata=ACTOR)
    before = sequential_scans_of_the_log()
    store.append("journal", unique, events, metadata=ACTOR)
    assert sequential_scans_of_the_log() == before
