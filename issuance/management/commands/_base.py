"""Shared by issuance commands: a named refusal (DomainError) or chain failure is one line and exit code 1."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from chain.errors import ChainError
from ledger.errors import DomainError


class IssuanceCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as refusal:
            raise CommandError(f"{refusal.code}: {refusal.message}", returncode=1) from refusal
        except ChainError as failure:
            raise CommandError(f"{failure.code}: {failure}", returncode=1) from failure
