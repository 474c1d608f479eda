import sys

from django.core.management.base import BaseCommand
from tqdm import tqdm

from custody.sync import alpaca_accounts, sync_account
from ledger.errors import DomainError


class Command(BaseCommand):
    help = ("Record new broker activities, order outcomes and positions of Alpaca custody accounts "
            "(all of them, or --account). Safe to re-run: nothing already recorded is written again.")

    def add_arguments(self, parser):
        parser.add_argument("--account", help="custody account name (default: every Alpaca account)")
        parser.add_argument("--rescan", action="store_true",
                            help="read the whole activity history again, not only after the cursor")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, account, rescan, no_progress, **options):
        try:
            for custody_account in alpaca_accounts(account):
                with tqdm(desc=custody_account.name, unit="activity", file=sys.stderr,
                          disable=no_progress or not sys.stderr.isatty()) as bar:
                    report = sync_account(custody_account, rescan=rescan, progress=bar.update)
                positions = (f"positions observed ({report.symbols_held} symbols)" if report.positions_observed
                             else "positions unchanged")
                self.stdout.write(f"{report.account}: {report.activities_recorded} new activities, "
                                  f"{report.orders_recorded} order outcomes, {positions}")
        except DomainError as error:
            self.stderr.write(f"error: {error.message}")
            sys.exit(1)
