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
        permissions = [("start_custody_sync", "Can start a sync of a custody account with its broker")]

    def __str__(self) -> str:
        return self.name


# --- Read models maintained by custody/projections.py from the custody streams (rebuildable from the log) ---


class ActivityCursor(models.Model):
    """The last broker activity id recorded for an Alpaca account: the next sync asks for activities after it.

    Written only by the projector, in the same transaction as the event of that activity, so the cursor can
    never run ahead of (or behind) the facts in the ledger."""

    account_name = models.CharField(max_length=50, unique=True)
    last_activity_id = models.CharField(max_length=100)
    event_position = models.BigIntegerField()


class BrokerOrder(models.Model):
    """An order we placed at a broker for one of our requests, as the order events describe it."""

    account_name = models.CharField(max_length=50)
    client_order_id = models.CharField(max_length=128)
    request_id = models.CharField(max_length=200)
    broker_order_id = models.CharField(max_length=100)
    symbol = models.CharField(max_length=16)
    side = models.CharField(max_length=4)
    qty = models.DecimalField(max_digits=38, decimal_places=18)
    status = models.CharField(max_length=32, help_text="submitted, or the broker's terminal status once seen.")
    filled_qty = models.DecimalField(max_digits=38, decimal_places=18, default=Decimal(0))
    filled_avg_price = models.DecimalField(max_digits=38, decimal_places=18, null=True)
    submitted_at = models.DateTimeField()
    event_position = models.BigIntegerField(help_text="Position of the last event that changed this row.")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account_name", "client_order_id"], name="custody_order_client_id"),
        ]


class PositionsObservation(models.Model):
    """What the broker reported holding (qty and qty_available per symbol) at one moment; one row per
    `positions_observed` event."""

    account_name = models.CharField(max_length=50)
    event_position = models.BigIntegerField(unique=True)
    observed_at = models.DateTimeField()
    raw_sha256 = models.CharField(max_length=64)
    positions = models.JSONField(help_text='{"AAPL": {"qty": "10", "qty_available": "10"}}, decimals as strings.')

    class Meta:
        indexes = [models.Index(fields=["account_name", "-event_position"], name="custody_positions_latest")]


class StatementImport(models.Model):
    """One imported custodian statement; one row per `statement_imported` event."""

    account_name = models.CharField(max_length=50)
    event_position = models.BigIntegerField(unique=True)
    file_sha256 = models.CharField(max_length=64, unique=True)
    filename = models.CharField(max_length=255)
    format = models.CharField(max_length=16)
    statement_date = models.DateField()
    as_of = models.CharField(max_length=40, blank=True,
                             help_text="Statement time as the file gives it (ISO 8601; SWIFT 98C times carry no offset).")
    statement_time = models.DateTimeField(help_text="The statement's own time, in UTC when the file gives no offset; "
                                                    "the end of statement_date when it gives no time.")
    holdings = models.JSONField(help_text="One object per security, quantities as decimal strings.")
    imported_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["account_name", "-statement_time", "-event_position"],
                                name="custody_statement_latest")]
