from corporate_actions.services import announce_split

from ._base import CorporateActionsCommand


class Command(CorporateActionsCommand):
    help = "Announce a split or reverse split: OLD_RATE shares become NEW_RATE shares (1-for-10: --old-rate 10 --new-rate 1)."

    def add_arguments(self, parser):
        parser.add_argument("symbol")
        parser.add_argument("--effective-date", required=True)
        parser.add_argument("--old-rate", required=True)
        parser.add_argument("--new-rate", required=True)
        self.add_actor(parser, "system:manage.announce_split")

    def handle(self, *args, symbol, effective_date, old_rate, new_rate, actor, **options):
        action = announce_split(symbol, effective_date=effective_date, old_rate=old_rate, new_rate=new_rate, actor=actor)
        self.stdout.write(f"{action.id}: {action.symbol} {action.kind} {old_rate}:{new_rate} effective "
                          f"{action.effective_date}")
