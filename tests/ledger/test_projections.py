"""Projections equal a replay of the log; point-in-time reads answer "what did we know, and when"."""
from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection

from ledger import store
from ledger.balances import balance
from ledger.models import AccountBalance, ProjectionCheckpoint, StreamState

from .factories import ACTOR, transfer

pytestmark = pytest.mark.django_db


def projection_state() -> tuple:
    balances = sorted((b.account, b.asset, b.balance, b.last_position) for b in AccountBalance.objects.all())
    streams = sorted((s.stream_type, s.stream_id, s.version, s.last_position, s.last_event_type, s.updated_at)
                     for s in StreamState.objects.all())
    return balances, streams


def test_rebuild_from_scratch_equals_live_state_even_after_the_read_model_was_damaged(unique):
    for i in range(30):
        store.append("journal", f"{unique}-{i % 4}", [transfer("shares_received", f"custody:alpaca:{unique}-{i % 3}", "equity:opening", f"{i}.25"),
                                                       transfer("cash_received", f"custody:alpaca:cash:{unique}", "equity:opening", "100.10", asset="USD")],
                     metadata=ACTOR)
    live = projection_state()
    with connection.cursor() as cursor:  # read models are not the source of truth: break one on purpose
        cursor.execute("UPDATE ledger_account_balance SET balance = balance + 1 WHERE account = %s", [f"custody:alpaca:{unique}-0"])
        cursor.execute("DELETE FROM ledger_stream_state WHERE stream_id = %s", [f"{unique}-1"])
    assert projection_state() != live
    out = io.StringIO()
    call_command("rebuild_projections", "--no-progress", stdout=out)
    assert "ledger.balances" in out.getvalue()
    assert projection_state() == live
    assert ProjectionCheckpoint.objects.get(name="ledger.balances").position == store.head_position()


def test_a_batch_projects_the_heads_of_the_streams_it_starts_and_continues_as_a_rebuild_does(unique):
    """A batch inserts the heads of streams it starts and updates those of streams it continues (migration 0008)."""
    continued = [f"{unique}-old-{i}" for i in range(3)]
    store.append_many([store.StreamAppend("journal", s, [transfer("opened", f"x:{unique}", "y:z", "1")]) for s in continued],
                      metadata=ACTOR)
    batch = [store.StreamAppend("journal", s, [transfer("continued", f"x:{unique}", "y:z", "1")] * 30) for s in continued]
    batch += [store.StreamAppend("journal", f"{unique}-new-{i}", [transfer("started", f"x:{unique}", "y:z", "1")] * 10)
              for i in range(4)]
    result = store.append_many(batch, metadata=ACTOR)
    assert len(result.events) > store.SERVER_SIDE_MAX_EVENTS  # the COPY path

    heads = {s.stream_id: (s.version, s.last_position, s.last_event_type)
             for s in StreamState.objects.filter(stream_id__startswith=unique)}
    assert heads == {e.stream_id: (e.version, e.position, e.event_type) for e in result.events}  # the last of each
    assert sorted(version for version, _, _ in heads.values()) == [10] * 4 + [31] * 3
    live = projection_state()
    call_command("rebuild_projections", "--no-progress", stdout=io.StringIO())
    assert projection_state() == live


def test_balance_as_of_a_day_and_as_known_at_a_time_across_a_correction(unique):
    account = f"custody:alpaca:{unique}"
    march_30 = datetime(2026, 3, 30, 20, 0, tzinfo=UTC)
    first = store.append("journal", unique, [transfer("shares_received", account, "equity:opening", "100", effective_at=march_30)],
                         metadata=ACTOR).events[0]
    known_before_correction = first.recorded_at
    # Later we learn 10 of those shares never arrived: a correction, effective on the same day.
    correction = store.append("journal", unique, [transfer("correction", "equity:opening", account, "10", effective_at=march_30)],
                              metadata=ACTOR).events[0]
    store.append("journal", unique, [transfer("shares_received", account, "equity:opening", "5",
                                              effective_at=march_30 + timedelta(days=2))], metadata=ACTOR)

    assert balance(account, "AAPL") == Decimal("95")
    assert balance(account, "AAPL", as_of=march_30) == Decimal("90")
    assert balance(account, "AAPL", as_of=march_30, known_at=known_before_correction) == Decimal("100")
    assert balance(account, "AAPL", as_of=march_30, known_at=correction.recorded_at) == Decimal("90")
    assert balance(account, "AAPL", as_of=march_30 - timedelta(seconds=1)) == Decimal("0")
    assert balance(account, "AAPL", known_at=known_before_correction - timedelta(microseconds=1)) == Decimal("0")


def test_read_all_returns_events_in_position_order_with_postings(unique):
    start = store.head_position()
    store.append("journal", unique, [transfer("a", f"x:{unique}", "y:z", "1"), transfer("b", f"x:{unique}", "y:z", "2")], metadata=ACTOR)
    events = store.read_all(after_position=start)
    assert [e.position for e in events] == [start + 1, start + 2]
    assert events[1].postings[0].amount == Decimal("2")
    assert store.read_all(after_position=start, event_types=["b"])[0].event_type == "b"


@pytest.mark.parametrize("work", ["verify", "rebuild"])
def test_verify_and_rebuild_run_with_the_cycle_collector_paused_and_hand_it_back(unique, monkeypatch, work):
    """Both walk the whole log allocating objects that form no cycles; the collector's walks of the heap cost a
    fifth of a rebuild (docs/performance.md), so it is paused while they run and switched back on after."""
    import gc

    from ledger import verify as verify_module

    store.append("journal", unique, [transfer("shares_received", f"x:{unique}", "y:z", "1")], metadata=ACTOR)
    seen_while_working = []
    if work == "verify":
        check = verify_module._check
        monkeypatch.setattr(verify_module, "_check",
                            lambda *args: seen_while_working.append(gc.isenabled()) or check(*args))
        assert verify_module.verify().ok
    else:
        iter_all = store.iter_all

        def watching(*args, **kwargs):
            for batch in iter_all(*args, **kwargs):
                seen_while_working.append(gc.isenabled())
                yield batch

        monkeypatch.setattr(store, "iter_all", watching)
        call_command("rebuild_projections", "--no-progress", stdout=io.StringIO())
    assert seen_while_working and not any(seen_while_working)
    assert gc.isenabled()
