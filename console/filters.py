"""Admin list filters that stay fast on tables of millions of rows.

Django's field filters list their choices with SELECT DISTINCT over the whole table; these take a typed value
(event type, actor, account) or list choices known without a query (registered stream types).
"""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import PAGE_VAR


class TextInputFilter(admin.ListFilter):
    """A filter with a text box: exact match on a value the user types."""

    parameter_name: str = ""
    placeholder: str = ""
    template = "console/admin/text_input_filter.html"

    def __init__(self, request, params, model, model_admin):
        super().__init__(request, params, model, model_admin)
        values = params.pop(self.parameter_name, None)
        self.value = (values[-1] if isinstance(values, list) else values or "").strip() or None
        if self.value:
            self.used_parameters[self.parameter_name] = self.value

    def has_output(self) -> bool:
        return True

    def expected_parameters(self) -> list[str]:
        return [self.parameter_name]

    def choices(self, changelist):
        """One "choice": what the template needs to render the form and keep the other filters."""
        kept = {key: value for key, value in changelist.params.items() if key not in (self.parameter_name, PAGE_VAR)}
        yield {
            "parameter_name": self.parameter_name,
            "value": self.value or "",
            "placeholder": self.placeholder,
            "kept_params": sorted(kept.items()),
            "clear_url": changelist.get_query_string(remove=[self.parameter_name]),
        }

    def queryset(self, request, queryset):
        if self.value is None:
            return queryset
        return self.filter(queryset, self.value)

    def filter(self, queryset, value: str):
        raise NotImplementedError
