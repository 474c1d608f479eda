"""Celery edges of webhooks: the follower (beat, every few seconds), one delivery attempt per task, and a
sweeper that picks up retries whose task message was lost (beat)."""
from __future__ import annotations

from celery import shared_task
from django.utils import timezone

from .webhooks import delivery, follower


def _schedule(delivery_id: int, after=None) -> None:
    countdown = 0 if after is None else max(0.0, (after - timezone.now()).total_seconds())
    deliver_webhook.apply_async((delivery_id,), countdown=countdown)


@shared_task(ignore_result=True)
def queue_webhook_deliveries(max_batches: int = 20) -> int:
    """Catch up with the ledger (bounded per run) and send each new delivery's first attempt."""
    queued = 0
    for _ in range(max_batches):
        created, caught_up = follower.queue_deliveries()
        for delivery_id in created:
            _schedule(delivery_id)
        queued += len(created)
        if caught_up:
            break
    return queued


@shared_task(ignore_result=True)
def deliver_webhook(delivery_id: int) -> None:
    attempted = delivery.deliver(delivery_id)
    if attempted is not None and attempted.status == attempted.Status.PENDING:
        _schedule(delivery_id, attempted.next_attempt_at)


@shared_task(ignore_result=True)
def deliver_due_webhooks() -> int:
    due = delivery.due_deliveries()
    for delivery_id in due:
        deliver_webhook(delivery_id)
    return len(due)
