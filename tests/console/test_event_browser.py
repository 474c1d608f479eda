"""The event browser: filters, stream history, hashes and whether the chain verifies up to each event."""
from __future__ import annotations

import html
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from console.chain_status import verify_through
from console.models import ChainCheckpoint
from ledger import store
from ledger.store import NewEvent

pytestmark = pytest.mark.django_db
EVENTS = reverse("admin:ledger_event_changelist")


@pytest.fixture
def auditor(client_as):
    return client_as("auditor")


@pytest.fixture
def history(unique):
    """Two streams: a request with three events by two actors, and an unrelated one."""
    request_id = f"req-{unique}"
    first = store.append("journal", request_id, [NewEvent("mint_requested", {"qty": "10"})],
                         metadata={"actor": f"partner:{unique}"}).events[0]
    store.append("journal", request_id, [NewEvent("mint_approved", {"by": "ops"})], metadata={"actor": f"user:ops-{unique}"})
    store.append("journal", request_id, [NewEvent("mint_confirmed", {"tx": "0xabc"})], metadata={"actor": "system:issuance"})
    store.append("journal", f"other-{unique}", [NewEvent("note_added", {"text": "x"})], metadata={"actor": f"user:ops-{unique}"})
    return request_id, first


def listed_positions(response) -> list[int]:
    return [event.position for event in response.context["cl"].result_list]


def test_a_streams_full_history_is_listed_from_the_stream_link(auditor, history):
    request_id, first = history
    detail = auditor.get(reverse("admin:ledger_event_change", args=[first.position]))
    link = f"{EVENTS}?stream_type=journal&amp;stream_id={request_id}"
    assert link.encode() in detail.content

    page = auditor.get(EVENTS, {"stream_type": "journal", "stream_id": request_id})

    assert [e.event_type for e in page.context["cl"].result_list] == ["mint_confirmed", "mint_approved", "mint_requested"]


def test_filters_by_event_type_actor_and_search_by_stream_id_or_position(auditor, history, unique):
    request_id, first = history

    by_actor = auditor.get(EVENTS, {"actor": f"user:ops-{unique}"})
    by_type = auditor.get(EVENTS, {"event_type": "mint_requested", "actor": f"partner:{unique}"})
    by_stream = auditor.get(EVENTS, {"q": request_id})
    by_position = auditor.get(EVENTS, {"q": f"#{first.position}"})

    assert [e.event_type for e in by_actor.context["cl"].result_list] == ["note_added", "mint_approved"]
    assert listed_positions(by_type) == [first.position]
    assert len(listed_positions(by_stream)) == 3
    assert listed_positions(by_position) == [first.position]


def test_filter_by_recorded_time_through_the_date_hierarchy(auditor, history):
    _, first = history
    today, tomorrow = first.recorded_at.date(), first.recorded_at.date() + timedelta(days=1)

    on_the_day = auditor.get(EVENTS, {"recorded_at__year": today.year, "recorded_at__month": today.month,
                                      "recorded_at__day": today.day})
    next_day = auditor.get(EVENTS, {"recorded_at__year": tomorrow.year, "recorded_at__month": tomorrow.month,
                                    "recorded_at__day": tomorrow.day})

    assert first.position in listed_positions(on_the_day)
    assert first.position not in listed_positions(next_day)


def test_the_event_page_shows_content_hashes_and_that_the_chain_verifies_up_to_it(auditor, history):
    _, first = history

    page = html.unescape(auditor.get(reverse("admin:ledger_event_change", args=[first.position])).content.decode())

    assert first.hash in page and first.prev_hash in page
    assert '"qty": "10"' in page
    assert 'data-chain="verified"' in page
    assert f"positions 1..{first.position}" in page


def _tamper_payload(position: int) -> None:
    """What a database superuser could do: switch the guard off and edit (inside the test's transaction)."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_immutable")
        cursor.execute("UPDATE ledger_event SET payload = '{\"qty\": \"1000\"}' WHERE position = %s", [position])
        cursor.execute("ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_immutable")


def test_an_altered_event_shows_the_chain_broken_there(auditor, history):
    _, first = history
    _tamper_payload(first.position)

    page = auditor.get(reverse("admin:ledger_event_change", args=[first.position + 1])).content.decode()

    assert 'data-chain="broken"' in page
    assert f"chain broken at position {first.position}" in page


def _recompute_own_hash(position: int) -> None:
    """The stronger edit: after changing the event, store the hash of its new content too."""
    from ledger.verify import verify

    problem = verify(from_position=position, to_position=position).problem
    recomputed = problem.split("recomputed ")[1].split(" ")[0]
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_immutable")
        cursor.execute("UPDATE ledger_event SET hash = %s WHERE position = %s", [recomputed, position])
        cursor.execute("ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_immutable")


@pytest.mark.parametrize("own_hash_recomputed", [False, True])
def test_an_event_altered_after_the_checkpoint_was_taken_shows_altered_not_verified(auditor, history,
                                                                                     own_hash_recomputed):
    """The checkpoint at the head still carries the hash it remembers, so it is trusted; the event page re-hashes
    the event it shows (and checks its successor links to it) instead of taking the checkpoint's word for it."""
    _, first = history
    verify_through(store.head_position())
    _tamper_payload(first.position)
    if own_hash_recomputed:
        _recompute_own_hash(first.position)

    page = html.unescape(auditor.get(reverse("admin:ledger_event_change", args=[first.position])).content.decode())

    assert 'data-chain="altered"' in page and 'data-chain="verified"' not in page
    assert ("does not link" if own_hash_recomputed else "hash mismatch") in page
    assert ChainCheckpoint.objects.get().position == store.head_position()  # the checkpoint itself was not the tell


def test_the_event_page_says_when_the_checkpoint_verified_the_chain(auditor, history):
    _, first = history
    verify_through(store.head_position())
    verified_at = ChainCheckpoint.objects.get().verified_at

    page = html.unescape(auditor.get(reverse("admin:ledger_event_change", args=[first.position])).content.decode())

    assert 'data-chain="verified"' in page
    assert f"positions 1..{store.head_position()} verified at {verified_at:%Y-%m-%d %H:%M:%S} UTC" in page


def test_later_checks_verify_only_past_the_checkpoint(history):
    _, first = history
    head = store.head_position()
    verify_through(first.position)
    assert ChainCheckpoint.objects.get().position == first.position

    status = verify_through(head)

    assert status.covers(head) and ChainCheckpoint.objects.get().position == head
    assert status.events_checked == head - first.position
    assert verify_through(first.position + 1).events_checked == 2  # that event and its successor, re-hashed


def test_history_rewritten_after_the_checkpoint_was_taken_drops_the_checkpoint(history):
    _, first = history
    verify_through(store.head_position())
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_immutable")
        cursor.execute("UPDATE ledger_event SET hash = repeat('f', 64) WHERE position = %s", [store.head_position()])
        cursor.execute("ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_immutable")

    status = verify_through(first.position)

    assert status.events_checked == first.position  # the checkpoint was distrusted: verified again from position 1
    assert status.broken_at is None and status.covers(first.position)
    assert ChainCheckpoint.objects.get().position == first.position


def test_lists_never_count_or_scan_for_distinct_dates(auditor, history):
    with CaptureQueriesContext(connection) as queries:
        page = auditor.get(EVENTS, {"actor": "system:issuance"})

    assert page.status_code == 200
    sql = [q["sql"].upper() for q in queries.captured_queries]
    assert not [q for q in sql if "COUNT(" in q or "DISTINCT" in q]
    assert len(page.context["cl"].result_list) >= 1
    scans = [q for q in sql if "METADATA" in q and "FROM \"LEDGER_EVENT\"" in q and "\"POSITION\" IN (" not in q]
    assert len(scans) == 1  # the JSON filter runs over the table once; the page is then read by position


def test_the_date_drill_down_offers_only_days_with_events(auditor, history):
    _, first = history
    day = first.recorded_at.date()

    month = auditor.get(EVENTS, {"recorded_at__year": day.year, "recorded_at__month": day.month}).content.decode()

    assert f"recorded_at__day={day.day}&amp;" in month or f"recorded_at__day={day.day}\"" in month
    empty_day = next((d for d in range(1, 29) if d != day.day), None)
    assert f"recorded_at__day={empty_day}&amp;" not in month


def test_a_second_page_is_offered_when_more_events_exist(auditor, unique):
    store.append_many([store.StreamAppend("journal", f"bulk-{unique}-{i}", [NewEvent("note_added", {"i": i})])
                       for i in range(150)], metadata={"actor": "system:test"})

    first_page = auditor.get(EVENTS, {"q": ""})
    second_page = auditor.get(EVENTS, {"p": 2})

    assert first_page.context["cl"].paginator.has_more or first_page.context["cl"].paginator.num_pages >= 2
    assert b"more events on the next pages" in first_page.content
    assert len(second_page.context["cl"].result_list) >= 50
    assert set(listed_positions(first_page)).isdisjoint(listed_positions(second_page))
