"""Pagination without COUNT(*): counting a log of millions of rows costs seconds on every page view."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class LookaheadPaginator(Paginator):
    """Counts no further than one row past the requested page: enough to offer the pages up to the next one.

    `count` is a lower bound (one row into the next page at most); `has_more` says whether it was cut short (the pagination
    template for such lists shows "more" instead of a total).
    """

    def __init__(self, object_list, per_page, *, page_number: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(page_number, 1)
        self.has_more = False

    @cached_property
    def count(self) -> int:
        limit = self.page_number * self.per_page + 1
        seen = len(self.object_list[:limit].values_list("pk", flat=True))
        self.has_more = seen == limit
        return seen
