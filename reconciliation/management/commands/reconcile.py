"""manage.py reconcile [--instrument X ...] [--as-of T]

Prints one line per instrument and a summary line. Exit status: 0 = complete and clean, 1 = complete with
breaks, 2 = incomplete (a source was down or stale, whatever else was found), 3 = refused (another run of an
overlapping scope is running, unknown instrument, bad --as-of).
"""
from __future__ import annotations

import sys
from datetime import UTC, datetime

from django.core.management.base import BaseCommand

from ledger.canonical import decimal_str
from ledger.errors import DomainError
from reconciliation.errors import InvalidAsOf
from reconciliation.models import ReconciliationRun
from reconciliation.runs import RunResult, run_reconciliation

EXIT_CLEAN, EXIT_BREAKS, EXIT_INCOMPLETE, EXIT_REFUSED = 0, 1, 2, 3


def exit_status(result: RunResult) -> int:
    if result.status == ReconciliationRun.Status.INCOMPLETE:
        return EXIT_INCOMPLETE
    return EXIT_BREAKS if result.breaks else EXIT_CLEAN


def _amount(value) -> str:
    return "?" if value is None else decimal_str(value)


class Command(BaseCommand):
    help = "Reconcile custody, on-chain supply and the ledger now (or as of a past time). " \
           "Exit 0 clean, 1 breaks, 2 incomplete, 3 refused."

    def add_arguments(self, parser):
        parser.add_argument("--instrument", action="append", dest="instruments", metavar="SYMBOL",
                            help="reconcile only this instrument (repeatable); default: all")
        parser.add_argument("--as-of", dest="as_of", help="ISO 8601 time in the past (UTC when no offset is given)")
        parser.add_argument("--actor", default="system:manage.reconcile", help="who started the run")

    def handle(self, *args, instruments, as_of, actor, **options):
        try:
            moment = self._parse_as_of(as_of)
            result = run_reconciliation(instruments, moment, actor=actor)
        except DomainError as refusal:
            self.stderr.write(f"reconcile: {refusal.code}: {refusal.message}")
            sys.exit(EXIT_REFUSED)
        for item in result.instruments:
            self.stdout.write(f"{item.symbol:<12} {item.status:<10} custody {_amount(item.shares_in_custody)}"
                              f"  tokens {_amount(item.tokens_outstanding)}  difference {_amount(item.difference)}"
                              f"  {item.explanation}")
        for outcome in result.breaks:
            found = outcome.found
            self.stdout.write(f"break {outcome.break_id} {'NEW ' if outcome.new else ''}{found.severity} {found.kind} "
                              f"{found.symbol or found.subject} {decimal_str(found.amount)} {found.unit}: {found.detail}")
        self.stdout.write(f"run {result.run_id}: {result.status}, {len(result.instruments)} instrument(s), "
                          f"{len(result.breaks)} break(s) ({len(result.new_breaks)} new), "
                          f"{len(result.closed_break_ids)} closed; events sha256 {result.events_sha256}")
        sys.exit(exit_status(result))

    @staticmethod
    def _parse_as_of(text: str | None) -> datetime | None:
        if not text:
            return None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise InvalidAsOf(f"--as-of {text!r} is not an ISO 8601 time") from None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
