import sys
from concurrent.futures.process import BrokenProcessPool

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from ledger.store import head_position
from ledger.verify import usable_cores, verify


class Command(BaseCommand):
    help = ("Recompute the hash chain, check postings balance and that immutability triggers are installed; from"
            " position 1, also that balance snapshots (and without --to, current balances) match the postings.")

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="from_position", type=int, default=1)
        parser.add_argument("--to", dest="to_position", type=int, default=None)
        parser.add_argument("--workers", type=int, default=usable_cores(),
                            help="processes that walk chunks of a long range at once (default: one per usable core)")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, from_position, to_position, workers, no_progress, **options):
        if workers < 1:
            raise CommandError("--workers must be at least 1")
        head = head_position()
        if from_position > max(head, 1):  # a mistyped range, not a missing event: say so, not "BROKEN"
            raise CommandError(f"--from {from_position} is past the head {head}")
        try:
            with tqdm(unit="ev", disable=no_progress or not sys.stderr.isatty(), file=sys.stderr) as bar:
                result = verify(from_position, to_position, progress=bar.update, workers=workers)
        except BrokenProcessPool as failure:
            raise CommandError(f"verify NOT completed, nothing concluded about the ledger: a worker process died"
                               f" ({failure})") from failure
        if not result.ok:
            self.stderr.write(result.summary())
            sys.exit(1)
        self.stdout.write(result.summary())
        self._check_anchor()

    def _check_anchor(self) -> None:
        """With LEDGER_ANCHOR_RPC_URL and LEDGER_ANCHOR_CONTRACT set: does the latest on-chain anchor match?"""
        from chain.errors import ChainError, ChainUnavailable
        from ledger.anchor import check_configured_anchor

        try:
            check = check_configured_anchor()
        except ChainUnavailable as failure:  # transient: say so, but the ledger itself verified
            self.stderr.write(f"anchor NOT checked: {failure}")
            return
        except ChainError as failure:  # configured but unreadable (wrong address, no contract): an error
            self.stderr.write(f"anchor NOT checked: {failure}")
            sys.exit(1)
        if check is None:
            return
        if not check.ok:
            self.stderr.write(check.summary())
            sys.exit(1)
        self.stdout.write(check.summary())
