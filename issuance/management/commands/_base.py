"""Shared by issuance commands: a named refusal (DomainError) or chain failure is one line and exit code 1."""
from __future__ import annotations

from argparse import ArgumentTypeError
from decimal import Decimal, InvalidOperation

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


def wait_seconds(text: str) -> Decimal:
    """--wait as a Decimal; argparse reports only ValueError/TypeError itself, and Decimal raises neither."""
    try:
        seconds = Decimal(text)
    except InvalidOperation:
        raise ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if not seconds.is_finite() or seconds < 0:
        raise ArgumentTypeError(f"{text!r} is not a number of seconds")
    return seconds
