from corporate_actions.services import announce_dividend

from ._base import CorporateActionsCommand


class Command(CorporateActionsCommand):
    help = "Announce a cash dividend (refused, with nothing recorded, when a term is wrong)."

    def add_arguments(self, parser):
        parser.add_argument("symbol")
        parser.add_argument("--ex-date", required=True)
        parser.add_argument("--record-date", required=True)
        parser.add_argument("--pay-date", required=True)
        parser.add_argument("--rate", required=True, help="gross amount per share, e.g. 0.25")
        parser.add_argument("--currency", default="USD")
        self.add_actor(parser, "system:manage.announce_dividend")

    def handle(self, *args, symbol, ex_date, record_date, pay_date, rate, currency, actor, **options):
        action = announce_dividend(symbol, ex_date=ex_date, record_date=record_date, pay_date=pay_date, rate=rate,
                                   currency=currency, actor=actor)
        self.stdout.write(f"{action.id}: {action.symbol} dividend {action.rate} {action.currency}/share, record "
                          f"{action.record_date}, pay {action.pay_date}")
