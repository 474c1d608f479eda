"""Broker positions as observations: what the broker says we hold, kept apart from the movements that
explain it, so reconciliation can compare the broker's `qty` (the total, not `qty_available`, which leaves
out shares held for open sell orders) with the ledger balance of custody:<account>:<SYM>.

An observation (`positions_observed`, no postings) is recorded when the quantities differ from the
account's latest observation; a sync that finds the same holdings writes nothing. `as_of` is when the
broker's answer arrived; `raw_sha256` is the SHA-256 of the answer as received, re-encoded as compact JSON
with sorted keys (alpaca-py hands us parsed JSON, not bytes).

An observation shows the broker at one moment, while the ledger's balance at a later time may include share
activities it cannot show. Those booked before it are in it (a sync books activities, then reads positions);
of those booked after it, the ones effective after it are not, and neither may be the ones Alpaca dates without
a time (booked at the start of their New York day, see custody.activities) on its own day or later: the broker
may have made them after it. share_activities_unseen_by names them, so a point-in-time comparison does not call
them drift.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from ledger import store
from ledger.canonical import decimal_str
from ledger.errors import IdempotencyConflict
from ledger.models import Posting

from . import streams
from .activities import DATED_EVENT_TYPES, NEW_YORK, new_york_day_start
from .activity_sync import SYNC_METADATA
from .broker import DamagedAnswer, alpaca_client, call_broker
from .custody_accounts import get_custody_account
from .models import CustodyAccount, PositionsObservation


@dataclass(frozen=True)
class BrokerPositions:
    """One observation: quantities per symbol as the broker reported them."""

    account: str
    as_of: datetime
    raw_sha256: str
    qty: dict[str, Decimal]
    qty_available: dict[str, Decimal]
    event_position: int


def sync_positions(account: CustodyAccount) -> BrokerPositions | None:
    """Ask the broker for its positions; record an observation if they changed. Returns the new observation,
    or None when the broker reports the same quantities as last time."""
    client = alpaca_client(account)
    raw = call_broker(f"list positions of {account.name}", lambda: _positions_answer(client))
    as_of = timezone.now()
    quantities = {position["symbol"]: {"qty": _quantity(position, "qty"),
                                       "qty_available": _quantity(position, "qty_available")}
                  for position in raw}
    latest = PositionsObservation.objects.filter(account_name=account.name).order_by("-event_position").first()
    if latest is not None and _as_decimals(latest.positions) == quantities:
        return None
    payload = {"positions": quantities, "as_of": as_of.isoformat(), "raw_sha256": raw_sha256(raw)}
    key = f"alpaca:{account.name}:positions:after:{latest.event_position if latest else 0}"
    try:
        result = store.append(streams.CUSTODY_ACCOUNT, account.name, [store.NewEvent("positions_observed", payload)],
                              metadata=SYNC_METADATA, idempotency_key=key)
    except IdempotencyConflict:
        return None  # a concurrent sync recorded this change first
    if result.replayed:
        return None
    return latest_broker_positions(account)


def latest_broker_positions(account: str | CustodyAccount) -> BrokerPositions | None:
    """The account's most recent positions observation, None before the first sync."""
    account = get_custody_account(account)
    row = PositionsObservation.objects.filter(account_name=account.name).order_by("-event_position").first()
    if row is None:
        return None
    quantities = _as_decimals(row.positions)
    return BrokerPositions(account.name, row.observed_at, row.raw_sha256,
                           {symbol: held["qty"] for symbol, held in quantities.items()},
                           {symbol: held["qty_available"] for symbol, held in quantities.items()},
                           row.event_position)


def share_activities_unseen_by(account: str, observation_position: int, observed_at: datetime,
                               as_of: datetime) -> list[str]:
    """What the ledger's custody:<account>:<SYM> balances at `as_of` include that the observation recorded at
    `observation_position`, taken at `observed_at`, may not show, one description each (empty: it describes
    those balances). Only movements booked after the observation count: those effective after it, and
    activities dated without a time on its New York day or later (booked at the day's start, made at an
    unknown time that day, possibly after it)."""
    day_start = new_york_day_start(observed_at.astimezone(NEW_YORK).date())
    legs = (Posting.objects.filter(account__startswith=f"custody:{account}:", event_id__gt=observation_position,
                                   effective_at__gte=day_start, effective_at__lte=as_of)
            .values_list("account", "asset", "amount", "effective_at", "event__event_type",
                         "event__payload__activity_type")
            .order_by("event_id", "seq"))
    unseen = []
    for ledger_account, asset, amount, effective_at, event_type, activity_type in legs:
        if ledger_account != f"custody:{account}:{asset}":  # cash, not shares
            continue
        shares = f"{'+' if amount > 0 else ''}{decimal_str(amount)} {asset}"
        if event_type in DATED_EVENT_TYPES:
            unseen.append(f"{activity_type or event_type} on {effective_at.astimezone(NEW_YORK).date().isoformat()} "
                          f"({shares}; Alpaca gives no time within the day)")
        elif effective_at > observed_at:
            unseen.append(f"{activity_type or event_type} at {effective_at.isoformat()} ({shares})")
    return unseen


def raw_sha256(raw: object) -> str:
    return hashlib.sha256(json.dumps(raw, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _positions_answer(client) -> list[dict]:
    raw = client.get_all_positions()
    if not isinstance(raw, list) or not all(isinstance(position, dict) and isinstance(position.get("symbol"), str)
                                            for position in raw):
        raise DamagedAnswer("the positions answer is not a list of positions with symbols")
    for position in raw:
        _quantity(position, "qty")
        _quantity(position, "qty_available")
    return raw


def _quantity(position: dict, field: str) -> Decimal:
    value = position.get(field)
    try:
        quantity = Decimal(value) if isinstance(value, str) else None
    except InvalidOperation:
        quantity = None
    if quantity is None or not quantity.is_finite():
        raise DamagedAnswer(f"position {position.get('symbol')}: {field} {value!r} is not a decimal string")
    return quantity


def _as_decimals(stored: dict) -> dict[str, dict[str, Decimal]]:
    return {symbol: {field: Decimal(text) for field, text in held.items()} for symbol, held in stored.items()}
