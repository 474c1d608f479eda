"""Broker positions as observations: what the broker says we hold, kept apart from the movements that
explain it, so reconciliation can compare the broker's `qty` (the total, not `qty_available`, which leaves
out shares held for open sell orders) with the ledger balance of custody:<account>:<SYM>.

An observation (`positions_observed`, no postings) is recorded when the quantities differ from the
account's latest observation; a sync that finds the same holdings writes nothing. `as_of` is when the
broker's answer arrived; `raw_sha256` is the SHA-256 of the answer as received, re-encoded as compact JSON
with sorted keys (alpaca-py hands us parsed JSON, not bytes).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.utils import timezone

from ledger import store
from ledger.errors import IdempotencyConflict

from . import streams
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
