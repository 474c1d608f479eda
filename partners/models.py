"""Partner read models, written only by partners.projections in the append transaction of partner/<id> events."""
from __future__ import annotations

from django.db import models


class Partner(models.Model):
    """An authorized participant (market maker or platform) allowed to mint and redeem."""

    class KycStatus(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"

    id = models.CharField(primary_key=True, max_length=64, help_text="Stream id partner/<id>; used in ledger accounts.")
    name = models.CharField(max_length=200)
    kyc_status = models.CharField(max_length=16, choices=KycStatus.choices, default=KycStatus.PENDING)
    allowed_symbols = models.JSONField(default=list, help_text="Underlying symbols this partner may mint and redeem.")
    per_request_cap = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True,
                                          help_text="Most tokens one mint request may ask for; empty = no cap.")
    daily_cap = models.DecimalField(max_digits=38, decimal_places=18, null=True, blank=True,
                                    help_text="Most tokens requested per UTC day, all instruments; empty = no cap.")
    broker_client_id = models.CharField(max_length=64, blank=True,
                                        help_text="The partner's external account id at the broker (ITN client_id).")
    custody_account = models.CharField(max_length=50, blank=True,
                                       help_text="Custody account name its shares are journaled into and back out of.")
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    stream_version = models.IntegerField(default=0)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.id


class Wallet(models.Model):
    """A partner's address on one network. Only ALLOWLISTED wallets receive mints or count as redeemers."""

    class Status(models.TextChoices):
        REGISTERED = "registered"
        ALLOWLISTED = "allowlisted"
        REVOKED = "revoked"

    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="wallets")
    network = models.CharField(max_length=32)
    address = models.CharField(max_length=42, help_text="EIP-55 checksummed.")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REGISTERED)
    label = models.CharField(max_length=100, blank=True)
    registered_at = models.DateTimeField()
    allowlisted_by = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["partner_id", "network", "address"]
        constraints = [models.UniqueConstraint(fields=["network", "address"], name="partners_wallet_network_address")]

    def __str__(self) -> str:
        return f"{self.partner_id} {self.network}:{self.address} ({self.status})"
