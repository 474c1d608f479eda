"""Mint and redeem requests: a partner creates and follows its own; another partner's request is a 404."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema, extend_schema_view
from rest_framework import generics
from rest_framework.response import Response

from issuance import errors as issuance_errors
from issuance import services as issuance
from issuance.models import MintRequest, RedeemRequest
from ledger.errors import ConcurrencyError

from ..authentication import actor
from ..errors import NotFound
from ..filters import MintRequestFilter, RedeemRequestFilter
from ..idempotent import HEADER, idempotent
from ..openapi import (COMMON_FAILURES, IDEMPOTENCY_PARAMETER, LIST_FAILURES, REPLAYED_HEADER, UNKNOWN_FIELD,
                       WRITE_FAILURES, Failure, failure, field_failure, problem_responses)
from ..serializers.requests import (CancelSerializer, MintRequestCreateSerializer, MintRequestSerializer,
                                    RedeemRequestCreateSerializer, RedeemRequestSerializer, columns)
from .base import LIST_PARAMETERS, PartnerView

MINT_EXAMPLE = {
    "id": "9b2f6c1e-3d4a-4f5b-8c7d-1e2f3a4b5c6d", "status": "approved", "symbol": "AAPL", "network": "ethereum",
    "token": "ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "wallet_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "quantity": "25", "needs_second_approval": False,
    "tx_hash": "", "block_number": None, "failure_code": "", "failure_reason": "",
    "created_at": "2026-03-02T09:30:00.000000Z", "approved_at": "2026-03-02T09:30:00.000000Z", "secured_at": None,
    "signed_at": None, "broadcast_at": None, "confirmed_at": None, "completed_at": None, "ended_at": None,
}
REDEEM_EXAMPLE = {
    "id": "0f8e7d6c-5b4a-5392-8170-6f5e4d3c2b1a", "status": "received", "symbol": "AAPL", "network": "ethereum",
    "token": "ethereum:0x5FbDB2315678afecb367f032d93F642f64180aa3",
    "from_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "deposit_tx_hash": "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060", "deposit_log_index": 0,
    "quantity": "10", "release_method": "journal", "burn_tx_hash": "", "block_number": None, "failure_code": "",
    "failure_reason": "", "created_at": "2026-03-05T14:00:00.000000Z", "burned_at": None, "completed_at": None,
    "ended_at": None,
}
NOT_FOUND = failure(NotFound, "no such object")
# The request changed (approved, secured, signed...) between reading it and recording this call: retry.
STALE = failure(ConcurrencyError, "stream mint_request/9b2f... is at version 3, caller expected 2")
MINT_COLUMNS = columns(MintRequestSerializer)
REDEEM_COLUMNS = columns(RedeemRequestSerializer)
# What a mint request can be refused for, beyond authentication and idempotency.
MINT_FAILURES = (
    UNKNOWN_FIELD,
    field_failure("invalid_quantity", "quantity", "qty 1.1234567 has more than 6 decimal places"),
    field_failure("invalid_address", "wallet_address", "0x7099...79c8 fails its EIP-55 checksum"),
    field_failure("unknown_symbol", "symbol", "no instrument 'ZZZZ' is listed"),
    field_failure("unknown_network", "network", "network must be one of ethereum"),
    field_failure("validation_error", "quantity", "This field is required."),
    failure(issuance_errors.KycNotApproved, "partner ap-1 KYC is pending"),
    failure(issuance_errors.InstrumentNotAllowed, "partner ap-1 may not mint TSLA"),
    failure(issuance_errors.WalletNotAllowlisted, "0x7099...79C8 is not an allowlisted wallet of ap-1 on ethereum"),
    failure(issuance_errors.InstrumentPaused, "AAPL is paused"),
    failure(issuance_errors.TokenNotDeployed, "AAPL has no token on base"),
    failure(issuance_errors.CapExceeded, "500 tokens exceeds partner ap-1's per-request cap of 100"),
)
REDEEM_FAILURES = (
    UNKNOWN_FIELD,
    field_failure("invalid_tx_hash", "tx_hash", "tx_hash must be 0x followed by 64 hex digits"),
    field_failure("invalid_quantity", "quantity", "quantity must be greater than zero"),
    field_failure("unknown_symbol", "symbol", "no instrument 'ZZZZ' is listed"),
    field_failure("unknown_network", "network", "network must be one of ethereum"),
    field_failure("validation_error", "release_method", "\"wire\" is not a valid choice."),
    failure(issuance_errors.InvalidQuantity, "the transfer moved 10 tokens, not 12"),
    failure(issuance_errors.DepositNotFound, "transaction 0x5c50... moved no AAPLx to the redemption wallet"),
    failure(issuance_errors.WalletNotAllowlisted, "0x7099...79C8 is not an allowlisted wallet of ap-1 on ethereum"),
    failure(issuance_errors.TokenNotDeployed, "AAPL has no token on base"),
    failure(issuance_errors.RedeemAlreadyFiled,
            "deposit 0x5c50... was already filed with release method 'journal', not 'sell'"),
    Failure(503, "chain_unavailable", "the network's RPC endpoint did not answer; retry later"),
)


@extend_schema_view(
    get=extend_schema(
        summary="List your mint requests", tags=["mint requests"], parameters=LIST_PARAMETERS,
        responses={200: MintRequestSerializer(many=True), **problem_responses(*COMMON_FAILURES, *LIST_FAILURES)},
        examples=[OpenApiExample("mint requests", value=MINT_EXAMPLE, response_only=True)]),
    post=extend_schema(
        summary="Request a mint", tags=["mint requests"], parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER],
        description="Ask for `quantity` tokens of `symbol` on `network`, delivered to one of your allowlisted "
                    "wallets (scope mint). Every rule (KYC, allowed instruments, wallet, caps, instrument status) "
                    "is checked before anything is recorded. Mints above the approval threshold wait for a second "
                    "approval at the issuer (`needs_second_approval`). The reserve check (shares in custody) runs "
                    "when the mint is signed: a shortfall then fails the request with `failure_code` "
                    "`insufficient_reserves`, delivered by webhook.",
        request=MintRequestCreateSerializer,
        responses={201: MintRequestSerializer, **problem_responses(*COMMON_FAILURES, *WRITE_FAILURES, *MINT_FAILURES)},
        examples=[OpenApiExample("mint 25 AAPLx", request_only=True, value={
                      "symbol": "AAPL", "network": "ethereum", "quantity": "25",
                      "wallet_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8"}),
                  OpenApiExample("created", response_only=True, status_codes=[201], value=MINT_EXAMPLE)]),
)
class MintRequestList(PartnerView, generics.ListAPIView):
    serializer_class = MintRequestSerializer
    filterset_class = MintRequestFilter
    required_scopes = {"GET": "read", "POST": "mint"}
    created_field = "requested_at"

    def get_queryset(self):
        return (MintRequest.objects.filter(partner_id=self.partner_id).select_related("instrument")
                .only(*MINT_COLUMNS))

    @idempotent
    def post(self, request):
        form = MintRequestCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        order = form.validated_data
        # The service's key scope is the partner's, shared with the broker's ITN mints (itn:<request id>):
        # prefixed, a partner's key can never name (or block) one of those.
        mint = issuance.request_mint(self.partner_id, order["symbol"], order["quantity"], order["network"],
                                     order["wallet_address"], actor(request),
                                     idempotency_key=f"api:{request.headers[HEADER]}")
        return Response(MintRequestSerializer(mint).data, status=201)


@extend_schema_view(get=extend_schema(
    summary="Retrieve one of your mint requests", tags=["mint requests"],
    responses={200: MintRequestSerializer, **problem_responses(*COMMON_FAILURES, NOT_FOUND)},
    examples=[OpenApiExample("mint request", value=MINT_EXAMPLE, response_only=True)]))
class MintRequestDetail(PartnerView, generics.RetrieveAPIView):
    serializer_class = MintRequestSerializer

    def get_queryset(self):
        return (MintRequest.objects.filter(partner_id=self.partner_id).select_related("instrument")
                .only(*MINT_COLUMNS))


@extend_schema_view(post=extend_schema(
    summary="Cancel one of your mint requests", tags=["mint requests"],
    parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER],
    description="Possible until the mint is signed (requested, approved or secured). Shares you already "
                "delivered for it are owed back to you (scope mint). If the mint changes at that very moment "
                "(409 `stale_expected_version`), read it again and retry.",
    request=CancelSerializer,
    responses={200: MintRequestSerializer, **problem_responses(
        *COMMON_FAILURES, *WRITE_FAILURES, UNKNOWN_FIELD, NOT_FOUND, STALE,
        failure(issuance_errors.InvalidState, "mint 9b2f... is signed; it can no longer be cancelled"))},
    examples=[OpenApiExample("cancel", request_only=True, value={"reason": "client withdrew the order"}),
              OpenApiExample("cancelled", response_only=True, value={
                  **MINT_EXAMPLE, "status": "cancelled", "failure_code": "cancelled",
                  "failure_reason": "client withdrew the order", "ended_at": "2026-03-02T09:35:00.000000Z"})]))
class MintRequestCancel(PartnerView):
    serializer_class = MintRequestSerializer
    required_scopes = {"POST": "mint"}

    def get_queryset(self):
        return MintRequest.objects.filter(partner_id=self.partner_id)

    @idempotent
    def post(self, request, pk):
        form = CancelSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        mint = issuance.cancel_mint(self.get_object().id, actor(request), form.validated_data["reason"])
        return Response(MintRequestSerializer(mint).data)


@extend_schema_view(
    get=extend_schema(
        summary="List your redeem requests", tags=["redeem requests"], parameters=LIST_PARAMETERS,
        responses={200: RedeemRequestSerializer(many=True), **problem_responses(*COMMON_FAILURES, *LIST_FAILURES)},
        examples=[OpenApiExample("redeem requests", value=REDEEM_EXAMPLE, response_only=True)]),
    post=extend_schema(
        summary="File a redemption", tags=["redeem requests"], parameters=[IDEMPOTENCY_PARAMETER, REPLAYED_HEADER],
        description="After sending tokens from one of your allowlisted wallets to the redemption wallet, file the "
                    "transfer (scope redeem). It is verified on chain; the tokens are burned and the shares "
                    "released to you. Deposits from allowlisted wallets are also picked up without filing (release "
                    "by journal; your first filing of such a deposit may still choose `sell` until the burn is "
                    "signed); filing the same deposit twice returns the same redemption (409 `redeem_already_filed` "
                    "if the second filing asks for another `release_method`: the first one stands).",
        request=RedeemRequestCreateSerializer,
        responses={201: RedeemRequestSerializer,
                   **problem_responses(*COMMON_FAILURES, *WRITE_FAILURES, *REDEEM_FAILURES)},
        examples=[OpenApiExample("redeem", request_only=True, value={
                      "symbol": "AAPL", "network": "ethereum", "quantity": "10", "release_method": "journal",
                      "tx_hash": "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"}),
                  OpenApiExample("filed", response_only=True, status_codes=[201], value=REDEEM_EXAMPLE)]),
)
class RedeemRequestList(PartnerView, generics.ListAPIView):
    serializer_class = RedeemRequestSerializer
    filterset_class = RedeemRequestFilter
    required_scopes = {"GET": "read", "POST": "redeem"}
    created_field = "requested_at"

    def get_queryset(self):
        return (RedeemRequest.objects.filter(partner_id=self.partner_id).select_related("instrument")
                .only(*REDEEM_COLUMNS))

    @idempotent
    def post(self, request):
        form = RedeemRequestCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        filing = form.validated_data
        redeem = issuance.request_redeem(self.partner_id, filing["symbol"], filing["network"], filing["tx_hash"],
                                         actor(request), qty=filing.get("quantity"),
                                         release_method=filing["release_method"])
        return Response(RedeemRequestSerializer(redeem).data, status=201)


@extend_schema_view(get=extend_schema(
    summary="Retrieve one of your redeem requests", tags=["redeem requests"],
    responses={200: RedeemRequestSerializer, **problem_responses(*COMMON_FAILURES, NOT_FOUND)},
    examples=[OpenApiExample("redeem request", value=REDEEM_EXAMPLE, response_only=True)]))
class RedeemRequestDetail(PartnerView, generics.RetrieveAPIView):
    serializer_class = RedeemRequestSerializer

    def get_queryset(self):
        return (RedeemRequest.objects.filter(partner_id=self.partner_id).select_related("instrument")
                .only(*REDEEM_COLUMNS))
