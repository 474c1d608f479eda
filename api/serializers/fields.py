"""Strict JSON fields for partner input: a field documented as a string accepts only a JSON string.

DRF's fields coerce (a number into a CharField, "5" into an IntegerField); a public money API should not
guess. Each field reports its own stable code (invalid_quantity, invalid_address, unknown_symbol...)."""
from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import models
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.exceptions import ErrorDetail

from ledger.canonical import decimal_str
from partners.addresses import checksum_address
from partners.errors import InvalidAddress

QUANTITY_PATTERN = r"^[0-9]{1,20}(\.[0-9]{1,18})?$"
ADDRESS_PATTERN = r"^0x[0-9a-fA-F]{40}$"
SYMBOL_PATTERN = r"^[A-Z0-9][A-Z0-9.-]{0,15}$"  # custody.instruments.SYMBOL_RE
TX_HASH_PATTERN = r"^0x[0-9a-fA-F]{64}$"
QUANTITY_RE = re.compile(QUANTITY_PATTERN)
ADDRESS_RE = re.compile(ADDRESS_PATTERN)


class UTCDateTimeField(serializers.DateTimeField):
    """Output in UTC with a "Z", like DRF's own, without looking up the active time zone for every value
    (a measurable share of a list page's CPU)."""

    def to_representation(self, value: datetime | None) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


# Base of the API's read serializers: timestamps rendered by UTCDateTimeField, and the fields a ModelSerializer
# derives from its model built once per class (copied per use, as DRF copies declared fields) instead of
# re-introspecting the model on every request. (A comment, not a docstring: drf-spectacular would publish a
# docstring as the description of every schema component built on it.)
class ReadModelSerializer(serializers.ModelSerializer):
    serializer_field_mapping = {**serializers.ModelSerializer.serializer_field_mapping,
                                models.DateTimeField: UTCDateTimeField}

    def get_fields(self) -> dict:
        cls = type(self)
        if "_built_fields" not in cls.__dict__:
            cls._built_fields = super().get_fields()
        return copy.deepcopy(cls._built_fields)


# Base of the API's request bodies: a key the serializer does not define is refused (`unknown_field`), never
# ignored, so a typo such as "qty" for "quantity" cannot skip the check the partner meant to ask for. (A comment,
# not a docstring, for the reason given above ReadModelSerializer.)
class InputSerializer(serializers.Serializer):
    def to_internal_value(self, data):
        if isinstance(data, Mapping):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError(
                    {name: [ErrorDetail("not a field of this request", code="unknown_field")] for name in unknown})
        return super().to_internal_value(data)


class StrictCharField(serializers.CharField):
    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


@extend_schema_field({"type": "string", "format": "decimal", "pattern": QUANTITY_PATTERN, "example": "10.5"})
class QuantityField(serializers.Field):
    """A positive token quantity as a decimal string ("10.5"), never a JSON number. How many decimals it may
    carry depends on the token: the serializer checks that against the deployment."""

    default_error_messages = {
        "invalid_quantity": "quantity must be a positive decimal string such as \"10.5\" (at most 18 decimals)",
    }

    def to_internal_value(self, data) -> Decimal:
        if not isinstance(data, str) or not QUANTITY_RE.fullmatch(data):
            self.fail("invalid_quantity")
        try:
            quantity = Decimal(data)
        except InvalidOperation:
            self.fail("invalid_quantity")
        if quantity <= 0:
            raise serializers.ValidationError("quantity must be greater than zero", code="invalid_quantity")
        return quantity

    def to_representation(self, value: Decimal) -> str:
        return decimal_str(value)


@extend_schema_field({"type": "string", "format": "decimal", "example": "10.5"})
class DecimalStringField(serializers.Field):
    """Output only: a decimal in canonical form ("10.5", "3"), never a float nor padded with zeros."""

    def __init__(self, **kwargs):
        kwargs["read_only"] = True
        super().__init__(**kwargs)

    def to_representation(self, value: Decimal) -> str:
        return decimal_str(value)


@extend_schema_field({"type": "string", "pattern": ADDRESS_PATTERN,
                      "example": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
                      "description": "EVM address; mixed case must pass its EIP-55 checksum."})
class AddressField(serializers.Field):
    default_error_messages = {"invalid_address": "{reason}"}

    def to_internal_value(self, data) -> str:
        if not isinstance(data, str) or not ADDRESS_RE.fullmatch(data):  # "$" alone would let a trailing "\n" in
            raise serializers.ValidationError(f"{data!r} is not a 0x-prefixed 20-byte hex address", code="invalid_address")
        try:
            return checksum_address(data)
        except InvalidAddress as exc:
            raise serializers.ValidationError(exc.message, code="invalid_address") from None

    def to_representation(self, value: str) -> str:
        return value


class NetworkField(serializers.ChoiceField):
    """A configured network name; anything else is `unknown_network`."""

    def __init__(self, **kwargs):
        super().__init__(choices=sorted(settings.CHAIN_NETWORKS), **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or data not in self.choices:
            raise serializers.ValidationError(
                f"network must be one of {', '.join(self.choices)}", code="unknown_network")
        return data


@extend_schema_field({"type": "string", "pattern": SYMBOL_PATTERN, "example": "AAPL"})
class SymbolField(serializers.Field):
    """An instrument symbol we list (unknown_symbol otherwise). Upper case, as listed by /instruments."""

    def to_internal_value(self, data) -> str:
        from custody.models import Instrument

        if not isinstance(data, str) or not re.fullmatch(SYMBOL_PATTERN, data):
            raise serializers.ValidationError("symbol must be an upper-case ticker such as AAPL", code="unknown_symbol")
        if not Instrument.objects.filter(symbol=data).exists():
            raise serializers.ValidationError(f"no instrument {data!r} is listed", code="unknown_symbol")
        return data

    def to_representation(self, value: str) -> str:
        return value


@extend_schema_field({"type": "string", "pattern": TX_HASH_PATTERN,
                      "example": "0x5c504ed432cb51138bcf09aa5e8a410dd4a1e204ef84bfed1be16dfba1b22060"})
class TxHashField(serializers.Field):
    def to_internal_value(self, data) -> str:
        if not isinstance(data, str) or not re.fullmatch(TX_HASH_PATTERN, data):
            raise serializers.ValidationError("tx_hash must be 0x followed by 64 hex digits", code="invalid_tx_hash")
        return data.lower()

    def to_representation(self, value: str) -> str:
        return value
