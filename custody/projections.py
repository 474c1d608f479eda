"""The custody read models, kept by one projector inside each append's transaction (and rebuilt by
`manage.py rebuild_projections`): instruments, the activity cursor of each Alpaca account, our broker
orders, positions observations and imported statements.

Replay-safe: every change is an upsert keyed by something in the event (ISIN, account, client order id,
event position), so applying the whole log after `reset` gives the live state.

`reset` empties every table here except Instrument: other apps point at instruments with foreign keys,
so a rebuild overwrites each instrument's fields from its events instead of deleting the rows.
"""
from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal

from ledger.store import RecordedEvent

from . import streams
from .activities import parse_broker_timestamp
from .models import ActivityCursor, BrokerOrder, Instrument, PositionsObservation, StatementImport
from .statement_import import statement_time

INSTRUMENT_STATUS_EVENTS = {"instrument_paused", "instrument_resumed", "instrument_delisted"}


class CustodyProjector:
    name = "custody"
    stream_types = frozenset({streams.INSTRUMENT, streams.CUSTODY_ACCOUNT, streams.CUSTODY_STATEMENT})

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            if event.stream_type == streams.INSTRUMENT:
                _apply_instrument(event)
            elif event.stream_type == streams.CUSTODY_ACCOUNT:
                _apply_account(event)
            elif event.stream_type == streams.CUSTODY_STATEMENT and event.event_type == "statement_imported":
                _apply_statement(event)

    def reset(self) -> None:
        for model in (ActivityCursor, BrokerOrder, PositionsObservation, StatementImport):
            model.objects.all().delete()


def _apply_instrument(event: RecordedEvent) -> None:
    payload, isin = event.payload, event.stream_id
    if event.event_type == "instrument_created":
        Instrument.objects.update_or_create(isin=isin, defaults={
            "symbol": payload["symbol"], "name": payload["name"], "cusip": payload["cusip"],
            "exchange": payload["exchange"], "status": payload["status"],
            "tokens_per_share": Decimal(payload["tokens_per_share"]),
        })
    elif event.event_type in INSTRUMENT_STATUS_EVENTS:
        Instrument.objects.filter(isin=isin).update(status=payload["status"])
    elif event.event_type == "instrument_ratio_changed":
        Instrument.objects.filter(isin=isin).update(tokens_per_share=Decimal(payload["tokens_per_share"]))
    elif event.event_type == "instrument_symbol_changed":
        Instrument.objects.filter(isin=isin).update(symbol=payload["symbol"])


def _apply_account(event: RecordedEvent) -> None:
    payload, account = event.payload, event.stream_id
    activity_id = payload.get("activity_id")
    if activity_id:
        cursor = ActivityCursor.objects.filter(account_name=account).first()  # the append lock serializes us
        if cursor is None:
            ActivityCursor.objects.create(account_name=account, last_activity_id=activity_id,
                                          event_position=event.position)
        elif activity_id > cursor.last_activity_id:  # a rescan may record an older activity it had missed
            cursor.last_activity_id, cursor.event_position = activity_id, event.position
            cursor.save(update_fields=["last_activity_id", "event_position"])
    elif event.event_type == "order_submitted":
        BrokerOrder.objects.update_or_create(account_name=account, client_order_id=payload["client_order_id"], defaults={
            "request_id": payload["request_id"], "broker_order_id": payload["broker_order_id"],
            "symbol": payload["symbol"], "side": payload["side"], "qty": Decimal(payload["qty"]),
            "status": "submitted", "submitted_at": _timestamp(payload["submitted_at"], event.recorded_at),
            "event_position": event.position,
        })
    elif event.event_type in ("order_filled", "order_closed"):
        BrokerOrder.objects.filter(account_name=account, client_order_id=payload["client_order_id"]).update(
            status=payload["status"], filled_qty=Decimal(payload["filled_qty"]),
            filled_avg_price=Decimal(payload["filled_avg_price"]) if payload["filled_avg_price"] else None,
            event_position=event.position,
        )
    elif event.event_type == "positions_observed":
        PositionsObservation.objects.update_or_create(event_position=event.position, defaults={
            "account_name": account, "observed_at": datetime.fromisoformat(payload["as_of"]),
            "raw_sha256": payload["raw_sha256"], "positions": payload["positions"],
        })


def _apply_statement(event: RecordedEvent) -> None:
    payload = event.payload
    StatementImport.objects.update_or_create(event_position=event.position, defaults={
        "account_name": event.stream_id, "file_sha256": payload["file_sha256"], "filename": payload["filename"],
        "format": payload["format"], "statement_date": date.fromisoformat(payload["statement_date"]),
        "as_of": payload["as_of"], "holdings": payload["holdings"], "imported_at": event.recorded_at,
        "statement_time": statement_time(date.fromisoformat(payload["statement_date"]), payload["as_of"]),
    })


def _timestamp(text: str | None, fallback: datetime) -> datetime:
    return parse_broker_timestamp(text) or fallback
