"""Cursor pagination over creation time: stable under concurrent inserts, no COUNT(*) per page.

`?limit=` (1-200, default 50) and `?ordering=created_at|-created_at` (newest first by default). Views name
their creation-time column (`created_field`); ties are broken by primary key."""
from __future__ import annotations

from django.core import signing
from rest_framework.pagination import BasePagination, Cursor, CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from .errors import InvalidCursor, InvalidQuery

ORDERINGS = ("-created_at", "created_at")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CURSOR_SALT = "api.pagination.cursor"
QUERY_PARAMETERS = frozenset({"cursor", "limit", "ordering"})


def page_size(request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_LIMIT
    # isdigit() alone accepts "²" and other Unicode digits that int() refuses.
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= MAX_LIMIT:
        raise InvalidQuery(f"limit must be an integer from 1 to {MAX_LIMIT}")
    return int(raw)


class CreatedCursorPagination(CursorPagination):
    page_size = DEFAULT_LIMIT
    page_size_query_param = "limit"
    max_page_size = MAX_LIMIT

    def get_page_size(self, request) -> int:
        return page_size(request)

    def get_ordering(self, request, queryset, view) -> tuple[str, str]:
        requested = request.query_params.get("ordering", ORDERINGS[0])
        if requested not in ORDERINGS:
            raise InvalidQuery(f"ordering must be one of {', '.join(ORDERINGS)}")
        sign = "-" if requested.startswith("-") else ""
        return f"{sign}{view.created_field}", f"{sign}pk"

    def encode_cursor(self, cursor: Cursor) -> str:
        """Cursors are signed: a client can hand back only a cursor we issued, never a forged position."""
        tokens = {"o": cursor.offset, "r": int(cursor.reverse), "p": cursor.position}
        signed = signing.dumps(tokens, salt=CURSOR_SALT, compress=True)
        return replace_query_param(self.base_url, self.cursor_query_param, signed)

    def decode_cursor(self, request) -> Cursor | None:
        encoded = request.query_params.get(self.cursor_query_param)
        if encoded is None:
            return None
        try:
            tokens = signing.loads(encoded, salt=CURSOR_SALT)
            return Cursor(offset=int(tokens["o"]), reverse=bool(tokens["r"]), position=tokens["p"])
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise InvalidCursor("the cursor is not one this API returned") from None


class ListOffsetPagination(BasePagination):
    """For the few lists a service hands over whole and already ordered (entitlements): the same page shape
    and signed cursors, over an offset into that list."""

    def paginate_queryset(self, items: list, request, view=None) -> list:
        self.request = request
        self.offset = self._offset(request)
        self.limit = page_size(request)
        self.total = len(items)
        return items[self.offset:self.offset + self.limit]

    def _offset(self, request) -> int:
        encoded = request.query_params.get("cursor")
        if encoded is None:
            return 0
        try:
            return int(signing.loads(encoded, salt=CURSOR_SALT)["offset"])
        except (signing.BadSignature, KeyError, TypeError, ValueError):
            raise InvalidCursor("the cursor is not one this API returned") from None

    def _link(self, offset: int) -> str:
        url = self.request.build_absolute_uri()
        return replace_query_param(url, "cursor", signing.dumps({"offset": offset}, salt=CURSOR_SALT))

    def get_paginated_response(self, data) -> Response:
        following = self.offset + self.limit
        return Response({
            "next": self._link(following) if following < self.total else None,
            "previous": self._link(max(0, self.offset - self.limit)) if self.offset > 0 else None,
            "results": data,
        })

    def get_paginated_response_schema(self, schema: dict) -> dict:
        return CursorPagination().get_paginated_response_schema(schema)

    def get_schema_operation_parameters(self, view) -> list[dict]:
        return [{"name": "cursor", "required": False, "in": "query", "schema": {"type": "string"},
                 "description": "The pagination cursor value."}]
