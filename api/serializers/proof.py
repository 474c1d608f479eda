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
    shares_held = serializers.CharField(
        allow_null=True, help_text="Every share in custody, decimal string. Not all of them back tokens: see "
                                   "shares_free.")
    shares_owed_back = serializers.CharField(
        allow_null=True, help_text="Shares in custody owed back to partners (tokens burned, shares not yet "
                                   "released), decimal string; null for a run that did not record it.")
    shares_leaving = serializers.CharField(
        allow_null=True, help_text="Shares in custody already released to partners by journal, not yet booked out, "
                                   "decimal string; null for a run that did not record it.")
    shares_unclaimed = serializers.CharField(
        allow_null=True, help_text="Shares journaled into custody that no request claimed (held for operations), "
                                   "decimal string; null for a run that did not record it.")
    shares_free = serializers.CharField(
        allow_null=True, help_text="Shares free to back tokens: shares_held less shares_owed_back, shares_leaving "
                                   "and shares_unclaimed, decimal string; null for a run that did not record it.")
    backing_ratio = serializers.CharField(
        allow_null=True, help_text="shares_free per token outstanding (in shares), rounded down; null when no "
                                   "tokens are outstanding or shares_free is null.")
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
