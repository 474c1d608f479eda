"""Issuance read models. Written ONLY by issuance.projections, inside the append transaction of the event
that changed them, so they never run ahead of or behind the ledger (rebuild_projections rebuilds them).

Quantities: `qty` is in tokens (Decimal, at most the deployment's decimals), `amount_base_units` the integer the
contract sees, `qty_shares` the share equivalent (qty / tokens_per_share) that ledger postings carry.
"""
from __future__ import annotations

from django.db import models

from custody.models import Instrument
from partners.models import Partner

BASE_UNITS = {"max_digits": 78, "decimal_places": 0}  # uint256 fits in 78 decimal digits
QUANTITY = {"max_digits": 38, "decimal_places": 18}


class TokenDeployment(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        RETIRED = "retired"

    id = models.CharField(primary_key=True, max_length=100, help_text="<network>:<contract address>")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="token_deployments")
    network = models.CharField(max_length=32)
    chain_id = models.BigIntegerField()
    contract_address = models.CharField(max_length=42)
    token_symbol = models.CharField(max_length=32)
    decimals = models.PositiveSmallIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    deploy_tx_block = models.BigIntegerField(help_text="Block the contract was created in: the watcher starts there.")
    deployed_at = models.DateTimeField()
    stream_version = models.IntegerField(default=0)

    class Meta:
        ordering = ["instrument_id", "network"]
        constraints = [
            models.UniqueConstraint(fields=["instrument", "network"], condition=models.Q(status="active"),
                                    name="issuance_one_active_deployment_per_network"),
        ]

    def __str__(self) -> str:
        return f"{self.token_symbol} on {self.network} at {self.contract_address}"


class MintRequest(models.Model):
    class Status(models.TextChoices):
        REQUESTED = "requested"  # waiting for a second person's approval
        APPROVED = "approved"  # waiting for shares
        SECURED = "secured"  # shares in custody, waiting for the reserve check and signing
        SIGNED = "signed"  # reserved; signed transaction persisted, maybe not yet broadcast
        BROADCAST = "broadcast"  # sent to the network, waiting for confirmations
        CONFIRMED = "confirmed"  # minted and deep enough; completion report pending
        COMPLETED = "completed"
        REJECTED = "rejected"
        CANCELLED = "cancelled"
        FAILED = "failed"

    RESERVED = (Status.SIGNED, Status.BROADCAST)  # in flight: count against reserves until confirmed or failed
    OPEN = (Status.REQUESTED, Status.APPROVED, Status.SECURED, Status.SIGNED, Status.BROADCAST, Status.CONFIRMED)
    ENDED_WITHOUT_MINT = (Status.REJECTED, Status.CANCELLED, Status.FAILED)

    id = models.CharField(primary_key=True, max_length=64)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="mint_requests")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="mint_requests")
    deployment = models.ForeignKey(TokenDeployment, on_delete=models.PROTECT, related_name="mint_requests")
    network = models.CharField(max_length=32)
    wallet_address = models.CharField(max_length=42)
    qty = models.DecimalField(**QUANTITY)
    amount_base_units = models.DecimalField(**BASE_UNITS)
    qty_shares = models.DecimalField(**QUANTITY)
    status = models.CharField(max_length=16, choices=Status.choices)
    source = models.CharField(max_length=16, help_text="partner | ops | itn")
    itn_request_id = models.CharField(max_length=64, blank=True)
    requested_by = models.CharField(max_length=100)
    needs_second_approval = models.BooleanField()
    approved_by = models.CharField(max_length=100, blank=True)
    secured_via = models.CharField(max_length=16, blank=True, help_text="journal | broker")
    custody_account = models.CharField(max_length=50, blank=True)
    signer = models.CharField(max_length=42, blank=True)
    nonce = models.BigIntegerField(null=True)
    tx_hash = models.CharField(max_length=66, blank=True)
    raw_tx = models.TextField(blank=True, help_text="Signed transaction (hex), rebroadcast verbatim after a crash.")
    block_number = models.BigIntegerField(null=True)
    block_hash = models.CharField(max_length=66, blank=True)
    reported_to_broker = models.BooleanField(default=False)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_reason = models.TextField(blank=True)
    requested_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True)
    secured_at = models.DateTimeField(null=True)
    signed_at = models.DateTimeField(null=True)
    broadcast_at = models.DateTimeField(null=True)
    confirmed_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    ended_at = models.DateTimeField(null=True, help_text="When it was rejected, cancelled or failed.")
    stream_version = models.IntegerField(default=0)

    class Meta:
        ordering = ["-requested_at"]
        indexes = [
            models.Index(fields=["instrument", "status"], name="issuance_mint_instr_status"),
            models.Index(fields=["partner", "requested_at"], name="issuance_mint_partner_day"),
            models.Index(fields=["status"], name="issuance_mint_status"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["itn_request_id"], condition=~models.Q(itn_request_id=""),
                                    name="issuance_mint_one_per_itn_request"),
        ]
        permissions = [("approve_mint_request",
                        "Can work the mint queue: approve (never one's own), reject, cancel, secure shares, process")]

    def __str__(self) -> str:
        return f"mint {self.id} {self.qty} {self.instrument_id} ({self.status})"


class RedeemRequest(models.Model):
    class Status(models.TextChoices):
        HELD = "held"  # tokens arrived from a wallet nobody allowlisted: operations decide
        RECEIVED = "received"  # deposit known, waiting for its confirmations
        SIGNED = "signed"  # burn signed and persisted
        BROADCAST = "broadcast"
        BURNED = "burned"  # burn confirmed; shares owed to the partner
        COMPLETED = "completed"  # shares released
        FAILED = "failed"

    OPEN = (Status.RECEIVED, Status.SIGNED, Status.BROADCAST, Status.BURNED)

    id = models.CharField(primary_key=True, max_length=64)
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, null=True, related_name="redeem_requests")
    instrument = models.ForeignKey(Instrument, on_delete=models.PROTECT, related_name="redeem_requests")
    deployment = models.ForeignKey(TokenDeployment, on_delete=models.PROTECT, related_name="redeem_requests")
    network = models.CharField(max_length=32)
    from_address = models.CharField(max_length=42)
    deposit_tx_hash = models.CharField(max_length=66)
    deposit_log_index = models.IntegerField()
    deposit_block = models.BigIntegerField()
    qty = models.DecimalField(**QUANTITY)
    amount_base_units = models.DecimalField(**BASE_UNITS)
    qty_shares = models.DecimalField(**QUANTITY)
    status = models.CharField(max_length=16, choices=Status.choices)
    source = models.CharField(max_length=16, help_text="partner (filed with tx hash) | chain (seen by the watcher)")
    release_method = models.CharField(max_length=16, default="journal", help_text="journal | sell")
    custody_account = models.CharField(max_length=50, blank=True)
    signer = models.CharField(max_length=42, blank=True)
    nonce = models.BigIntegerField(null=True)
    tx_hash = models.CharField(max_length=66, blank=True)
    raw_tx = models.TextField(blank=True)
    block_number = models.BigIntegerField(null=True)
    block_hash = models.CharField(max_length=66, blank=True)
    reported_to_broker = models.BooleanField(default=False)
    failure_code = models.CharField(max_length=64, blank=True)
    failure_reason = models.TextField(blank=True)
    requested_at = models.DateTimeField()
    signed_at = models.DateTimeField(null=True)
    broadcast_at = models.DateTimeField(null=True)
    burned_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    ended_at = models.DateTimeField(null=True)
    stream_version = models.IntegerField(default=0)

    class Meta:
        ordering = ["-requested_at"]
        # One redemption per deposit is the primary key: the id is derived from (deployment, tx hash, the
        # deposit's ordinal in the tx). Not (tx hash, log index): a reorg can re-include a transaction at
        # other log indexes, and then another token's deposit may take an index an earlier one was seen at.
        permissions = [("approve_redeem_request",
                        "Can work the redeem queue: assign a held deposit, release shares, process")]

    def __str__(self) -> str:
        return f"redeem {self.id} {self.qty} {self.instrument_id} ({self.status})"


class SignerNonce(models.Model):
    """Next nonce per (network, signer), from signer/<network>:<address> nonce_allocated events."""

    id = models.CharField(primary_key=True, max_length=100, help_text="<network>:<address>")
    network = models.CharField(max_length=32)
    address = models.CharField(max_length=42)
    next_nonce = models.BigIntegerField()
    stream_version = models.IntegerField(default=0)


class ChainCursor(models.Model):
    """How far the watcher has read a deployment's Transfer logs (inclusive), and that block's hash."""

    deployment = models.OneToOneField(TokenDeployment, on_delete=models.PROTECT, primary_key=True,
                                      related_name="cursor")
    block_number = models.BigIntegerField()
    block_hash = models.CharField(max_length=66)
    updated_at = models.DateTimeField()
    stream_version = models.IntegerField(default=0)


class ChainAlert(models.Model):
    """Something on chain that breaks or threatens the 1:1 promise; critical ones page operations."""

    class Severity(models.TextChoices):
        WARNING = "warning"
        CRITICAL = "critical"

    deployment = models.ForeignKey(TokenDeployment, on_delete=models.PROTECT, null=True, related_name="alerts")
    network = models.CharField(max_length=32)
    kind = models.CharField(max_length=32, help_text="unexplained_mint | unexplained_burn | mint_reorged | "
                                                     "reorg_below_cursor | unknown_redeemer | nonce_skipped")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    tx_hash = models.CharField(max_length=66, blank=True)
    log_index = models.IntegerField(null=True)
    detail = models.TextField()
    position = models.BigIntegerField(unique=True, help_text="Ledger position of the event that raised it.")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-created_at"]
