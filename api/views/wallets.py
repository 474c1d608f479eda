"""A partner's wallets: it registers them here; operations allowlist them before they receive tokens."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.response import Response

from partners import services as partner_services
from partners.errors import WalletTaken
from partners.models import Wallet

from ..authentication import actor
from ..errors import NotFound
from ..filters import WalletFilter
from ..idempotent import idempotent
from ..openapi import (COMMON_FAILURES, IDEMPOTENCY_PARAMETER, LIST_FAILURES, REPLAYED_HEADER, UNKNOWN_FIELD,
                       WRITE_FAILURES, failure, field_failure, problem_responses)
from ..serializers.wallets import WalletRegistrationSerializer, WalletSerializer
from .base import LIST_PARAMETERS, PartnerView

WALLET_EXAMPLE = {"id": 42, "network": "ethereum", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                  "label": "treasury", "status": "registered", "created_at": "2026-03-02T09:30:00.000000Z",
                  "updated_at": "2026-03-02T09:30:00.000000Z"}


@extend_schema_view(
    get=extend_schema(
        summary="List your wallets", tags=["wallets"], parameters=LIST_PARAMETERS,
        responses={200: WalletSerializer(many=True), **problem_responses(*COMMON_FAILURES, *LIST_FAILURES)},
        examples=[OpenApiExample("wallets", value=WALLET_EXAMPLE, response_only=True)]),
    post=extend_schema(
        summary="Register a wallet", tags=["wallets"], parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER],
        description="Records an address you control (scope mint or redeem). It receives nothing until operations "
                    "allowlist it; registering an address you already registered returns it unchanged.",
        request=WalletRegistrationSerializer,
        responses={201: WalletSerializer, **problem_responses(
            *COMMON_FAILURES, *WRITE_FAILURES, UNKNOWN_FIELD,
            field_failure("invalid_address", "address", "0x7099...79c8 fails its EIP-55 checksum"),
            field_failure("unknown_network", "network", "network must be one of ethereum"),
            field_failure("validation_error", "address", "This field is required."),
            failure(WalletTaken, "0x7099...79C8 on ethereum belongs to another partner"))},
        examples=[OpenApiExample("register", request_only=True, value={
                      "network": "ethereum", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                      "label": "treasury"}),
                  OpenApiExample("registered", response_only=True, status_codes=[201], value=WALLET_EXAMPLE)]),
)
class WalletList(PartnerView, generics.ListAPIView):
    serializer_class = WalletSerializer
    filterset_class = WalletFilter
    required_scopes = {"GET": "read", "POST": ("mint", "redeem")}
    created_field = "registered_at"

    def get_queryset(self):
        return Wallet.objects.filter(partner_id=self.partner_id)

    @idempotent
    def post(self, request):
        form = WalletRegistrationSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        wallet = partner_services.register_wallet(self.partner_id, actor=actor(request), **form.validated_data)
        return Response(WalletSerializer(wallet).data, status=201)


@extend_schema_view(get=extend_schema(
    summary="Retrieve one of your wallets", tags=["wallets"],
    responses={200: WalletSerializer, **problem_responses(*COMMON_FAILURES, failure(NotFound, "no such object"))},
    examples=[OpenApiExample("wallet", value=WALLET_EXAMPLE, response_only=True)]))
class WalletDetail(PartnerView, generics.RetrieveAPIView):
    serializer_class = WalletSerializer

    def get_queryset(self):
        return Wallet.objects.filter(partner_id=self.partner_id)
