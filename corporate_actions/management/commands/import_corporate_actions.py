from datetime import date

from corporate_actions.services import import_corporate_actions

from ._base import CorporateActionsCommand


class Command(CorporateActionsCommand):
    help = "Import Alpaca's corporate action announcements between two dates (idempotent; changes become corrections)."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, type=date.fromisoformat)
        parser.add_argument("--until", required=True, type=date.fromisoformat)
        parser.add_argument("--account", default=None, help="custody account (default: CORPORATE_ACTIONS_IMPORT_ACCOUNT)")

    def handle(self, *args, since, until, account, **options):
        report = import_corporate_actions(since, until, account=account)
        self.stdout.write(f"{len(report.announced)} announced, {len(report.corrected)} corrected, "
                          f"{len(report.unchanged)} unchanged, {len(report.skipped)} skipped, "
                          f"{len(report.rejected)} rejected")
        for alpaca_id, why in report.skipped + report.rejected:
            self.stdout.write(f"  {alpaca_id}: {why}")
