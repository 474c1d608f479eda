"""Syncing an Alpaca custody account: orders, then activities, then positions.

Orders first, so an order that filled since the last sync has its final status recorded; activities next,
so the fills are booked; positions last, so the observation is at least as recent as the facts booked.
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


@dataclass(frozen=True)
class SyncReport:
    account: str
    orders_recorded: int
    activities_recorded: int
    positions_observed: bool
    symbols_held: int | None  # from the new observation; None when positions did not change


def sync_account(account: str | CustodyAccount, *, rescan: bool = False,
                 progress: Callable[[int], None] | None = None) -> SyncReport:
    account = get_custody_account(account)
    if account.kind != CustodyAccount.Kind.ALPACA:
        raise WrongAccountKind(f"custody account {account.name} receives statements; it has no broker to sync")
    orders_recorded = sync_orders(account)
    activities_recorded = sync_activities(account, rescan=rescan, progress=progress)
    observation = sync_positions(account)
    return SyncReport(account.name, orders_recorded, activities_recorded, observation is not None,
                      len(observation.qty) if observation else None)


def alpaca_accounts(name: str | None = None) -> list[CustodyAccount]:
    """The accounts a sync covers: the named one, or every Alpaca account."""
    if name is not None:
        return [get_custody_account(name)]
    return list(CustodyAccount.objects.filter(kind=CustodyAccount.Kind.ALPACA).order_by("name"))
