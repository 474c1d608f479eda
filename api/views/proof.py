"""Public proof of reserves per token: what the latest reconciliation recorded, with how to verify it."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response

from reconciliation import services as reconciliation
from reconciliation.errors import NoReconciliationYet, UnknownToken

from ..errors import RateLimited, UnknownParameter
from ..openapi import failure, problem_responses
from ..serializers.proof import ProofOfReservesSerializer
from .base import PartnerView

PROOF_EXAMPLE = {
    "token_symbol": "AAPLx", "instrument": "AAPL", "isin": "US0378331005", "tokens_per_share": "1",
    "supply_by_network": [{"network": "ethereum", "tokens_outstanding": "1250", "tokens_outstanding_in_shares": "1250",
                           "block_number": 19876543, "tokens": [{
                               "token_symbol": "AAPLx", "contract_address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                               "chain_id": 1, "base_units": "1250000000000000000000", "decimals": 18}]}],
    "tokens_outstanding_in_shares": "1250", "shares_held": "1265", "shares_owed_back": "10", "shares_leaving": "5",
    "shares_unclaimed": "0", "shares_free": "1250", "backing_ratio": "1", "status": "clean",
    "as_of": "2026-03-02T02:00:03.000000Z", "run_id": "3f1c9a0e-...", "run_finished_at": "2026-03-02T02:00:09.000000Z",
    "run_events_sha256": "9c1e...", "run_last_event_position": 1204551, "run_last_event_hash": "77ab...",
    "instrument_event_position": 1204549,
    "verification": "Fold the hashes of the events of stream reconciliation_run/<run_id> in version order: "
                    "d = sha256_hex(d + event.hash), starting from 64 zeros; compare with run_events_sha256.",
}


class ProofOfReserves(PartnerView):
    """No key needed: anyone holding the token may check its backing."""

    authentication_classes: list = []
    permission_classes: list = []
    serializer_class = ProofOfReservesSerializer

    @extend_schema(
        summary="Proof of reserves of a token", tags=["proof of reserves"], auth=[],
        description="Shares free to back tokens against tokens outstanding on every network, as the latest "
                    "reconciliation that covered the token recorded them (supply read at pinned blocks). Shares "
                    "in custody that are not ours to back tokens (owed back to partners for burned tokens, "
                    "released by journal and not yet booked out, journaled in and claimed by no request) are "
                    "shown apart and do not count in `shares_free` or `backing_ratio`. "
                    "`run_events_sha256` lets anyone with the audit export check the figures against the "
                    "ledger's hash chain. Public: no API key; rate-limited per client address.",
        responses={200: ProofOfReservesSerializer, **problem_responses(
            failure(UnknownToken, "no token with symbol 'NOPEx'"),
            failure(NoReconciliationYet, "no reconciliation has checked AAPL yet"),
            failure(RateLimited, "more than 3000 requests per 60 s from this address; retry in 12 s"),
            failure(UnknownParameter, "unknown query parameter(s): format"))},
        examples=[OpenApiExample("AAPLx", value=PROOF_EXAMPLE, response_only=True)])
    def get(self, request, token_symbol: str):
        return Response(reconciliation.proof_of_reserves(token_symbol))
