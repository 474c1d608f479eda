import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from ledger.verify import verify


class Command(BaseCommand):
    help = "Recompute the hash chain, check postings balance and that immutability triggers are installed."

    def add_arguments(self, parser):
        parser.add_argument("--from", dest="from_position", type=int, default=1)
        parser.add_argument("--to", dest="to_position", type=int, default=None)
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, from_position, to_position, no_progress, **options):
        with tqdm(unit="ev", disable=no_progress or not sys.stderr.isatty(), file=sys.stderr) as bar:
            result = verify(from_position, to_position, progress=bar.update)
        if not result.ok:
            self.stderr.write(result.summary())
            sys.exit(1)
        self.stdout.write(result.summary())
