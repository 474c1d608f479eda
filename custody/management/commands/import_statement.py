import getpass
import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from custody.statement_import import import_statement, read_statement_file
from ledger.errors import DomainError


class Command(BaseCommand):
    help = ("Import a custodian statement of holdings (CSV, SWIFT MT535 or ISO 20022 semt.002) for a custody "
            "account. All or nothing; the same file twice is a no-op; a file larger than "
            "CUSTODY_STATEMENT_MAX_BYTES is refused.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--account", required=True, help="custody account name")
        parser.add_argument("--actor", help="who imports it (default: user:<login name>)")

    def handle(self, *args, file: Path, account: str, actor: str | None, **options):
        try:
            result = import_statement(self._read(file), file.name, account,
                                      actor=actor or f"user:{getpass.getuser()}")
        except DomainError as error:
            self.stderr.write(f"error: {error.message}")
            sys.exit(1)
        done = "already imported" if result.already_imported else "imported"
        self.stdout.write(f"{done}: {result.format} statement of {result.statement_date} for {result.account}, "
                          f"{result.holdings} holdings (sha256 {result.file_sha256})")
        if result.unknown_isins:
            self.stdout.write(f"warning: not instruments, kept with no symbol: {', '.join(result.unknown_isins)}")

    def _read(self, file: Path) -> bytes:
        """The file's bytes, read no further than one byte past the size limit (StatementTooLarge beyond)."""
        try:
            with file.open("rb") as source:
                return read_statement_file(source, file.name)
        except OSError as error:
            self.stderr.write(f"error: cannot read {file}: {error.strerror}")
            sys.exit(1)
