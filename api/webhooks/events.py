"""Which ledger events are status changes a partner hears about, and what each one says.

The webhook event type is `<request kind>.<new status>` (mint_request.signed, redeem_request.burned...),
the same status names the API returns for the request. Events that do not change the status (a rebroadcast,
a receipt seen again after a reorg) are not delivered."""
from __future__ import annotations

from typing import Any

from issuance.models import MintRequest, RedeemRequest
from ledger.store import RecordedEvent

MINT_STATUS_BY_EVENT = {
    "mint_requested": "requested", "mint_approved": "approved", "shares_secured": "secured", "mint_signed": "signed",
    "mint_broadcast": "broadcast", "mint_reorged": "broadcast", "mint_confirmed": "confirmed",
    "mint_completed": "completed", "mint_rejected": "rejected", "mint_cancelled": "cancelled", "mint_failed": "failed",
}
REDEEM_STATUS_BY_EVENT = {
    "redeem_requested": None,  # held or received: the payload says which
    "redeem_assigned": "received", "burn_signed": "signed", "burn_broadcast": "broadcast", "burn_confirmed": "burned",
    "burn_reorged": "broadcast", "shares_released": "completed", "redeem_failed": "failed",
}
EVENT_TYPES = [*MINT_STATUS_BY_EVENT, *REDEEM_STATUS_BY_EVENT]
# Facts an event may carry that a receiver wants without calling back: event field -> webhook field.
CARRIED_FIELDS = {"tx_hash": "tx_hash", "block_number": "block_number", "block_hash": "block_hash",
                  "code": "failure_code", "reason": "failure_reason"}


def new_status(event: RecordedEvent) -> str | None:
    """The request's status after this event, or None when the event changes no status."""
    if event.event_type in ("mint_broadcast", "burn_broadcast") and not event.payload.get("first", True):
        return None  # the same signed transaction sent again: still "broadcast"
    if event.stream_type == "mint_request":
        return MINT_STATUS_BY_EVENT.get(event.event_type)
    if event.stream_type == "redeem_request":
        if event.event_type == "redeem_requested":
            return event.payload["status"]
        return REDEEM_STATUS_BY_EVENT.get(event.event_type)
    return None


def partner_of(event: RecordedEvent) -> str | None:
    """Whose request this is. A redemption from an unknown wallet belongs to nobody until it is assigned."""
    if "partner_id" in event.payload:
        return event.payload["partner_id"]
    model = MintRequest if event.stream_type == "mint_request" else RedeemRequest
    return model.objects.filter(id=event.stream_id).values_list("partner_id", flat=True).first()


def payload(event: RecordedEvent, status: str) -> dict[str, Any]:
    """The JSON a receiver gets. `id` is unique per event: receivers deduplicate on it."""
    data: dict[str, Any] = {"object": event.stream_type, "id": event.stream_id, "status": status,
                            "ledger_event": event.event_type}
    for source, target in CARRIED_FIELDS.items():
        if source in event.payload:
            data[target] = event.payload[source]
    return {"id": f"evt_{event.position}", "type": f"{event.stream_type}.{status}",
            "created_at": event.recorded_at, "data": data}
