"""What every partner endpoint shares: the partner comes from the API key, never from the request."""
from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter
from rest_framework import generics

from ..errors import UnknownParameter
from ..pagination import MAX_LIMIT, ORDERINGS, QUERY_PARAMETERS

LIST_PARAMETERS = [
    OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT},
                     description=f"Page size, 1-{MAX_LIMIT} (default 50)."),
    OpenApiParameter("ordering", str, enum=list(ORDERINGS), description="Newest first by default."),
]


class PartnerView(generics.GenericAPIView):
    """Base of the partner API's views. `required_scopes` maps HTTP methods to the scope they need."""

    http_method_names = ["get", "post", "delete", "head"]  # no OPTIONS: the OpenAPI document describes the API
    required_scopes: dict = {"GET": "read"}
    created_field = "created_at"

    @property
    def partner_id(self) -> str | None:
        # No key only while drf-spectacular introspects the view (swagger_fake_view): match nothing.
        return self.request.auth.partner_id if self.request.auth is not None else None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # authentication, scope and rate limit answer first
        if not hasattr(self, request.method.lower()):
            return  # 405 Method Not Allowed comes next, whatever the query says
        unknown = sorted(set(request.query_params) - self.query_parameters())
        if unknown:
            raise UnknownParameter(f"unknown query parameter(s): {', '.join(unknown)}")

    def query_parameters(self) -> set[str]:
        """Lists take paging parameters and their filters; nothing else takes query parameters."""
        if self.request.method not in ("GET", "HEAD") or not hasattr(self, "list"):
            return set()
        filterset_class = getattr(self, "filterset_class", None)
        return QUERY_PARAMETERS | set(filterset_class.base_filters if filterset_class else ())
