"""Cursor pagination over creation time: stable under concurrent inserts, no COUNT(*) per page.

`?limit=` (1-200, default 50) and `?ordering=created_at|-created_at` (newest first by default). Views name
their creation-time column (`created_field`); ties are broken by primary key."""
from __future__ import annotations

from rest_framework.pagination import CursorPagination

from rest_framework.exceptions import NotFound

from .errors import InvalidCursor, InvalidQuery

ORDERINGS = ("-created_at", "created_at")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class CreatedCursorPagination(CursorPagination):
    page_size = DEFAULT_LIMIT
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT

    def get_page_size(self, request) -> int:
        raw = request.query_params.get("limit")
        if raw is None:
            return DEFAULT_LIMIT
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_LIMIT:
            raise InvalidQuery(f"limit must be an integer from 1 to {MAX_LIMIT}")
        return int(raw)

    def get_ordering(self, request, queryset, view) -> tuple[str, str]:
        requested = request.query_params.get("ordering", ORDERINGS[0])
        if requested not in ORDERINGS:
            raise InvalidQuery(f"ordering must be one of {', '.join(ORDERINGS)}")
        sign = "-" if requested.startswith("-") else ""
        return f"{sign}{view.created_field}", f"{sign}pk"

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except NotFound as exc:  # DRF answers 404 to a damaged cursor; it is the client's input, so 400
            raise InvalidCursor("the cursor is not one this API returned") from exc
