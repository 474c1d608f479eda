"""Cursor pagination over creation time: stable under concurrent inserts, no COUNT(*) per page.

`?limit=` (1-200, default 50) and `?ordering=created_at|-created_at` (newest first by default). Views name
their creation-time column (`created_field`); ties are broken by primary key."""
from __future__ import annotations

from django.core import signing
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.utils.urls import replace_query_param

from .errors import InvalidCursor, InvalidQuery

ORDERINGS = ("-created_at", "created_at")
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
CURSOR_SALT = "api.pagination.cursor"
QUERY_PARAMETERS = frozenset({"cursor", "limit", "ordering"})


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
