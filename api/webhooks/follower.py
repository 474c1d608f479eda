"""Turns status changes of partners' requests into webhook deliveries, exactly once.

It reads the ledger after its checkpoint and, in one transaction, inserts the deliveries and moves the
checkpoint: a crash before commit leaves both untouched (the next run redoes the batch), a crash after
leaves both done. Positions commit in order (see ledger.store), so reading "after N" never skips an event.
"""
from __future__ import annotations

from django.db import transaction

from ledger import canonical, store

from ..models import WebhookDelivery, WebhookEndpoint, WebhookFollowerCheckpoint
from . import events

CHECKPOINT = "webhooks"


def queue_deliveries(batch_size: int = 500) -> tuple[list[int], bool]:
    """Queue deliveries for the next batch of events: (ids of the deliveries created, caught up with the log).

    The first run starts at the head of the log: history from before webhooks existed is not delivered."""
    with transaction.atomic():
        head = store.head_position()  # read before the batch: every event up to it is committed
        checkpoint, _ = WebhookFollowerCheckpoint.objects.select_for_update().get_or_create(
            name=CHECKPOINT, defaults={"position": head})
        batch = store.read_all(after_position=checkpoint.position, limit=batch_size, event_types=events.EVENT_TYPES)
        endpoints_by_partner: dict[str, list[WebhookEndpoint]] = {}
        deliveries = []
        for event in batch:
            status = events.new_status(event)
            partner_id = events.partner_of(event) if status else None
            if partner_id is None:
                continue
            if partner_id not in endpoints_by_partner:
                endpoints_by_partner[partner_id] = list(WebhookEndpoint.objects.filter(partner_id=partner_id, active=True))
            body = canonical.normalize_json(events.payload(event, status))
            deliveries += [WebhookDelivery(endpoint=endpoint, event_id=body["id"], event_type=body["type"], payload=body)
                           for endpoint in endpoints_by_partner[partner_id]]
        created = WebhookDelivery.objects.bulk_create(deliveries)  # unique per (endpoint, event): a double queue fails loudly
        full = len(batch) == batch_size
        checkpoint.position = batch[-1].position if full else max(head, batch[-1].position if batch else 0,
                                                                   checkpoint.position)
        checkpoint.save(update_fields=["position"])
    return [delivery.pk for delivery in created], not full
