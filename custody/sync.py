"""Syncing an Alpaca custody account: orders, then activities, then positions.

Orders first, so an order that filled since the last sync has its final status recorded; activities next,
so the fills are booked; positions last, so the observation is at least as recent as the facts booked.
Activities are read once more after the positions: an activity the broker booked in between is in the
positions but was not in the ledger, so the positions are read again (a few times at most). A report whose
positions never settled says so (`positions_settled`), and reconciliation then compares nothing for the account.
Each step is its own unit (see activity_sync, orders, positions): a failure in one leaves the steps before
it recorded and is raised as a named error; running the sync again carries on.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .activity_sync import sync_activities
from .custody_accounts import get_custody_account
from .errors import WrongAccountKind
from .models import CustodyAccount
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
    positions_settled: bool  # no activity was booked at the broker while its positions were read


def sync_account(account: str | CustodyAccount, *, rescan: bool = False,
                 progress: Callable[[int], None] | None = None) -> SyncReport:
    account = get_custody_account(account)
    if account.kind != CustodyAccount.Kind.ALPACA:
        raise WrongAccountKind(f"custody account {account.name} receives statements; it has no broker to sync")
    orders_recorded = sync_orders(account)
    activities_recorded = sync_activities(account, rescan=rescan, progress=progress)
    observed, symbols_held, settled = False, None, False
    for _ in range(POSITION_READ_ATTEMPTS):
        observation = sync_positions(account)
        if observation is not None:
            observed, symbols_held = True, len(observation.qty)
        booked_meanwhile = sync_activities(account)
        activities_recorded += booked_meanwhile
        if not booked_meanwhile:
            settled = True
            break
    return SyncReport(account.name, orders_recorded, activities_recorded, observed, symbols_held, settled)


def alpaca_accounts(name: str | None = None) -> list[CustodyAccount]:
    """The accounts a sync covers: the named one, or every Alpaca account."""
    if name is not None:
        return [get_custody_account(name)]
    return list(CustodyAccount.objects.filter(kind=CustodyAccount.Kind.ALPACA).order_by("name"))
