"""Query filters of list endpoints: ?status=, ?symbol=, ?network=, ?created_after=, ?created_before=."""
from __future__ import annotations

from datetime import UTC, timedelta

import django_filters
from django import forms
from django_filters.rest_framework import DjangoFilterBackend

from custody.models import Instrument
from issuance.models import MintRequest, RedeemRequest, TokenDeployment
from partners.models import Wallet

from .models import WebhookDelivery

AFTER = "Only objects created at or after this time (ISO 8601)."
BEFORE = "Only objects created before this time (ISO 8601)."
MAX_UTC_OFFSET = timedelta(hours=14)  # the widest offset any real time zone uses


class TimestampField(django_filters.fields.IsoDateTimeField):
    """ISO 8601 with a real-world UTC offset; a time PostgreSQL could not compare is the client's error."""

    def strptime(self, value, format):
        parsed = super().strptime(value, format)
        offset = parsed.utcoffset()
        if offset is not None and abs(offset) > MAX_UTC_OFFSET:
            raise ValueError("UTC offset out of range")
        return parsed

    def to_python(self, value):
        parsed = super().to_python(value)
        try:
            return parsed if parsed is None else parsed.astimezone(UTC)
        except OverflowError:
            raise forms.ValidationError("the time is out of range", code="invalid") from None


class TimestampFilter(django_filters.IsoDateTimeFilter):
    field_class = TimestampField


class FilterBackend(DjangoFilterBackend):
    """Builds and validates the FilterSet only when the query names one of its filters: most list calls
    filter nothing, and a FilterSet with its form costs more than the page query."""

    def filter_queryset(self, request, queryset, view):
        filterset_class = getattr(view, "filterset_class", None)
        if filterset_class is None or not set(request.query_params) & set(filterset_class.base_filters):
            return queryset
        return super().filter_queryset(request, queryset, view)


class StrictFilterSet(django_filters.FilterSet):
    """A filter given in the query must have a value: `?status=` is a mistake to report, not "no filter"."""

    def is_valid(self) -> bool:
        valid = super().is_valid()
        for name in self.filters:
            if self.data.get(name) == "":
                self.form.add_error(name, "must not be empty when given")
        return valid and not self.form.errors


class InstrumentFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=Instrument.Status.choices)

    class Meta:
        model = Instrument
        fields = ["status"]


class TokenDeploymentFilter(StrictFilterSet):
    symbol = django_filters.CharFilter(field_name="instrument__symbol", help_text="Underlying symbol, e.g. AAPL.")
    network = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=TokenDeployment.Status.choices)
    created_after = TimestampFilter(field_name="deployed_at", lookup_expr="gte", help_text=AFTER)
    created_before = TimestampFilter(field_name="deployed_at", lookup_expr="lt", help_text=BEFORE)

    class Meta:
        model = TokenDeployment
        fields = ["symbol", "network", "status", "created_after", "created_before"]


class WalletFilter(StrictFilterSet):
    network = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=Wallet.Status.choices)
    created_after = TimestampFilter(field_name="registered_at", lookup_expr="gte", help_text=AFTER)
    created_before = TimestampFilter(field_name="registered_at", lookup_expr="lt", help_text=BEFORE)

    class Meta:
        model = Wallet
        fields = ["network", "status", "created_after", "created_before"]


class WebhookDeliveryFilter(StrictFilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["status"]


class _RequestFilter(StrictFilterSet):
    """What mint and redeem requests are both filtered by; each adds its own statuses and model."""

    symbol = django_filters.CharFilter(field_name="instrument__symbol", help_text="Underlying symbol, e.g. AAPL.")
    network = django_filters.CharFilter()
    created_after = TimestampFilter(field_name="requested_at", lookup_expr="gte", help_text=AFTER)
    created_before = TimestampFilter(field_name="requested_at", lookup_expr="lt", help_text=BEFORE)

    FIELDS = ["status", "symbol", "network", "created_after", "created_before"]


class MintRequestFilter(_RequestFilter):
    status = django_filters.ChoiceFilter(choices=MintRequest.Status.choices)

    class Meta:
        model = MintRequest
        fields = _RequestFilter.FIELDS


class RedeemRequestFilter(_RequestFilter):
    status = django_filters.ChoiceFilter(choices=RedeemRequest.Status.choices)

    class Meta:
        model = RedeemRequest
        fields = _RequestFilter.FIELDS
