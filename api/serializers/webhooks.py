from __future__ import annotations

from rest_framework import serializers

from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .fields import InputSerializer, ReadModelSerializer, StrictCharField


class WebhookEndpointSerializer(ReadModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = ["id", "url", "description", "active", "created_at", "disabled_at"]
        read_only_fields = fields


class CreatedWebhookEndpointSerializer(WebhookEndpointSerializer):
    # Not read_only: drf-spectacular would list it as required, and a replay of the registration omits it.
    secret = serializers.CharField(required=False, help_text="Signing secret. Shown only in this response (not in a "
                                                             "replay with the same Idempotency-Key): store it.")

    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields


class WebhookEndpointRegistrationSerializer(InputSerializer):
    url = StrictCharField(max_length=500, help_text="https URL that accepts POSTed JSON and answers 2xx.")
    description = StrictCharField(max_length=200, required=False, allow_blank=True, default="")

    def validate_url(self, value: str) -> str:
        return serializers.URLField().run_validation(value)


class WebhookAttemptSerializer(ReadModelSerializer):
    class Meta:
        model = WebhookAttempt
        fields = ["number", "attempted_at", "status_code", "error", "duration_ms"]
        read_only_fields = fields


class WebhookDeliverySerializer(ReadModelSerializer):
    attempt_log = WebhookAttemptSerializer(many=True, read_only=True)

    class Meta:
        model = WebhookDelivery
        fields = ["id", "event_id", "event_type", "payload", "status", "attempts", "next_attempt_at",
                  "last_status_code", "created_at", "delivered_at", "attempt_log"]
        read_only_fields = fields
