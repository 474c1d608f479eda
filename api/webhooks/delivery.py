"""Delivering one webhook: claim it, POST the signed body, record the attempt, schedule the retry.

Claiming moves `next_attempt_at` past the HTTP timeout (a lease) in a short transaction, so two workers never
send the same attempt and no database transaction stays open while we wait on a partner's server. An attempt
ends by its total deadline, inside the lease (egress.py); should it still outlive its claim (a stalled worker),
its result is logged but changes nothing another worker or a redelivery has decided since. A 2xx
answer delivers; anything else (no answer, timeout, 3xx, 4xx, 5xx) retries with exponential backoff until
API_WEBHOOK_MAX_ATTEMPTS, then the delivery is failed and shown in the admin for a manual redelivery.
"""
from __future__ import annotations

import time
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger import canonical

from ..errors import InvalidWebhookUrl
from ..models import WebhookAttempt, WebhookDelivery
from . import egress
from .endpoints import check_url
from .signing import SIGNATURE_HEADER, signature_header

LEASE_MARGIN = timedelta(seconds=30)
USER_AGENT = "shareledger-webhooks/1"


def backoff(attempts: int) -> timedelta:
    """Delay before attempt `attempts + 1`: base, 2x base, 4x base... capped."""
    seconds = settings.API_WEBHOOK_BACKOFF_SECONDS * 2 ** (attempts - 1)
    return timedelta(seconds=min(seconds, settings.API_WEBHOOK_MAX_BACKOFF_SECONDS))


def _claim(delivery_id: int, now: datetime) -> WebhookDelivery | None:
    with transaction.atomic():
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True).select_related("endpoint")
                    .filter(pk=delivery_id, status=WebhookDelivery.Status.PENDING).first())
        if delivery is None or (delivery.next_attempt_at is not None and delivery.next_attempt_at > now):
            return None
        if not delivery.endpoint.active:
            delivery.status = WebhookDelivery.Status.FAILED
            delivery.next_attempt_at = None
            delivery.save(update_fields=["status", "next_attempt_at"])
            return None
        delivery.attempts += 1
        delivery.next_attempt_at = now + timedelta(seconds=settings.API_WEBHOOK_TIMEOUT_SECONDS) + LEASE_MARGIN
        delivery.save(update_fields=["attempts", "next_attempt_at"])
        return delivery


def _post(delivery: WebhookDelivery) -> tuple[int | None, str]:
    """(HTTP status or None, error text)."""
    body = canonical.dumps(delivery.payload).encode("utf-8")
    timestamp = int(time.time())
    headers = {
        "Content-Type": "application/json", "User-Agent": USER_AGENT,
        SIGNATURE_HEADER: signature_header(delivery.endpoint.secret, timestamp, body),
        "X-Shareledger-Event-Id": delivery.event_id, "X-Shareledger-Event-Type": delivery.event_type,
    }
    try:
        check_url(delivery.endpoint.url)  # again at send time: the rules may have changed since registration
        status_code = egress.post(delivery.endpoint.url, body, headers)
    except InvalidWebhookUrl as exc:
        return None, exc.message[:300]
    # The partner reads these texts: they say what went wrong, never our network's own error messages.
    except requests.Timeout:
        return None, f"no complete answer within {settings.API_WEBHOOK_TIMEOUT_SECONDS:g} s"
    except requests.exceptions.SSLError:
        return None, "TLS handshake or certificate verification failed"
    except requests.ConnectionError:
        return None, "connection failed"
    except requests.RequestException:
        return None, "no valid HTTP answer"
    return status_code, "" if 200 <= status_code < 300 else f"HTTP {status_code}"


def deliver(delivery_id: int) -> WebhookDelivery | None:
    """One attempt, if the delivery is pending and due. Returns the delivery after the attempt, or None."""
    delivery = _claim(delivery_id, timezone.now())
    if delivery is None:
        return None
    started = time.monotonic()
    status_code, error = _post(delivery)
    finished = timezone.now()
    with transaction.atomic():
        # Locked, so that a late attempt and a newer one are numbered and checked one after the other.
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        # The log numbers attempts over the delivery's whole life (a redelivery starts a new series of attempts).
        WebhookAttempt.objects.create(delivery=delivery, number=current.attempt_log.count() + 1,
                                      attempted_at=finished, status_code=status_code, error=error,
                                      duration_ms=int((time.monotonic() - started) * 1000))
        claimed = (WebhookDelivery.Status.PENDING, delivery.attempts, delivery.next_attempt_at)
        if (current.status, current.attempts, current.next_attempt_at) != claimed:
            return current  # the claim ran out and was taken, or operations redelivered: theirs is the newer word
        delivery.last_status_code = status_code
        if status_code is not None and 200 <= status_code < 300:
            delivery.status, delivery.delivered_at, delivery.next_attempt_at = WebhookDelivery.Status.DELIVERED, finished, None
        elif delivery.attempts >= settings.API_WEBHOOK_MAX_ATTEMPTS:
            delivery.status, delivery.next_attempt_at = WebhookDelivery.Status.FAILED, None
        else:
            delivery.next_attempt_at = finished + backoff(delivery.attempts)
        delivery.save(update_fields=["status", "delivered_at", "next_attempt_at", "last_status_code"])
    return delivery


def due_deliveries(limit: int = 100) -> list[int]:
    """Pending deliveries whose next attempt is due (new ones have none yet)."""
    now = timezone.now()
    return list(WebhookDelivery.objects.filter(status=WebhookDelivery.Status.PENDING)
                .exclude(next_attempt_at__gt=now).order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])


def redeliver(delivery: WebhookDelivery) -> WebhookDelivery:
    """Operations: send an event again with a fresh series of attempts (same event id: receivers dedupe)."""
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.PENDING, attempts=0,
                                                          next_attempt_at=None)
    delivery.refresh_from_db()
    return delivery
