"""Query filters of list endpoints: ?status=, ?symbol=, ?network=, ?created_after=, ?created_before=."""
from __future__ import annotations

import django_filters

from custody.models import Instrument
from issuance.models import MintRequest, RedeemRequest, TokenDeployment
from partners.models import Wallet

from .models import WebhookDelivery

AFTER = "Only objects created at or after this time (ISO 8601)."
BEFORE = "Only objects created before this time (ISO 8601)."


class InstrumentFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Instrument.Status.choices)

    class Meta:
        model = Instrument
        fields = ["status"]


class TokenDeploymentFilter(django_filters.FilterSet):
    symbol = django_filters.CharFilter(field_name="instrument__symbol", help_text="Underlying symbol, e.g. AAPL.")
    network = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=TokenDeployment.Status.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="deployed_at", lookup_expr="gte", help_text=AFTER)
    created_before = django_filters.IsoDateTimeFilter(field_name="deployed_at", lookup_expr="lt", help_text=BEFORE)

    class Meta:
        model = TokenDeployment
        fields = ["symbol", "network", "status", "created_after", "created_before"]


class WalletFilter(django_filters.FilterSet):
    network = django_filters.CharFilter()
    status = django_filters.ChoiceFilter(choices=Wallet.Status.choices)
    created_after = django_filters.IsoDateTimeFilter(field_name="registered_at", lookup_expr="gte", help_text=AFTER)
    created_before = django_filters.IsoDateTimeFilter(field_name="registered_at", lookup_expr="lt", help_text=BEFORE)

    class Meta:
        model = Wallet
        fields = ["network", "status", "created_after", "created_before"]


class WebhookDeliveryFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=WebhookDelivery.Status.choices)

    class Meta:
        model = WebhookDelivery
        fields = ["status"]


class MintRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=MintRequest.Status.choices)
    symbol = django_filters.CharFilter(field_name="instrument__symbol", help_text="Underlying symbol, e.g. AAPL.")
    network = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="requested_at", lookup_expr="gte", help_text=AFTER)
    created_before = django_filters.IsoDateTimeFilter(field_name="requested_at", lookup_expr="lt", help_text=BEFORE)

    class Meta:
        model = MintRequest
        fields = ["status", "symbol", "network", "created_after", "created_before"]


class RedeemRequestFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=RedeemRequest.Status.choices)
    symbol = django_filters.CharFilter(field_name="instrument__symbol", help_text="Underlying symbol, e.g. AAPL.")
    network = django_filters.CharFilter()
    created_after = django_filters.IsoDateTimeFilter(field_name="requested_at", lookup_expr="gte", help_text=AFTER)
    created_before = django_filters.IsoDateTimeFilter(field_name="requested_at", lookup_expr="lt", help_text=BEFORE)

    class Meta:
        model = RedeemRequest
        fields = ["status", "symbol", "network", "created_after", "created_before"]
