"""Custody read models. Instruments and custody accounts are reference data edited by operations; every
change to them is also recorded as a ledger event by custody/services.py (the only writer)."""
from __future__ import annotations

from decimal import Decimal

from django.db import models


class Instrument(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        DELISTED = "delisted"

    symbol = models.CharField(max_length=16, unique=True)
    name = models.CharField(max_length=200)
    isin = models.CharField(max_length=12, unique=True)
    cusip = models.CharField(max_length=9, blank=True)
    exchange = models.CharField(max_length=16, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    tokens_per_share = models.DecimalField(max_digits=38, decimal_places=18, default=Decimal(1))
    reconciliation_tolerance = models.DecimalField(
        max_digits=38, decimal_places=18, default=Decimal(0),
        help_text="Difference in shares that reconciliation accepts without a break (default zero).",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["symbol"]
        constraints = [
            models.CheckConstraint(condition=models.Q(tokens_per_share__gt=0), name="instrument_ratio_positive"),
        ]

    def __str__(self) -> str:
        return self.symbol


class CustodyAccount(models.Model):
    """Where shares sit: an Alpaca account (synced through alpaca-py) or a custodian sending statements."""

    class Kind(models.TextChoices):
        ALPACA = "alpaca"
        STATEMENT = "statement"

    name = models.SlugField(max_length=50, unique=True, help_text="Used in ledger accounts: custody:<name>:<symbol>")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    description = models.CharField(max_length=200, blank=True)
    # For kind=alpaca: the names of the environment variables holding credentials, never the secrets.
    api_key_env = models.CharField(max_length=100, blank=True, default="ALPACA_API_KEY_ID")
    api_secret_env = models.CharField(max_length=100, blank=True, default="ALPACA_API_SECRET_KEY")
    base_url = models.URLField(blank=True, help_text="Empty: paper or live Alpaca per `paper`; set for the sandbox.")
    paper = models.BooleanField(default=True)
    statement_account_ref = models.CharField(max_length=64, blank=True,
                                             help_text="The custodian's account id as it appears in statements.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
