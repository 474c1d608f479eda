"""Pagination without COUNT(*): counting a log of millions of rows costs seconds on every page view."""
from __future__ import annotations

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class LookaheadPaginator(Paginator):
    """Counts no further than one row past the requested page: enough to offer the pages up to the next one.
    The requested page then loads by primary key from the keys that count read.

    `count` is a lower bound (one row into the next page at most); `has_more` says whether it was cut short (the pagination
    template for such lists shows "more" instead of a total).
    """

    def __init__(self, object_list, per_page, *, page_number: int, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(page_number, 1)
        self.has_more = False

    @cached_property
    def _keys(self) -> list:
        """Primary keys in list order up to one past the requested page: one scan serves count and page."""
        return list(self.object_list[: self.page_number * self.per_page + 1].values_list("pk", flat=True))

    @cached_property
    def count(self) -> int:
        seen = len(self._keys)
        self.has_more = seen == self.page_number * self.per_page + 1
        return seen

    def page(self, number):
        """The page's rows fetched by primary key: filters that scan (e.g. on JSON metadata) run only once."""
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        keys = self._keys[bottom: bottom + self.per_page]
        return self._get_page(self.object_list.filter(pk__in=keys), number, self)
