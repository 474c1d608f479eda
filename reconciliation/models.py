"""Reconciliation read models. Written ONLY by reconciliation.projections, inside the append transaction of the
event that changed them, so they never disagree with the log (rebuild_projections rebuilds them).

Quantities are Decimals in shares (share equivalents for tokens: tokens / tokens_per_share), never floats.
"""
from __future__ import annotations

from django.db import models

QUANTITY = {"max_digits": 38, "decimal_places": 18}


class ReconciliationRun(models.Model):
    class Status(models.TextChoices):
        RUNNING = "running"
        COMPLETED = "completed"  # every instrument in scope was checked against every source
        INCOMPLETE = "incomplete"  # at least one instrument could not be checked (source down or stale)

    run_id = models.CharField(primary_key=True, max_length=64)
    scope = models.CharField(max_length=200, help_text='"all", or the symbols reconciled (comma separated).')
    status = models.CharField(max_length=16, choices=Status.choices)
    requested_as_of = models.DateTimeField(null=True, help_text="Empty: a current run.")
    actor = models.CharField(max_length=100)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True)
    instrument_count = models.IntegerField(default=0)
    clean_count = models.IntegerField(default=0)
    with_breaks_count = models.IntegerField(default=0)
    incomplete_count = models.IntegerField(default=0)
    new_break_count = models.IntegerField(default=0)
    open_break_count = models.IntegerField(default=0, help_text="Breaks the run found (new or seen again).")
    closed_break_count = models.IntegerField(default=0)
    sources = models.JSONField(default=list, help_text="One entry per source_fetched event.")
    events_sha256 = models.CharField(
        max_length=64,
        help_text="Fold of the run stream's event hashes in order: d = sha256_hex(d + event.hash), d0 = 64 zeros.")
    last_position = models.BigIntegerField()
    last_event_hash = models.CharField(max_length=64)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["status", "-started_at"], name="recon_run_status_started")]
        permissions = [("start_reconciliation", "Can start a reconciliation run")]

    def __str__(self) -> str:
        return f"run {self.run_id} ({self.status})"


class InstrumentResult(models.Model):
    """One instrument in one run: the three numbers, the difference and the verdict."""

    class Status(models.TextChoices):
        CLEAN = "clean"
        BREAKS = "breaks"
        INCOMPLETE = "incomplete"

    run = models.ForeignKey(ReconciliationRun, on_delete=models.CASCADE, related_name="instrument_results")
    symbol = models.CharField(max_length=16)
    status = models.CharField(max_length=16, choices=Status.choices)
    tokens_per_share = models.DecimalField(**QUANTITY)
    shares_in_custody = models.DecimalField(**QUANTITY, null=True, help_text="Observed; empty when unknown.")
    tokens_outstanding = models.DecimalField(**QUANTITY, null=True,
                                             help_text="Observed on chain, in share equivalents; empty when unknown.")
    ledger_custody = models.DecimalField(**QUANTITY)
    ledger_supply = models.DecimalField(**QUANTITY)
    in_flight_mint = models.DecimalField(**QUANTITY)
    in_flight_redeem = models.DecimalField(**QUANTITY)
    difference = models.DecimalField(**QUANTITY, null=True, help_text="shares_in_custody - tokens_outstanding.")
    custody_by_account = models.JSONField(default=dict)
    supply_by_network = models.JSONField(default=dict)
    explanation = models.TextField(blank=True)
    incomplete_reasons = models.JSONField(default=list)
    position = models.BigIntegerField(help_text="Ledger position of the instrument_reconciled event.")

    class Meta:
        ordering = ["run_id", "symbol"]
        constraints = [models.UniqueConstraint(fields=["run", "symbol"], name="recon_result_run_symbol")]
        indexes = [models.Index(fields=["symbol", "-position"], name="recon_result_symbol_latest")]

    def __str__(self) -> str:
        return f"{self.symbol} in {self.run_id}: {self.status}"


class Break(models.Model):
    class Kind(models.TextChoices):
        UNBACKED_SUPPLY = "unbacked_supply", "unbacked supply (tokens > shares)"
        EXCESS_CUSTODY = "excess_custody", "excess custody (shares > tokens beyond what is in flight)"
        LEDGER_DRIFT = "ledger_drift", "ledger drift (the ledger disagrees with a source)"
        UNKNOWN_MINT = "unknown_mint", "unknown mint on chain"
        UNKNOWN_BURN = "unknown_burn", "unknown burn on chain"
        UNDISTRIBUTED_DIVIDEND = "undistributed_dividend", "dividend received but not distributed"
        STALE_SOURCE = "stale_source", "stale or unreachable source"

    class Severity(models.TextChoices):
        CRITICAL = "critical"
        WARNING = "warning"

    class Status(models.TextChoices):
        OPEN = "open"
        ACKNOWLEDGED = "acknowledged"
        RESOLVED = "resolved"  # by a person, with a reason and the correcting event
        CLOSED = "closed"  # automatically, by a run that no longer found it

    LIVE = (Status.OPEN, Status.ACKNOWLEDGED)

    break_id = models.CharField(primary_key=True, max_length=64)
    key = models.CharField(max_length=200, help_text="kind:symbol:subject - which difference this is.")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    symbol = models.CharField(max_length=16, blank=True)
    subject = models.CharField(max_length=120, blank=True,
                               help_text="The source concerned: custody:<account>, chain:<network>, a ledger account.")
    severity = models.CharField(max_length=16, choices=Severity.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    amount = models.DecimalField(**QUANTITY, help_text="Size of the difference, in `unit`.")
    unit = models.CharField(max_length=16, help_text="Shares of the symbol, or a currency.")
    detail = models.TextField()
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    first_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="+")
    last_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, related_name="+")
    times_seen = models.IntegerField(default=1)
    acknowledged_by = models.CharField(max_length=100, blank=True)
    acknowledged_at = models.DateTimeField(null=True)
    acknowledgement_note = models.TextField(blank=True)
    resolved_by = models.CharField(max_length=100, blank=True)
    resolved_at = models.DateTimeField(null=True)
    resolution_reason = models.TextField(blank=True)
    correcting_event_position = models.BigIntegerField(null=True)
    closed_at = models.DateTimeField(null=True)
    closed_by_run = models.ForeignKey(ReconciliationRun, on_delete=models.PROTECT, null=True, related_name="+")
    stream_version = models.IntegerField(default=0)

    class Meta:
        ordering = ["-last_seen_at"]
        constraints = [
            models.UniqueConstraint(fields=["key"], condition=models.Q(status__in=["open", "acknowledged"]),
                                    name="recon_one_live_break_per_key"),
        ]
        indexes = [
            models.Index(fields=["status", "severity"], name="recon_break_status_severity"),
            models.Index(fields=["symbol", "status"], name="recon_break_symbol_status"),
        ]
        permissions = [
            ("acknowledge_break", "Can acknowledge a reconciliation break"),
            ("resolve_break", "Can resolve a reconciliation break"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.symbol or self.subject} ({self.status})"


class AggregatorContract(models.Model):
    """The aggregate3 contract supply reads go through on one network (recorded by `manage.py deploy_aggregator`)."""

    network = models.CharField(primary_key=True, max_length=32)
    chain_id = models.BigIntegerField()
    address = models.CharField(max_length=42)
    deployed_at = models.DateTimeField()
    stream_version = models.IntegerField(default=0)

    def __str__(self) -> str:
        return f"aggregator on {self.network} at {self.address}"
