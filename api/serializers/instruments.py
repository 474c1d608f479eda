from __future__ import annotations

from rest_framework import serializers

from custody.models import Instrument
from issuance.models import TokenDeployment

from .fields import DecimalStringField, ReadModelSerializer, UTCDateTimeField


class TokenDeploymentSerializer(ReadModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True, help_text="Underlying instrument.")
    created_at = UTCDateTimeField(source="deployed_at", read_only=True)

    class Meta:
        model = TokenDeployment
        fields = ["id", "symbol", "token_symbol", "network", "chain_id", "contract_address", "decimals", "status",
                  "created_at"]
        read_only_fields = fields


class InstrumentSerializer(ReadModelSerializer):
    tokens_per_share = DecimalStringField(help_text="Tokens issued per share held in custody.")
    token_deployments = TokenDeploymentSerializer(source="active_deployments", many=True, read_only=True,
                                                  help_text="Active token contracts, one per network.")

    class Meta:
        model = Instrument
        fields = ["symbol", "name", "isin", "cusip", "exchange", "status", "tokens_per_share", "token_deployments",
                  "created_at"]
        read_only_fields = fields

