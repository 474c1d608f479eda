"""Mint and redeem requests as partners see them, and what they send to create them."""
from __future__ import annotations

from rest_framework import serializers

from issuance.errors import InvalidQuantity
from issuance.models import MintRequest, RedeemRequest, TokenDeployment
from issuance.quantities import parse_qty

from .fields import (AddressField, DecimalStringField, InputSerializer, NetworkField, QuantityField, ReadModelSerializer,
                     StrictCharField, SymbolField, TxHashField, UTCDateTimeField)


def check_token_decimals(attrs: dict) -> None:
    """A quantity finer than the token's decimals can never be minted or burned: say so field by field."""
    deployment = (TokenDeployment.objects.filter(instrument__symbol=attrs["symbol"], network=attrs["network"],
                                                 status=TokenDeployment.Status.ACTIVE).only("decimals").first())
    if deployment is not None and attrs.get("quantity") is not None:
        try:
            parse_qty(attrs["quantity"], deployment.decimals)
        except InvalidQuantity as exc:
            raise serializers.ValidationError({"quantity": [exc.message]}, code="invalid_quantity") from None


class MintRequestSerializer(ReadModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)
    token = serializers.CharField(source="deployment_id", read_only=True, help_text="Token deployment id.")
    quantity = DecimalStringField(source="qty", help_text="Tokens to mint.")
    created_at = UTCDateTimeField(source="requested_at", read_only=True)

    class Meta:
        model = MintRequest
        fields = ["id", "status", "symbol", "network", "token", "wallet_address", "quantity", "needs_second_approval",
                  "tx_hash", "block_number", "failure_code", "failure_reason", "created_at", "approved_at",
                  "secured_at", "signed_at", "broadcast_at", "confirmed_at", "completed_at", "ended_at"]
        read_only_fields = fields


def columns(serializer_class) -> list[str]:
    """The model columns a read serializer shows (for `.only()`): lists fetch nothing they do not render, such
    as a mint's signed transaction bytes."""
    return [field.source.replace(".", "__") for field in serializer_class().fields.values()]


class MintRequestCreateSerializer(InputSerializer):
    symbol = SymbolField(help_text="Underlying instrument, as listed by /instruments.")
    network = NetworkField()
    wallet_address = AddressField(help_text="One of your allowlisted wallets on that network.")
    quantity = QuantityField(help_text="Tokens to mint; at most as many decimals as the token has.")

    def validate(self, attrs: dict) -> dict:
        check_token_decimals(attrs)
        return attrs


class CancelSerializer(InputSerializer):
    reason = StrictCharField(max_length=500, required=False, default="cancelled by the partner")


class RedeemRequestSerializer(ReadModelSerializer):
    symbol = serializers.CharField(source="instrument.symbol", read_only=True)
    token = serializers.CharField(source="deployment_id", read_only=True, help_text="Token deployment id.")
    quantity = DecimalStringField(source="qty", help_text="Tokens redeemed.")
    burn_tx_hash = serializers.CharField(source="tx_hash", read_only=True)
    created_at = UTCDateTimeField(source="requested_at", read_only=True)

    class Meta:
        model = RedeemRequest
        fields = ["id", "status", "symbol", "network", "token", "from_address", "deposit_tx_hash", "deposit_log_index",
                  "quantity", "release_method", "burn_tx_hash", "block_number", "failure_code", "failure_reason",
                  "created_at", "burned_at", "completed_at", "ended_at"]
        read_only_fields = fields


class RedeemRequestCreateSerializer(InputSerializer):
    symbol = SymbolField(help_text="Underlying instrument of the token you sent.")
    network = NetworkField()
    tx_hash = TxHashField(help_text="Hash of your transfer of the tokens to the redemption wallet.")
    quantity = QuantityField(required=False, help_text="Optional: the tokens you sent, checked against the transfer.")
    release_method = serializers.ChoiceField(choices=["journal", "sell"], default="journal",
                                             help_text="journal: shares back to your broker account; sell: cash.")

    def validate(self, attrs: dict) -> dict:
        check_token_decimals(attrs)
        return attrs
