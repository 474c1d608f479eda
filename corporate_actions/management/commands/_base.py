"""Shared by the corporate actions commands: a named refusal (DomainError) or a chain failure is one line
("<code>: <message>") and exit code 1."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from chain.errors import ChainError
from ledger.errors import DomainError


class CorporateActionsCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as refusal:
            raise CommandError(f"{refusal.code}: {refusal.message}", returncode=1) from refusal
        except ChainError as failure:
            raise CommandError(f"{failure.code}: {failure}", returncode=1) from failure

    def add_actor(self, parser, default: str) -> None:
        parser.add_argument("--actor", default=default, help='who does this, e.g. "user:alice"')
