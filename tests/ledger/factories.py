"""Small builders so ledger tests read like the business."""
from __future__ import annotations

from decimal import Decimal

from ledger.store import NewEvent, Posting

ACTOR = {"actor": "user:test-ops"}


def transfer(event_type: str, debit: str, credit: str, amount: str, asset: str = "AAPL", **kwargs) -> NewEvent:
    """An event moving `amount` of `asset` into `debit` from `credit` (two balanced legs)."""
    qty = Decimal(amount)
    return NewEvent(event_type, {"qty": qty, "asset": asset}, [Posting(debit, asset, qty), Posting(credit, asset, qty.copy_negate())], **kwargs)
