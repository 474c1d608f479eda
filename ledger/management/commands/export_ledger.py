import sys
from datetime import date

from django.core.management.base import BaseCommand, CommandError

from ledger.errors import DomainError
from ledger.export import export


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from None


class Command(BaseCommand):
    help = "Export events recorded in a period as JSON lines, verifiable with tools/verify_export.py."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="date_from", required=True)
        parser.add_argument("--to", dest="date_to", required=True)
        parser.add_argument("out", help="output file, or - for standard output")

    def handle(self, *args, date_from, date_to, out, **options):
        start, end = _date(date_from), _date(date_to)
        if end < start:
            raise CommandError(f"--to {end} is before --from {start}")
        try:
            if out == "-":
                header = export(sys.stdout, start, end)
            else:
                with open(out, "w", encoding="utf-8") as handle:
                    header = export(handle, start, end)
        except DomainError as damage:  # e.g. a posting of no event: the log itself is damaged
            raise CommandError(f"export NOT completed ({out} is incomplete): {damage.message}; run verify_ledger") from None
        except OSError as failure:  # no such directory, no permission, disk full
            raise CommandError(f"export NOT completed: cannot write {out}: {failure.strerror}") from None
        self.stderr.write(
            f"exported {header['event_count']} events (positions {header['first_position']}..{header['last_position']})"
            f" to {out}; verify with: python3 tools/verify_export.py {out}"
        )
