from corporate_actions.services import apply_action

from ._base import CorporateActionsCommand


class Command(CorporateActionsCommand):
    help = "Make a split, reverse split, symbol change or delisting take effect (splits then need their mint run)."

    def add_arguments(self, parser):
        parser.add_argument("--action", required=True)
        self.add_actor(parser, "system:manage.apply_corporate_action")

    def handle(self, *args, action, actor, **options):
        applied = apply_action(action, actor=actor)
        self.stdout.write(f"{applied.id}: {applied.status}; {applied.note}")
