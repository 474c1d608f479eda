"""API credentials and webhook delivery state.

`ApiKey` is not a projection of the ledger: the log records who created, rotated and revoked each key
(stream api_key/<prefix>), but never the secret nor its hash, so an audit export cannot be used to verify
guesses of a partner's credential. The row is written in the same transaction as the event that describes it.
"""
from __future__ import annotations

from django.db import models

from partners.models import Partner


class ApiKey(models.Model):
    class Scope(models.TextChoices):
        READ = "read"
        MINT = "mint"
        REDEEM = "redeem"

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="api_keys")
    prefix = models.CharField(max_length=32, unique=True, help_text="Public part of the key (slk_<prefix>_<secret>).")
    secret_sha256 = models.CharField(max_length=64, help_text="SHA-256 of the 256-bit secret; the secret is never stored.")
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField()
    created_by = models.CharField(max_length=100)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    rotated_from = models.OneToOneField("self", on_delete=models.PROTECT, null=True, blank=True,
                                        related_name="rotated_to")

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"slk_{self.prefix} ({self.partner_id})"


class WebhookEndpoint(models.Model):
    """A URL a partner registered to receive status changes of its requests.

    The signing secret must be kept in clear: we sign with it (a hash would not do). It is returned once,
    in the response that registered the endpoint."""

    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="webhook_endpoints")
    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    secret = models.CharField(max_length=80)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["partner", "active"], name="api_webhook_partner_active")]

    def __str__(self) -> str:
        return f"{self.partner_id} -> {self.url}"


class WebhookDelivery(models.Model):
    """One event to deliver to one endpoint; unique per (endpoint, event) so the follower queues it once."""

    class Status(models.TextChoices):
        PENDING = "pending"  # waiting for its next attempt
        DELIVERED = "delivered"  # the receiver answered 2xx
        FAILED = "failed"  # every attempt failed; operations can redeliver from the admin

    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries")
    event_id = models.CharField(max_length=64, help_text="evt_<ledger position>: receivers deduplicate on it.")
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="Attempts in the current series (a redelivery restarts it).")
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    delivered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["endpoint", "event_id"], name="api_delivery_once_per_event")]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="api_delivery_due")]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_id} -> endpoint {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    """The delivery log: one row per HTTP attempt, with what the receiver answered."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty: no HTTP answer.")
    error = models.CharField(max_length=300, blank=True)
    duration_ms = models.PositiveIntegerField()

    class Meta:
        ordering = ["delivery_id", "number"]
        constraints = [models.UniqueConstraint(fields=["delivery", "number"], name="api_attempt_number")]


class WebhookFollowerCheckpoint(models.Model):
    """Ledger position up to which the webhook follower has queued deliveries; moved in the same transaction
    as the deliveries it queued, so each event is turned into deliveries exactly once."""

    name = models.CharField(max_length=50, unique=True)
    position = models.BigIntegerField(default=0)
