from issuance.services import approve_mint

from ._base import IssuanceCommand


class Command(IssuanceCommand):
    help = "Approve a mint above the approval threshold, as a second person."

    def add_arguments(self, parser):
        parser.add_argument("request_id")
        parser.add_argument("--actor", required=True, help='the approver, e.g. "user:bob" (not the requester)')

    def handle(self, *args, request_id, actor, **options):
        mint = approve_mint(request_id, actor)
        self.stdout.write(f"mint {mint.id}: {mint.status} (approved by {mint.approved_by})")
