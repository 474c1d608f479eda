from corporate_actions.services import run_payout
from issuance.management.commands._base import wait_seconds

from ._base import CorporateActionsCommand


class Command(CorporateActionsCommand):
    help = ("Pay (or mint) an approved run as far as it goes; safe to run again at any time, after a crash too: "
            "nobody is paid twice.")

    def add_arguments(self, parser):
        parser.add_argument("--run", required=True)
        parser.add_argument("--wait", type=wait_seconds, default=None, help="seconds to wait for receipts (default: setting)")

    def handle(self, *args, run, wait, **options):
        result = run_payout(run, wait_seconds=wait)
        paid = result.lines.filter(outcome="pay", paid=True).count()
        due = result.lines.filter(outcome="pay").count()
        self.stdout.write(f"{result.id}: {result.status}, {paid} of {due} holders paid")
