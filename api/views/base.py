"""What every partner endpoint shares: the partner comes from the API key, never from the request."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics

from ..pagination import MAX_LIMIT, ORDERINGS

LIST_PARAMETERS = [
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                     description=f"Page size, 1-{MAX_LIMIT} (default 50)."),
    OpenApiParameter("ordering", str, enum=list(ORDERINGS), description="Newest first by default."),
]


class PartnerView(generics.GenericAPIView):
    """Base of the partner API's views. `required_scopes` maps HTTP methods to the scope they need."""

    required_scopes: dict = {"GET": "read"}
    created_field = "created_at"

    @property
    def partner_id(self) -> str | None:
        # No key only while drf-spectacular introspects the view (swagger_fake_view): match nothing.
        return self.request.auth.partner_id if self.request.auth is not None else None
