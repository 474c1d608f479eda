"""The console keeps no business state: everything it changes goes through services that append events.
It holds only permissions that belong to no model and a cache of how far the hash chain has been verified."""
from __future__ import annotations

from django.db import models


class ConsoleAccess(models.Model):
    """Anchor for permissions on console features rather than on a model (no table)."""

    class Meta:
        managed = False
        default_permissions = ()
        permissions = [("export_ledger", "Can download the audit export of the ledger")]


class ChainCheckpoint(models.Model):
    """How far the ledger's hash chain was last verified, and the hash found there.

    A cache, not a fact: deleting it only costs a re-verification. Before trusting it, readers check that the
    event at `position` still carries `hash`; a difference means history was rewritten after verification.
    """

    id = models.SmallIntegerField(primary_key=True, default=1)
    position = models.BigIntegerField()
    hash = models.CharField(max_length=64)
    verified_at = models.DateTimeField()

    class Meta:
        db_table = "console_chain_checkpoint"
        default_permissions = ()
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="console_chain_checkpoint_single_row")]
