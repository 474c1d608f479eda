from issuance.services import cycle_time_stats

from ._base import IssuanceCommand


class Command(IssuanceCommand):
    help = "p50/p95 seconds of completed mints, overall and per stage."

    def add_arguments(self, parser):
        parser.add_argument("--symbol", default=None)

    def handle(self, *args, symbol, **options):
        stats = cycle_time_stats(symbol)
        self.stdout.write(f"{stats.pop('count')} completed mints")
        for stage, numbers in stats.items():
            self.stdout.write(f"{stage:>22}: p50 {numbers['p50']} s  p95 {numbers['p95']} s  (n={numbers['count']})")
