"""Instruments and their token deployments: reference data every partner may read."""
from __future__ import annotations

from django.db.models import Prefetch
from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics

from custody.models import Instrument
from issuance.models import TokenDeployment

from ..errors import NotFound
from ..filters import InstrumentFilter, TokenDeploymentFilter
from ..openapi import COMMON_FAILURES, LIST_FAILURES, failure, problem_responses
from ..serializers.instruments import InstrumentSerializer, TokenDeploymentSerializer
from .base import LIST_PARAMETERS, PartnerView

DEPLOYMENT_EXAMPLE = {
    "id": "ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3", "symbol": "AAPL", "token_symbol": "AAPLx",
    "network": "ethereum", "chain_id": 1, "contract_address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "decimals": 18, "status": "active", "created_at": "2026-03-02T09:30:00.000000Z",
}
INSTRUMENT_EXAMPLE = {
    "symbol": "AAPL", "name": "Apple Inc.", "isin": "US0378331005", "cusip": "037833100", "exchange": "XNAS",
    "status": "active", "tokens_per_share": "1", "token_deployments": [DEPLOYMENT_EXAMPLE],
    "created_at": "2026-03-01T08:00:00.000000Z",
}


def _instruments():
    active = TokenDeployment.objects.filter(status=TokenDeployment.Status.ACTIVE).select_related("instrument")
    return Instrument.objects.prefetch_related(Prefetch("token_deployments", queryset=active,
                                                        to_attr="active_deployments"))


@extend_schema_view(get=extend_schema(
    summary="List instruments", tags=["instruments"], parameters=LIST_PARAMETERS,
    description="Every listed stock with its status (active, paused, delisted) and active token contracts.",
    responses={200: InstrumentSerializer(many=True), **problem_responses(*COMMON_FAILURES, *LIST_FAILURES)},
    examples=[OpenApiExample("instruments", value=INSTRUMENT_EXAMPLE, response_only=True)],
))
class InstrumentList(PartnerView, generics.ListAPIView):
    serializer_class = InstrumentSerializer
    filterset_class = InstrumentFilter

    def get_queryset(self):
        return _instruments()


@extend_schema_view(get=extend_schema(
    summary="Retrieve an instrument", tags=["instruments"],
    responses={200: InstrumentSerializer, **problem_responses(*COMMON_FAILURES, failure(NotFound, "no such object"))},
    examples=[OpenApiExample("AAPL", value=INSTRUMENT_EXAMPLE, response_only=True)],
))
class InstrumentDetail(PartnerView, generics.RetrieveAPIView):
    serializer_class = InstrumentSerializer
    lookup_field = "symbol"

    def get_queryset(self):
        return _instruments()


@extend_schema_view(get=extend_schema(
    summary="List token deployments", tags=["instruments"], parameters=LIST_PARAMETERS,
    description="Token contracts per instrument and network, including retired ones (filter ?status=active).",
    responses={200: TokenDeploymentSerializer(many=True), **problem_responses(*COMMON_FAILURES, *LIST_FAILURES)},
    examples=[OpenApiExample("deployments", value=DEPLOYMENT_EXAMPLE, response_only=True)],
))
class TokenDeploymentList(PartnerView, generics.ListAPIView):
    serializer_class = TokenDeploymentSerializer
    filterset_class = TokenDeploymentFilter
    created_field = "deployed_at"

    def get_queryset(self):
        return TokenDeployment.objects.select_related("instrument")
