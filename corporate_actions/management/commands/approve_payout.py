from corporate_actions.services import approve_run

from ._base import CorporateActionsCommand


class Command(CorporateActionsCommand):
    help = "Approve a payout run, as a person other than the one who created it."

    def add_arguments(self, parser):
        parser.add_argument("--run", required=True)
        parser.add_argument("--user", required=True, help="the approver's username (recorded as user:<username>)")

    def handle(self, *args, run, user, **options):
        approved = approve_run(run, f"user:{user}")
        self.stdout.write(f"{approved.id}: approved by {approved.approved_by}")
