"""Alpaca account activities -> ledger events, page by page after a stored cursor.

Atomicity unit: one activity. Each is appended on its own with the idempotency key
`alpaca:<account>:activity:<activity id>`, and the cursor (`ActivityCursor`, kept by the projector in the
same transaction) moves with it. A sync that fails midway (BrokerUnavailable, ActivityNotBookable) leaves
every fact before the failure fully recorded and nothing of the failed one; the next sync resumes after
the last recorded fact. Running syncs concurrently is safe: both would append the same events under the
same keys, and the second append replays the first.

Alpaca has no "next page" field: we ask for `direction=asc` with `page_token=<last id seen>` until a page
comes back empty. Activity ids begin with their booking time, so "after the cursor" is "booked later".
An activity the broker books with an earlier id than the cursor (a back-dated correction) is only seen by
a `rescan`, which reads the whole history again and records what is missing (already recorded activities
replay, or are skipped if they would now be booked differently).
"""
from __future__ import annotations

import logging
from collections.abc import Callable

from django.conf import settings

from ledger import store
from ledger.errors import IdempotencyConflict, InvalidEvent, UnbalancedPostings

from . import streams
from .activities import activity_event
from .broker import DamagedAnswer, alpaca_client, call_broker
from .errors import ActivityNotBookable, BrokerUnavailable
from .models import ActivityCursor, CustodyAccount

log = logging.getLogger(__name__)
SYNC_METADATA = {"actor": streams.SYNC_ACTOR, "source": "alpaca"}


def activity_key(account: str, activity_id: str) -> str:
    return f"alpaca:{account}:activity:{activity_id}"


def last_activity_id(account: str) -> str | None:
    return ActivityCursor.objects.filter(account_name=account).values_list("last_activity_id", flat=True).first()


def sync_activities(account: CustodyAccount, *, rescan: bool = False,
                    progress: Callable[[int], None] | None = None) -> int:
    """Record every activity after the cursor (all of them with `rescan`); returns how many were new.
    `progress(n)` is called after each activity read, recorded or not."""
    client = alpaca_client(account)
    cursor = None if rescan else last_activity_id(account.name)
    recorded = 0
    while True:
        params = {"direction": "asc", "page_size": settings.CUSTODY_SYNC_PAGE_SIZE}
        if cursor:
            params["page_token"] = cursor
        page = call_broker(f"list activities of {account.name} after {cursor or 'the start'}",
                           lambda: _activities_page(client, params))
        if not page:
            return recorded
        if cursor is not None and page[-1]["id"] <= cursor:
            raise BrokerUnavailable(f"{account.name}: the broker's activity paging did not move past {cursor}")
        for activity in page:
            recorded += record_activity(account.name, activity)
            cursor = activity["id"]
            if progress:
                progress(1)


def record_activity(account: str, activity: dict) -> bool:
    """Append the event of one activity; False when it was already recorded."""
    event = activity_event(account, activity)
    try:
        result = store.append(streams.CUSTODY_ACCOUNT, account, [event], metadata=SYNC_METADATA,
                              idempotency_key=activity_key(account, activity["id"]))
    except IdempotencyConflict:
        # Recorded before with other details (a journal matcher answers differently now): the first stands.
        log.warning("%s: activity %s is already recorded with other details; keeping the first", account,
                    activity["id"])
        return False
    except (InvalidEvent, UnbalancedPostings) as error:
        raise ActivityNotBookable(f"{account}: broker activity {activity['id']}: {error.message}") from error
    return not result.replayed


def _activities_page(client, params: dict) -> list[dict]:
    page = client.get("/account/activities", params)
    if not isinstance(page, list) or not all(isinstance(item, dict) and isinstance(item.get("id"), str)
                                             for item in page):
        raise DamagedAnswer("the activities answer is not a list of activities with ids")
    return page
