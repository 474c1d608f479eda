from __future__ import annotations

from partners.models import Wallet

from .fields import AddressField, InputSerializer, NetworkField, ReadModelSerializer, StrictCharField, UTCDateTimeField


class WalletSerializer(ReadModelSerializer):
    created_at = UTCDateTimeField(source="registered_at", read_only=True)

    class Meta:
        model = Wallet
        fields = ["id", "network", "address", "label", "status", "created_at", "updated_at"]
        read_only_fields = fields
        extra_kwargs = {"status": {"help_text": "registered: waiting for operations to allowlist it; allowlisted: "
                                                "receives mints and counts as a redeemer; revoked."}}


class WalletRegistrationSerializer(InputSerializer):
    network = NetworkField()
    address = AddressField()
    label = StrictCharField(max_length=100, required=False, allow_blank=True, default="")
