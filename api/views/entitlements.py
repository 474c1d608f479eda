"""Dividend and split entitlements of the partner's wallets, computed by corporate_actions."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics

from corporate_actions import services as corporate_actions
from partners.models import Wallet

from ..openapi import COMMON_FAILURES, LIST_FAILURES, field_failure, problem_responses
from ..pagination import MAX_LIMIT, ListOffsetPagination
from ..serializers.entitlements import EntitlementQuerySerializer, EntitlementSerializer
from .base import PartnerView

ENTITLEMENT_EXAMPLE = {
    "action_id": "dvca-AAPL-2026-05-15", "run_id": "run-7c1d", "kind": "dividend_airdrop", "symbol": "AAPL",
    "network": "ethereum", "address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8", "record_date": "2026-05-12",
    "pay_date": "2026-05-15", "currency": "USD", "balance_units": "33500000000000000000", "shares": "33.5",
    "tax_category": "treaty_15", "tax_rate": "0.15", "gross": "8.79", "tax": "1.32", "fee": "0", "net": "7.47",
    "outcome": "pay", "amount": "7.47", "units": "7470000", "status": "paid",
    "tx_hash": "0x8a5e...", "paid_at": "2026-05-15T14:02:11.000000Z",
}


@extend_schema_view(get=extend_schema(
    summary="Dividend and split entitlements of your wallets", tags=["entitlements"],
    description="What each of your allowlisted wallets is owed (or was paid) for each dividend or split, newest "
                "first: balance at the record date, gross, withholding, fee, net, and the payout transaction. "
                "A wallet registered but not yet allowlisted (or revoked) shows nothing.",
    parameters=[EntitlementQuerySerializer,
                OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                                 description=f"Page size, 1-{MAX_LIMIT} (default 50).")],
    responses={200: EntitlementSerializer(many=True), **problem_responses(
        *COMMON_FAILURES, *LIST_FAILURES, field_failure("validation_error", "status", '"owed" is not a valid choice.'))},
    examples=[OpenApiExample("entitlements", value=ENTITLEMENT_EXAMPLE, response_only=True)]))
class EntitlementList(PartnerView, generics.ListAPIView):
    serializer_class = EntitlementSerializer
    pagination_class = ListOffsetPagination
    filter_backends: list = []

    def query_parameters(self) -> set[str]:
        return {"cursor", "limit", *EntitlementQuerySerializer().fields}

    def get_queryset(self) -> list:
        query = EntitlementQuerySerializer(data=self.request.query_params.dict())  # a plain dict: "" is not "absent"
        query.is_valid(raise_exception=True)
        wanted = query.validated_data
        # Only wallets operations allowlisted: anyone can register any address (no proof of control), and a
        # registration must not reveal a stranger's holdings, tax category and payouts.
        wallets = set(Wallet.objects.filter(partner_id=self.partner_id, status=Wallet.Status.ALLOWLISTED)
                      .values_list("network", "address"))
        # The service selects by address; a wallet is an address on one network, so keep only the partner's pairs.
        return [item for item in corporate_actions.entitlements_for_wallets(sorted({a for _, a in wallets}))
                if (item.network, item.address) in wallets and _matches(item, wanted)]


def _matches(item, wanted: dict) -> bool:
    record_date = item.record_date
    return (all(getattr(item, name) == wanted[name] for name in ("status", "kind", "symbol", "network") if name in wanted)
            and ("record_date_from" not in wanted or (record_date is not None and record_date >= wanted["record_date_from"]))
            and ("record_date_to" not in wanted or (record_date is not None and record_date <= wanted["record_date_to"])))
