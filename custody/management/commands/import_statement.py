import getpass
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from custody.statement_import import import_statement
from ledger.errors import DomainError


class Command(BaseCommand):
    help = ("Import a custodian statement of holdings (CSV, SWIFT MT535 or ISO 20022 semt.002) for a custody "
            "account. All or nothing; the same file twice is a no-op.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--account", required=True, help="custody account name")
        parser.add_argument("--actor", help="who imports it (default: user:<login name>)")

    def handle(self, *args, file: Path, account: str, actor: str | None, **options):
        try:
            data = file.read_bytes()
        except OSError as error:
            self.stderr.write(f"error: cannot read {file}: {error.strerror}")
            sys.exit(1)
        try:
            result = import_statement(data, file.name, account, actor=actor or f"user:{getpass.getuser()}")
        except DomainError as error:
            self.stderr.write(f"error: {error.message}")
            sys.exit(1)
        done = "already imported" if result.already_imported else "imported"
        self.stdout.write(f"{done}: {result.format} statement of {result.statement_date} for {result.account}, "
                          f"{result.holdings} holdings (sha256 {result.file_sha256})")
        if result.unknown_isins:
            self.stdout.write(f"warning: not instruments, kept with no symbol: {', '.join(result.unknown_isins)}")
