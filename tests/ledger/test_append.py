"""Appending: versions, idempotency, validation. Every rejection writes nothing."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from ledger import store
from ledger.balances import balance
from ledger.errors import ConcurrencyError, IdempotencyConflict, InvalidEvent, UnbalancedPostings
from ledger.models import Event, IdempotencyRecord, Posting as PostingRow
from ledger.store import NewEvent, Posting

from .factories import ACTOR, transfer

pytestmark = pytest.mark.django_db


def counts() -> tuple[int, int, int]:
    return Event.objects.count(), PostingRow.objects.count(), IdempotencyRecord.objects.count()


def test_append_assigns_versions_positions_and_links_the_hash_chain(unique):
    first = store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "10")],
                         metadata=ACTOR, expected_version=0)
    second = store.append("journal", unique, [transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "2.5")],
                          metadata=ACTOR, expected_version=1)
    assert second.first_position == first.last_position + 1
    assert second.stream_versions == {f"journal/{unique}": 2}
    events = store.read_stream("journal", unique)
    assert [e.version for e in events] == [1, 2]
    assert events[1].prev_hash == events[0].hash
    assert balance(f"custody:alpaca:{unique}", "AAPL") == Decimal("12.5")


def test_stale_expected_version_is_refused_and_writes_nothing(unique):
    store.append("journal", unique, [transfer("a", f"x:{unique}", "y:z", "1")], metadata=ACTOR, expected_version=0)
    before = counts()
    with pytest.raises(ConcurrencyError) as err:
        store.append("journal", unique, [transfer("a", f"x:{unique}", "y:z", "1")], metadata=ACTOR, expected_version=0)
    assert err.value.actual == 1 and err.value.code == "stale_expected_version"
    assert counts() == before


def test_same_idempotency_key_and_request_replays_the_first_result(unique):
    event = transfer("shares_received", f"custody:alpaca:{unique}", "equity:opening", "5")
    first = store.append("journal", unique, [event], metadata=ACTOR, idempotency_key=f"key-{unique}")
    before = counts()
    again = store.append("journal", unique, [event], metadata=ACTOR, idempotency_key=f"key-{unique}")
    assert again.replayed and not first.replayed
    assert (again.first_position, again.last_position, again.stream_versions) == (
        first.first_position, first.last_position, first.stream_versions)
    assert counts() == before
    assert balance(f"custody:alpaca:{unique}", "AAPL") == Decimal("5")


def test_same_idempotency_key_with_a_different_request_is_a_conflict(unique):
    store.append("journal", unique, [transfer("a", f"x:{unique}", "y:z", "5")], metadata=ACTOR, idempotency_key=f"k-{unique}")
    before = counts()
    with pytest.raises(IdempotencyConflict):
        store.append("journal", unique, [transfer("a", f"x:{unique}", "y:z", "6")], metadata=ACTOR, idempotency_key=f"k-{unique}")
    assert counts() == before


def test_unbalanced_postings_are_refused_with_nothing_written(unique):
    before = counts()
    bad = NewEvent("shares_received", {}, [Posting(f"custody:a:{unique}", "AAPL", Decimal("10")),
                                           Posting("equity:opening", "AAPL", Decimal("-9.99"))])
    with pytest.raises(UnbalancedPostings, match="AAPL by 0.01"):
        store.append("journal", unique, [bad], metadata=ACTOR)
    assert counts() == before


def test_postings_balance_per_asset_not_across_assets(unique):
    mixed = NewEvent("swap", {}, [Posting(f"a:{unique}", "AAPL", Decimal("1")), Posting(f"b:{unique}", "USD", Decimal("-1"))])
    with pytest.raises(UnbalancedPostings):
        store.append("journal", unique, [mixed], metadata=ACTOR)


@pytest.mark.parametrize(
    ("make_event", "stream_type", "metadata", "code"),
    [
        (lambda u: transfer("a", f"x:{u}", "y:z", "1"), "no_such_stream", ACTOR, "unknown_stream_type"),
        (lambda u: NewEvent("a", {"qty": 1.5}), "journal", ACTOR, "float_not_allowed"),
        (lambda u: NewEvent("a", {}, [Posting(f"x:{u}", "AAPL", 1.5), Posting("y:z", "AAPL", -1.5)]), "journal", ACTOR, "float_not_allowed"),
        (lambda u: NewEvent("a", {}, [Posting(f"x:{u}", "AAPL", "ten"), Posting("y:z", "AAPL", "-10")]), "journal", ACTOR, "invalid_amount"),
        (lambda u: NewEvent("a", {}, [Posting(f"x:{u}", "AAPL", "1e-19"), Posting("y:z", "AAPL", "-1e-19")]), "journal", ACTOR, "invalid_amount"),
        (lambda u: NewEvent("a", {}, [Posting("no-colon", "AAPL", "1"), Posting("y:z", "AAPL", "-1")]), "journal", ACTOR, "invalid_account"),
        (lambda u: NewEvent("a", {}, [Posting(f"x:{u}", "AAPL", "0"), Posting("y:z", "AAPL", "0")]), "journal", ACTOR, "zero_amount"),
        (lambda u: NewEvent("Bad Type", {}), "journal", ACTOR, "invalid_event_type"),
        (lambda u: NewEvent("a", ["not", "an", "object"]), "journal", ACTOR, "invalid_payload"),
        (lambda u: NewEvent("a", {}, effective_at=datetime(2026, 1, 1)), "journal", ACTOR, "naive_timestamp"),
        (lambda u: NewEvent("a", {}), "journal", {}, "missing_actor"),
        (lambda u: NewEvent("a", {}), "journal", {"actor": "  "}, "missing_actor"),
    ],
)
def test_bad_input_gets_a_named_error_and_writes_nothing(unique, make_event, stream_type, metadata, code):
    before = counts()
    with pytest.raises(InvalidEvent) as err:
        store.append(stream_type, unique, [make_event(unique)], metadata=metadata)
    assert err.value.code == code
    assert counts() == before


def test_decimals_are_stored_as_canonical_strings(unique):
    store.append("journal", unique, [NewEvent("price_set", {"price": Decimal("187.2500"), "big": Decimal("1E+3")})], metadata=ACTOR)
    (event,) = store.read_stream("journal", unique)
    assert event.payload == {"price": "187.25", "big": "1000"}


def test_events_in_one_append_across_streams_are_all_or_nothing(unique):
    store.append("journal", f"{unique}-b", [transfer("a", f"x:{unique}", "y:z", "1")], metadata=ACTOR)
    before = counts()
    with pytest.raises(ConcurrencyError):
        store.append_many(
            [store.StreamAppend("journal", f"{unique}-a", [transfer("a", f"x:{unique}", "y:z", "1")], expected_version=0),
             store.StreamAppend("journal", f"{unique}-b", [transfer("a", f"x:{unique}", "y:z", "1")], expected_version=0)],
            metadata=ACTOR,
        )
    assert counts() == before


def test_effective_time_defaults_to_recorded_time_and_can_be_in_the_past(unique):
    past = datetime(2026, 3, 30, 16, 0, tzinfo=UTC)
    result = store.append("journal", unique, [transfer("a", f"x:{unique}", "y:z", "1", effective_at=past), transfer("b", f"x:{unique}", "y:z", "1")],
                          metadata=ACTOR)
    backdated, current = result.events
    assert backdated.effective_at == past and backdated.recorded_at > past
    assert current.effective_at == current.recorded_at


def test_38_digit_amounts_round_trip_exactly_through_postings_balances_and_verify(unique):
    from ledger.verify import verify

    huge = "12345678901234567890.123456789012345678"  # 38 significant digits: NUMERIC(38, 18) at its limit
    result = store.append("journal", unique, [transfer("a", f"x:{unique}", f"y:{unique}", huge)], metadata=ACTOR)
    assert balance(f"x:{unique}", "AAPL") == Decimal(huge)
    assert store.read_stream("journal", unique)[0].postings[0].amount == Decimal(huge)
    assert verify(from_position=result.first_position).ok


def test_a_large_batch_goes_through_copy_and_keeps_awkward_text_exact(unique):
    """More events than one COPY chunk, so rows cross chunk boundaries; some carry their own effective time."""
    from ledger.verify import verify

    awkward = "tab\there, newline\nhere, backslash \\ and \\N, quote \" é 😀"
    past = datetime(2026, 3, 30, 12, 0, tzinfo=UTC)
    count = 2 * store.COPY_CHUNK_EVENTS + 3
    events = [NewEvent("note_added", {"text": awkward, "i": i}, [Posting(f"x:{unique}", "AAPL", Decimal("0.1")),
                                                               Posting(f"y:{unique}", "AAPL", Decimal("-0.1"))],
                       effective_at=past if i % 7 == 0 else None)
              for i in range(count)]
    result = store.append("journal", f"{unique}\tid\\x", events, metadata={"actor": "user:ops\\1"})
    assert len(result.events) == count
    assert result.last_position - result.first_position == count - 1
    stored = store.read_stream("journal", f"{unique}\tid\\x")
    assert [e.payload["i"] for e in stored] == list(range(count))
    assert [e.payload["text"] for e in stored] == [awkward] * count
    assert [e.position for e in stored] == [e.position for e in result.events]
    assert [e.effective_at == past for e in stored] == [i % 7 == 0 for i in range(count)]
    assert stored[-1].metadata == {"actor": "user:ops\\1"}
    assert PostingRow.objects.filter(event__position__gte=result.first_position).count() == 2 * count
    assert balance(f"x:{unique}", "AAPL") == Decimal("0.1") * count
    assert balance(f"x:{unique}", "AAPL", as_of=past) == Decimal("0.1") * len(range(0, count, 7))
    assert verify(from_position=result.first_position).ok


@pytest.mark.parametrize("path", ["server-side call", "COPY"])
def test_hashes_computed_by_postgres_and_by_python_agree_on_awkward_content(unique, path):
    """Small appends are hashed in SQL, large ones in Python; verify_ledger recomputes both in Python."""
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    from ledger.verify import verify

    text = st.text(alphabet=st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), max_size=20)
    count = 1 if path == "server-side call" else store.SERVER_SIDE_MAX_EVENTS + 1

    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    @given(payload=st.dictionaries(text, st.one_of(text, st.integers(-(2**53 - 1), 2**53 - 1), st.none()), max_size=4),
           stream_suffix=text, actor=text.filter(str.strip))
    def append_and_verify(payload, stream_suffix, actor):
        result = store.append("journal", f"{unique}{stream_suffix}"[:200],
                              [NewEvent("awkward", payload, [Posting(f"x:{unique}", "AAPL", Decimal("0.5")),
                                                             Posting(f"y:{unique}", "AAPL", Decimal("-0.5"))])] * count,
                              metadata={"actor": actor})
        outcome = verify(from_position=result.first_position)
        assert outcome.ok, outcome.summary()

    append_and_verify()


@pytest.mark.parametrize("was_enabled", [True, False])
def test_a_batch_pauses_the_cycle_collector_and_leaves_it_as_it_found_it(unique, monkeypatch, was_enabled):
    """A batch runs with Python's cycle collector off (docs/performance.md), and hands it back as it found
    it: on after a batch that succeeded or failed halfway, still off when the caller had switched it off."""
    import gc

    seen_during_batch = []
    prepare_event = store._prepare_event

    def watching(stream, key, event):
        seen_during_batch.append(gc.isenabled())
        return prepare_event(stream, key, event)

    monkeypatch.setattr(store, "_prepare_event", watching)
    legs = [Posting(f"x:{unique}", "AAPL", Decimal(1)), Posting(f"y:{unique}", "AAPL", Decimal(-1))]
    batch = [NewEvent("note_added", {"i": i}, legs) for i in range(store.SERVER_SIDE_MAX_EVENTS + 1)]
    (gc.enable if was_enabled else gc.disable)()
    try:
        store.append("journal", unique, batch, metadata=ACTOR)
        assert gc.isenabled() is was_enabled
        with pytest.raises(InvalidEvent):
            store.append("journal", unique, [*batch, NewEvent("note_added", {"bad": 1.5}, legs)], metadata=ACTOR)
        assert gc.isenabled() is was_enabled
    finally:
        gc.enable()
    assert seen_during_batch and not any(seen_during_batch)
    store.append("journal", unique, batch[:1], metadata=ACTOR)  # a small append leaves the collector alone
    assert seen_during_batch[-1] is True
