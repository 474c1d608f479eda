"""Tables of the event store. Only ledger/store.py writes Event and Posting rows; PostgreSQL refuses any
UPDATE, DELETE or TRUNCATE of them (see migrations/0002_immutability.py)."""
from __future__ import annotations

from django.db import models


class Event(models.Model):
    """One immutable fact. `position` is the global order; it is handed out under the ledger's append lock,
    so commit order equals position order and a follower reading "after position N" never skips an event."""

    position = models.BigIntegerField(primary_key=True)
    stream_type = models.CharField(max_length=64)
    stream_id = models.CharField(max_length=200)
    version = models.IntegerField()
    event_type = models.CharField(max_length=100)
    schema_version = models.SmallIntegerField(default=1)
    payload = models.JSONField()
    metadata = models.JSONField()
    recorded_at = models.DateTimeField(help_text="When the ledger learned the fact (transaction time).")
    effective_at = models.DateTimeField(help_text="When it happened in the world (valid time).")
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        db_table = "ledger_event"
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["stream_type", "stream_id", "version"], name="ledger_event_stream_version"),
            models.CheckConstraint(condition=models.Q(version__gte=1), name="ledger_event_version_positive"),
            models.CheckConstraint(condition=models.Q(position__gte=1), name="ledger_event_position_positive"),
        ]
        # Few indexes on purpose: each one is paid by every append under the single-writer lock.
        # (recorded_at, position): "the last position recorded by T" is one backward probe (ledger/balances.py).
        indexes = [models.Index(fields=["recorded_at", "position"], name="ledger_event_recorded_pos")]

    def __str__(self) -> str:
        return f"#{self.position} {self.stream_type}/{self.stream_id} v{self.version} {self.event_type}"


class Posting(models.Model):
    """One leg of a double-entry movement. The legs of an event sum to zero per asset (enforced by a trigger).
    `effective_at`/`recorded_at` copy the event's so point-in-time balances need no join; the trigger and
    verify_ledger check that they match the (hashed) event."""

    id = models.BigAutoField(primary_key=True)
    # No FK constraint: PostgreSQL would check it row by row at commit. The statement-level trigger (migration
    # 0002, one query since 0007) checks that every new posting belongs to an existing event and carries its times.
    event = models.ForeignKey(Event, on_delete=models.PROTECT, db_column="event_position", related_name="postings",
                              db_constraint=False, db_index=False)  # (event_position, seq) is unique and indexed
    seq = models.SmallIntegerField()
    account = models.CharField(max_length=200)
    asset = models.CharField(max_length=64)
    amount = models.DecimalField(max_digits=38, decimal_places=18)
    effective_at = models.DateTimeField()
    recorded_at = models.DateTimeField()

    class Meta:
        db_table = "ledger_posting"
        ordering = ["event_id", "seq"]
        constraints = [
            models.UniqueConstraint(fields=["event", "seq"], name="ledger_posting_event_seq"),
            models.CheckConstraint(condition=~models.Q(amount=0), name="ledger_posting_amount_nonzero"),
        ]
        # Point-in-time reads walk an account's postings by position (ledger/balances.py); migration 0006 adds
        # two partial indexes of the same shape for the rare legs recorded long after, or before, they took effect.
        indexes = [
            models.Index(fields=["account", "asset", "event"], name="ledger_posting_acct_pos"),
        ]

    def __str__(self) -> str:
        return f"{self.account} {self.amount} {self.asset}"


class IdempotencyRecord(models.Model):
    """Key + fingerprint of the first request and its result. Shared by the event store and the REST API
    (one mechanism, two scopes). Insert-only: a trigger refuses UPDATE and DELETE."""

    scope = models.CharField(max_length=100)
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    result = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "ledger_idempotency"
        constraints = [models.UniqueConstraint(fields=["scope", "key"], name="ledger_idempotency_scope_key")]


class AccountBalance(models.Model):
    """Projection: current balance per ledger account and asset, updated in the append transaction."""

    account = models.CharField(max_length=200)
    asset = models.CharField(max_length=64)
    balance = models.DecimalField(max_digits=38, decimal_places=18)
    last_position = models.BigIntegerField()

    class Meta:
        db_table = "ledger_account_balance"
        constraints = [models.UniqueConstraint(fields=["account", "asset"], name="ledger_balance_account_asset")]
        ordering = ["account", "asset"]

    def __str__(self) -> str:
        return f"{self.account} {self.balance} {self.asset}"


class BalanceSnapshot(models.Model):
    """Derived: an account's balance over every posting up to a log position (ledger/snapshots.py). The log
    is append-only, so a snapshot never goes stale; a point-in-time read starts from the nearest one."""

    account = models.CharField(max_length=200)
    asset = models.CharField(max_length=64)
    position = models.BigIntegerField()
    balance = models.DecimalField(max_digits=38, decimal_places=18)

    class Meta:
        db_table = "ledger_balance_snapshot"
        constraints = [models.UniqueConstraint(fields=["account", "asset", "position"], name="ledger_snapshot_key")]

    def __str__(self) -> str:
        return f"{self.account} {self.balance} {self.asset} at {self.position}"


class StreamState(models.Model):
    """Projection: head of every stream (version, last event), updated in the append transaction."""

    stream_type = models.CharField(max_length=64)
    stream_id = models.CharField(max_length=200)
    version = models.IntegerField()
    last_position = models.BigIntegerField()
    last_event_type = models.CharField(max_length=100)
    updated_at = models.DateTimeField()

    class Meta:
        db_table = "ledger_stream_state"
        constraints = [models.UniqueConstraint(fields=["stream_type", "stream_id"], name="ledger_stream_state_key")]


class ProjectionCheckpoint(models.Model):
    """Last position each projector has applied. In-transaction projectors move it with every append."""

    name = models.CharField(max_length=100, primary_key=True)
    position = models.BigIntegerField(default=0)

    class Meta:
        db_table = "ledger_projection_checkpoint"
