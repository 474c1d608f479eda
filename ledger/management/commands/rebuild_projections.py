import sys

from django.core.management.base import BaseCommand
from django.db import transaction
from tqdm import tqdm

from ledger import projections, store


class Command(BaseCommand):
    help = "Rebuild every projection (balances, stream heads, app read models) by replaying the whole log."

    def add_arguments(self, parser):
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, no_progress, **options):
        total = store.head_position()
        with transaction.atomic(), tqdm(total=total, unit="ev", disable=no_progress or not sys.stderr.isatty(),
                                        file=sys.stderr) as bar:
            replayed = projections.rebuild(progress=bar.update)
        names = ", ".join(projections.names())
        self.stdout.write(f"rebuilt {len(projections.names())} projections ({names}) from {replayed} events")
