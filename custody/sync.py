"""Syncing an Alpaca custody account: orders, then activities, then positions.

Orders first, so an order that filled since the last sync has its final status recorded; activities next,
so the fills are booked; positions last, so the observation is at least as recent as the facts booked.
Activities are read once more after the positions: an activity booked in between (found by this read, or
by a sync running elsewhere) may be in the positions but was not in the ledger, so the positions are read
again (a few times at most). A report whose positions never settled says so (`positions_settled`), and
reconciliation then compares nothing for the account; `activity_position` lets it check that no activity was
booked after the positions it compares.
Each step is its own unit (see activity_sync, orders, positions): a failure in one leaves the steps before
it recorded and is raised as a named error; running the sync again carries on.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .activity_sync import sync_activities
from .custody_accounts import get_custody_account
from .errors import WrongAccountKind
from .models import ActivityCursor, CustodyAccount
from .orders import sync_orders
from .positions import sync_positions


POSITION_READ_ATTEMPTS = 3


@dataclass(frozen=True)
class SyncReport:
    account: str
    orders_recorded: int
    activities_recorded: int
    positions_observed: bool
    symbols_held: int | None  # from the new observation; None when positions did not change
    positions_settled: bool  # no activity was booked while the positions were read
    activity_position: int | None  # ledger position of the account's last booked activity, as of that read


def sync_account(account: str | CustodyAccount, *, rescan: bool = False,
                 progress: Callable[[int], None] | None = None) -> SyncReport:
    account = get_custody_account(account)
    if account.kind != CustodyAccount.Kind.ALPACA:
        raise WrongAccountKind(f"custody account {account.name} receives statements; it has no broker to sync")
    orders_recorded = sync_orders(account)
    activities_recorded = sync_activities(account, rescan=rescan, progress=progress)
    observed, symbols_held, settled = False, None, False
    for _ in range(POSITION_READ_ATTEMPTS):
        booked_before = last_activity_position(account.name)
        observation = sync_positions(account)
        if observation is not None:
            observed, symbols_held = True, len(observation.qty)
        activities_recorded += sync_activities(account)
        booked_after = last_activity_position(account.name)
        if booked_after == booked_before:
            settled = True
            break
    return SyncReport(account.name, orders_recorded, activities_recorded, observed, symbols_held, settled,
                      booked_after)


def last_activity_position(account: str) -> int | None:
    """Where the account's newest booked broker activity sits in the ledger (moves with every sync, any process)."""
    return ActivityCursor.objects.filter(account_name=account).values_list("event_position", flat=True).first()


def alpaca_accounts(name: str | None = None) -> list[CustodyAccount]:
    """The accounts a sync covers: the named one, or every Alpaca account."""
    if name is not None:
        return [get_custody_account(name)]
    return list(CustodyAccount.objects.filter(kind=CustodyAccount.Kind.ALPACA).order_by("name"))
