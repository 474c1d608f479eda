from __future__ import annotations

from rest_framework import serializers

from .fields import DecimalStringField, StrictCharField, UTCDateTimeField

STATUSES = ["awaiting_approval", "approved", "paid", "carried", "forfeited", "none"]
KINDS = ["dividend_airdrop", "dividend_reinvest", "split_mint"]


class EntitlementSerializer(serializers.Serializer):
    """One wallet's share of one dividend or split."""

    action_id = serializers.CharField(help_text="The corporate action (dividend or split).")
    run_id = serializers.CharField(help_text="The payout run that computed it.")
    kind = serializers.ChoiceField(choices=KINDS)
    symbol = serializers.CharField()
    network = serializers.CharField()
    address = serializers.CharField(help_text="Your wallet.")
    record_date = serializers.DateField(allow_null=True)
    pay_date = serializers.DateField(allow_null=True)
    currency = serializers.CharField()
    balance_units = DecimalStringField(help_text="Token base units the wallet held at the record date, with the "
                                       "new tokens of a stock split effective by then still owed to it (not yet "
                                       "minted at that date).")
    shares = DecimalStringField(help_text="Share equivalent of that balance.")
    tax_category = serializers.CharField()
    tax_rate = DecimalStringField(allow_null=True)
    gross = DecimalStringField(allow_null=True)
    tax = DecimalStringField(allow_null=True, help_text="Withheld.")
    fee = DecimalStringField(allow_null=True)
    net = DecimalStringField(allow_null=True)
    outcome = serializers.ChoiceField(choices=["pay", "carry", "forfeit", "none"])
    amount = DecimalStringField(help_text="Cash delivered (shares minted for a split).")
    units = DecimalStringField(help_text="Stablecoin or token base units sent.")
    status = serializers.ChoiceField(choices=STATUSES)
    tx_hash = serializers.CharField(allow_blank=True)
    paid_at = UTCDateTimeField(allow_null=True)


class EntitlementQuerySerializer(serializers.Serializer):
    """Filters of the entitlements list."""

    status = serializers.ChoiceField(choices=STATUSES, required=False)
    kind = serializers.ChoiceField(choices=KINDS, required=False)
    symbol = StrictCharField(required=False, help_text="Underlying symbol, e.g. AAPL.")
    network = StrictCharField(required=False)
    record_date_from = serializers.DateField(required=False, help_text="Record date on or after (YYYY-MM-DD).")
    record_date_to = serializers.DateField(required=False, help_text="Record date on or before (YYYY-MM-DD).")
