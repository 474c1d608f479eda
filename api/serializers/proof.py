"""The shape of reconciliation.services.proof_of_reserves, for the OpenAPI document (the view returns the
service's dict as is: decimals and times are already canonical strings)."""
from __future__ import annotations

from rest_framework import serializers


class ProofTokenSerializer(serializers.Serializer):
    token_symbol = serializers.CharField()
    contract_address = serializers.CharField()
    chain_id = serializers.IntegerField()
    base_units = serializers.CharField(help_text="totalSupply() at the pinned block, an integer as a string.")
    decimals = serializers.IntegerField()


class ProofNetworkSerializer(serializers.Serializer):
    network = serializers.CharField()
    tokens_outstanding = serializers.CharField(allow_null=True, help_text="Decimal string.")
    tokens_outstanding_in_shares = serializers.CharField(allow_null=True, help_text="Decimal string.")
    block_number = serializers.IntegerField(allow_null=True, help_text="The block the supply was read at.")
    tokens = ProofTokenSerializer(many=True)


class ProofOfReservesSerializer(serializers.Serializer):
    token_symbol = serializers.CharField()
    instrument = serializers.CharField()
    isin = serializers.CharField()
    tokens_per_share = serializers.CharField(help_text="Decimal string.")
    supply_by_network = ProofNetworkSerializer(many=True)
    tokens_outstanding_in_shares = serializers.CharField(allow_null=True, help_text="Decimal string.")
    shares_held = serializers.CharField(allow_null=True, help_text="Shares in custody, decimal string.")
    backing_ratio = serializers.CharField(allow_null=True,
                                          help_text="Shares held per token outstanding, rounded down; null when none.")
    status = serializers.ChoiceField(choices=["clean", "breaks"],
                                     help_text="clean: every difference explained; breaks: the run found some.")
    as_of = serializers.CharField(allow_null=True, help_text="As-of time of the oldest source behind the figures.")
    run_id = serializers.CharField()
    run_finished_at = serializers.CharField(allow_null=True)
    run_events_sha256 = serializers.CharField()
    run_last_event_position = serializers.IntegerField(allow_null=True)
    run_last_event_hash = serializers.CharField()
    instrument_event_position = serializers.IntegerField()
    verification = serializers.CharField()
