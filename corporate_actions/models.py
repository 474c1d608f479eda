"""Read models of corporate actions, snapshots and payout runs. Written ONLY by corporate_actions.projections,
inside the append transaction of the event that changed them (so `rebuild_projections` rebuilds them).

Money is Decimal (cash to the cent, reinvest costs finer), token amounts are integer base units in
NUMERIC(78, 0) (a uint256 fits), share equivalents NUMERIC(38, 18) like ledger postings.
"""
from __future__ import annotations

from django.db import models

MONEY = {"max_digits": 38, "decimal_places": 18}
BASE_UNITS = {"max_digits": 78, "decimal_places": 0}
SHARES = {"max_digits": 38, "decimal_places": 18}


class CorporateAction(models.Model):
    class Kind(models.TextChoices):
        CASH_DIVIDEND = "cash_dividend"
        STOCK_SPLIT = "stock_split"
        REVERSE_SPLIT = "reverse_split"
        SYMBOL_CHANGE = "symbol_change"
        DELISTING = "delisting"

    class Status(models.TextChoices):
        ANNOUNCED = "announced"
        SNAPSHOTTED = "snapshotted"  # dividend: holders at the record date recorded
        IN_PAYMENT = "in_payment"  # dividend: a payout run exists; split: applied, tokens being minted
        APPLIED = "applied"  # split, symbol change, delisting took effect
        PAID = "paid"  # dividend paid (or split mints done)
        CANCELLED = "cancelled"

    id = models.CharField(primary_key=True, max_length=80)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    symbol = models.CharField(max_length=16, help_text="Symbol when announced (a later symbol change keeps it).")
    isin = models.CharField(max_length=12)
    ex_date = models.DateField(null=True)
    record_date = models.DateField(null=True)
    pay_date = models.DateField(null=True)
    effective_date = models.DateField(null=True, help_text="Splits, symbol changes, delistings.")
    rate = models.DecimalField(null=True, help_text="Cash dividend: gross amount per share.", **MONEY)
    currency = models.CharField(max_length=3, blank=True)
    old_rate = models.DecimalField(null=True, help_text="Split: old shares ...", **SHARES)
    new_rate = models.DecimalField(null=True, help_text="... become new shares.", **SHARES)
    new_symbol = models.CharField(max_length=16, blank=True)
    source = models.CharField(max_length=16, help_text="ops | alpaca")
    source_id = models.CharField(max_length=100, blank=True, help_text="The broker's announcement id.")
    terms = models.JSONField(help_text="The current terms as the last announce/correct event states them.")
    announced_by = models.CharField(max_length=100)
    announced_at = models.DateTimeField()
    corrections = models.IntegerField(default=0)
    note = models.TextField(blank=True, help_text="Cancellation reason, or how the action was applied.")
    stream_version = models.IntegerField(default=0)

    class Meta:
        ordering = ["-announced_at"]
        indexes = [models.Index(fields=["isin", "kind"], name="ca_action_isin_kind")]
        constraints = [
            models.UniqueConstraint(fields=["source", "source_id"], condition=~models.Q(source_id=""),
                                    name="ca_action_one_per_source_id"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.symbol} ({self.id})"


class HolderSnapshot(models.Model):
    """The latest holders_snapshotted event of a dividend or split."""

    action = models.OneToOneField(CorporateAction, on_delete=models.PROTECT, primary_key=True,
                                  related_name="snapshot")
    cutoff = models.DateTimeField(help_text="Blocks with a timestamp before this moment count.")
    networks = models.JSONField(help_text="Per network: token, block number/hash/timestamp, holder count, totals.")
    holders_sha256 = models.CharField(max_length=64)
    holder_count = models.IntegerField()
    event_position = models.BigIntegerField()
    stream_version = models.IntegerField()
    taken_at = models.DateTimeField()


class SnapshotHolder(models.Model):
    action = models.ForeignKey(CorporateAction, on_delete=models.PROTECT, related_name="snapshot_holders")
    network = models.CharField(max_length=32)
    address = models.CharField(max_length=42)
    balance_units = models.DecimalField(**BASE_UNITS)
    excluded = models.BooleanField(default=False, help_text="An issuer wallet: no dividend.")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["action", "network", "address"], name="ca_snapshot_holder")]


class PayoutRun(models.Model):
    class Kind(models.TextChoices):
        AIRDROP = "dividend_airdrop"
        REINVEST = "dividend_reinvest"
        SPLIT_MINT = "split_mint"

    class Status(models.TextChoices):
        CREATED = "created"  # entitlements booked, waiting for approval
        APPROVED = "approved"
        PAYING = "paying"  # at least one transaction signed
        COMPLETED = "completed"

    id = models.CharField(primary_key=True, max_length=80)
    action = models.ForeignKey(CorporateAction, on_delete=models.PROTECT, related_name="payout_runs")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    status = models.CharField(max_length=16, choices=Status.choices)
    symbol = models.CharField(max_length=16)
    currency = models.CharField(max_length=3, blank=True)
    reference_price = models.DecimalField(null=True, **MONEY)
    targets = models.JSONField(default=dict, help_text="Per network: the contract paid from or minted on "
                                                      "(address, decimals, tokens_per_share, disperser).")
    totals = models.JSONField(help_text="Amounts as decimal strings: received, gross, tax, fees, paid...")
    created_by = models.CharField(max_length=100)
    approved_by = models.CharField(max_length=100, blank=True)
    shares_secured = models.BooleanField(default=False, help_text="Reinvest: shares behind the new tokens bought.")
    paused_instrument = models.BooleanField(default=False, help_text="Split: the run paused the instrument.")
    created_at = models.DateTimeField()
    approved_at = models.DateTimeField(null=True)
    completed_at = models.DateTimeField(null=True)
    stream_version = models.IntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("approve_payout_run", "Can approve a payout run (never one's own)")]

    def __str__(self) -> str:
        return f"{self.kind} {self.symbol} run {self.id} ({self.status})"


class PayoutLine(models.Model):
    """One holder's entitlement in a run (per network and address)."""

    class Outcome(models.TextChoices):
        PAY = "pay"
        CARRY = "carry"  # below the minimum: kept for the holder's next dividend
        FORFEIT = "forfeit"  # below the minimum: kept by the issuer
        NONE = "none"  # nothing due (balance too small for a cent or a base unit)

    run = models.ForeignKey(PayoutRun, on_delete=models.PROTECT, related_name="lines")
    line_no = models.IntegerField()
    network = models.CharField(max_length=32)
    address = models.CharField(max_length=42)
    balance_units = models.DecimalField(**BASE_UNITS)
    shares = models.DecimalField(**SHARES)
    tax_category = models.CharField(max_length=32, blank=True)
    tax_rate = models.DecimalField(null=True, **MONEY)
    gross = models.DecimalField(null=True, **MONEY)
    tax = models.DecimalField(null=True, **MONEY)
    fee = models.DecimalField(null=True, **MONEY)
    carried_in = models.DecimalField(null=True, **MONEY)
    net = models.DecimalField(null=True, **MONEY)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    amount = models.DecimalField(help_text="Cash value paid now (USD), or shares minted for a split.", **MONEY)
    units = models.DecimalField(help_text="Stablecoin or token base units sent to the holder.", **BASE_UNITS)
    batch_no = models.IntegerField(null=True)
    paid = models.BooleanField(default=False)
    tx_hash = models.CharField(max_length=66, blank=True)
    paid_at = models.DateTimeField(null=True)

    class Meta:
        ordering = ["run", "line_no"]
        constraints = [models.UniqueConstraint(fields=["run", "line_no"], name="ca_payout_line_no")]
        indexes = [models.Index(fields=["address"], name="ca_payout_line_address")]


class PayoutTx(models.Model):
    """One on-chain transaction of a run: a Disperser batch, a mint to one holder, or the payer's approval."""

    class Status(models.TextChoices):
        SIGNED = "signed"  # persisted, maybe not broadcast
        BROADCAST = "broadcast"
        CONFIRMED = "confirmed"
        REVERTED = "reverted"  # re-signed with a new nonce on the next run; the on-chain id stops a double payment
        DROPPED = "dropped"  # its nonce went to another transaction: re-signed on the next run

    run = models.ForeignKey(PayoutRun, on_delete=models.PROTECT, related_name="transactions")
    tx_key = models.CharField(max_length=100, help_text="<network>:batch:<n> | <network>:line:<n> | <network>:allowance")
    kind = models.CharField(max_length=16, help_text="disperse | mint | approve")
    network = models.CharField(max_length=32)
    batch_no = models.IntegerField(null=True)
    line_nos = models.JSONField(default=list)
    attempt = models.IntegerField()
    signer = models.CharField(max_length=42)
    nonce = models.BigIntegerField()
    tx_hash = models.CharField(max_length=66)
    raw_tx = models.TextField(help_text="Signed bytes (hex), rebroadcast verbatim after a crash.")
    onchain_id = models.CharField(max_length=66, blank=True, help_text="Disperser batchId or ShareToken requestId.")
    status = models.CharField(max_length=16, choices=Status.choices)
    block_number = models.BigIntegerField(null=True)
    block_hash = models.CharField(max_length=66, blank=True)
    updated_at = models.DateTimeField()

    class Meta:
        ordering = ["run", "network", "batch_no", "tx_key"]
        constraints = [models.UniqueConstraint(fields=["run", "tx_key"], name="ca_payout_tx_key")]


class PayoutPolicy(models.Model):
    """How one instrument's dividends reach holders; instruments without a policy use the settings' defaults."""

    class Mode(models.TextChoices):
        AIRDROP = "airdrop"
        REINVEST = "reinvest"

    class BelowMinimum(models.TextChoices):
        CARRY = "carry"
        FORFEIT = "forfeit"

    isin = models.CharField(primary_key=True, max_length=12)
    mode = models.CharField(max_length=16, choices=Mode.choices)
    minimum_payout = models.DecimalField(**MONEY)
    below_minimum = models.CharField(max_length=8, choices=BelowMinimum.choices)
    fee_rate = models.DecimalField(**MONEY)
    set_by = models.CharField(max_length=100)
    stream_version = models.IntegerField(default=0)


class HolderTaxProfile(models.Model):
    address = models.CharField(primary_key=True, max_length=42)
    category = models.CharField(max_length=32)
    set_by = models.CharField(max_length=100)
    stream_version = models.IntegerField(default=0)
