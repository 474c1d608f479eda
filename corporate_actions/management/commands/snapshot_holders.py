from corporate_actions.services import snapshot_holders

from ._base import CorporateActionsCommand


class Command(CorporateActionsCommand):
    help = "Record the token holders of a dividend at the end of its record date, on every network."

    def add_arguments(self, parser):
        parser.add_argument("--action", required=True, help="corporate action id")
        self.add_actor(parser, "system:manage.snapshot_holders")

    def handle(self, *args, action, actor, **options):
        snapshot = snapshot_holders(action, actor=actor)
        blocks = ", ".join(f"{n['network']} block {n['block_number']}" for n in snapshot.networks)
        self.stdout.write(f"{action}: {snapshot.holder_count} holders at {blocks}; holder list sha256 "
                          f"{snapshot.holders_sha256}")
