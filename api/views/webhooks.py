"""A partner's webhook endpoints and their delivery log (scope read: they carry what the partner may read)."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.response import Response

from ..errors import InvalidWebhookUrl, NotFound, TooManyWebhookEndpoints
from ..filters import WebhookDeliveryFilter
from ..idempotent import idempotent
from ..models import WebhookDelivery, WebhookEndpoint
from ..openapi import (COMMON_FAILURES, IDEMPOTENCY_PARAMETER, LIST_FAILURES, REPLAYED_HEADER, UNKNOWN_FIELD,
                       WRITE_FAILURES, failure, field_failure, problem_responses)
from ..serializers.webhooks import (CreatedWebhookEndpointSerializer, WebhookDeliverySerializer,
                                    WebhookEndpointRegistrationSerializer, WebhookEndpointSerializer)
from ..webhooks import endpoints
from .base import LIST_PARAMETERS, PartnerView

ENDPOINT_EXAMPLE = {"id": 7, "url": "https://partner.example/hooks/shareledger", "description": "prod",
                    "active": True, "created_at": "2026-03-02T09:30:00.000000Z", "disabled_at": None}
DELIVERY_EXAMPLE = {
    "id": 981, "event_id": "evt_120455", "event_type": "mint_request.confirmed",
    "payload": {"id": "evt_120455", "type": "mint_request.confirmed", "created_at": "2026-03-02T09:31:02.512000Z",
                "data": {"object": "mint_request", "id": "mr_3kq9x2", "status": "confirmed",
                         "ledger_event": "mint_confirmed", "block_number": 19876543,
                         "block_hash": "0x9f...", "tx_hash": "0x5c..."}},
    "status": "delivered", "attempts": 2, "next_attempt_at": None, "last_status_code": 200,
    "created_at": "2026-03-02T09:31:03.000000Z", "delivered_at": "2026-03-02T09:31:14.100000Z",
    "attempt_log": [
        {"number": 1, "attempted_at": "2026-03-02T09:31:03.200000Z", "status_code": 503, "error": "HTTP 503",
         "duration_ms": 41},
        {"number": 2, "attempted_at": "2026-03-02T09:31:14.100000Z", "status_code": 200, "error": "",
         "duration_ms": 37}],
}
NOT_FOUND = failure(NotFound, "no such object")


@extend_schema_view(
    get=extend_schema(
        summary="List your webhook endpoints", tags=["webhooks"], parameters=LIST_PARAMETERS,
        responses={200: WebhookEndpointSerializer(many=True), **problem_responses(*COMMON_FAILURES, *LIST_FAILURES)},
        examples=[OpenApiExample("endpoints", value=ENDPOINT_EXAMPLE, response_only=True)]),
    post=extend_schema(
        summary="Register a webhook endpoint", tags=["webhooks"], parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER],
        description="Status changes of your mint and redeem requests are POSTed to this URL, signed with the "
                    "secret returned here once (see the webhook guide, docs/webhooks.md). A replay of this "
                    "registration (same Idempotency-Key) returns the endpoint without `secret`.",
        request=WebhookEndpointRegistrationSerializer,
        responses={201: CreatedWebhookEndpointSerializer, **problem_responses(
            *COMMON_FAILURES, *WRITE_FAILURES, UNKNOWN_FIELD,
            failure(InvalidWebhookUrl, "webhook URL must be an absolute https URL"),
            field_failure("validation_error", "url", "Enter a valid URL."),
            failure(TooManyWebhookEndpoints, "a partner may have at most 10 active endpoints"))},
        examples=[OpenApiExample("register", request_only=True,
                                 value={"url": "https://partner.example/hooks/shareledger", "description": "prod"}),
                  OpenApiExample("registered", response_only=True, status_codes=[201],
                                 value={**ENDPOINT_EXAMPLE, "secret": "whsec_L4e...q0"})]),
)
class WebhookEndpointList(PartnerView, generics.ListAPIView):
    serializer_class = WebhookEndpointSerializer
    required_scopes = {"GET": "read", "POST": "read"}

    def get_queryset(self):
        return WebhookEndpoint.objects.filter(partner_id=self.partner_id)

    @idempotent(shown_once=("secret",))
    def post(self, request):
        form = WebhookEndpointRegistrationSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        endpoint = endpoints.register_endpoint(self.partner_id, **form.validated_data)
        return Response(CreatedWebhookEndpointSerializer(endpoint).data, status=201)


@extend_schema_view(
    get=extend_schema(
        summary="Retrieve a webhook endpoint", tags=["webhooks"],
        responses={200: WebhookEndpointSerializer, **problem_responses(*COMMON_FAILURES, NOT_FOUND)},
        examples=[OpenApiExample("endpoint", value=ENDPOINT_EXAMPLE, response_only=True)]),
    delete=extend_schema(
        summary="Disable a webhook endpoint", tags=["webhooks"], parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER],
        description="Stops deliveries to it. The endpoint and its delivery log stay readable.",
        responses={200: WebhookEndpointSerializer,
                   **problem_responses(*COMMON_FAILURES, *WRITE_FAILURES, NOT_FOUND)},
        examples=[OpenApiExample("disabled", response_only=True,
                                 value={**ENDPOINT_EXAMPLE, "active": False,
                                        "disabled_at": "2026-03-09T10:00:00.000000Z"})]),
)
class WebhookEndpointDetail(PartnerView, generics.RetrieveAPIView):
    serializer_class = WebhookEndpointSerializer
    required_scopes = {"GET": "read", "DELETE": "read"}

    def get_queryset(self):
        return WebhookEndpoint.objects.filter(partner_id=self.partner_id)

    @idempotent
    def delete(self, request, pk):
        endpoint = endpoints.disable_endpoint(self.get_object())
        return Response(WebhookEndpointSerializer(endpoint).data)


@extend_schema_view(get=extend_schema(
    summary="Delivery log of a webhook endpoint", tags=["webhooks"], parameters=LIST_PARAMETERS,
    description="Every event queued for this endpoint with each attempt and what your server answered.",
    responses={200: WebhookDeliverySerializer(many=True),
               **problem_responses(*COMMON_FAILURES, *LIST_FAILURES, NOT_FOUND)},
    examples=[OpenApiExample("deliveries", value=DELIVERY_EXAMPLE, response_only=True)]))
class WebhookDeliveryList(PartnerView, generics.ListAPIView):
    serializer_class = WebhookDeliverySerializer
    filterset_class = WebhookDeliveryFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return WebhookDelivery.objects.none()
        endpoint = WebhookEndpoint.objects.filter(partner_id=self.partner_id, pk=self.kwargs["pk"]).first()
        if endpoint is None:
            raise NotFound("no such object")
        return WebhookDelivery.objects.filter(endpoint=endpoint).prefetch_related("attempt_log")
