from corporate_actions.services import create_dividend_run

from ._base import CorporateActionsCommand


class Command(CorporateActionsCommand):
    help = "Compute and book every holder's entitlement of a snapshotted dividend; the run then waits for approval."

    def add_arguments(self, parser):
        parser.add_argument("--action", required=True)
        parser.add_argument("--reference-price", default=None, help="reinvest dividends: price new shares are bought at")
        self.add_actor(parser, "system:manage.create_payout_run")

    def handle(self, *args, action, reference_price, actor, **options):
        run = create_dividend_run(action, actor=actor, reference_price=reference_price)
        totals = run.totals
        self.stdout.write(f"{run.id}: {totals['holders']} holders, received {totals['received']}, gross "
                          f"{totals['gross']}, tax {totals['tax']}, to pay {totals['paid']}, residue {totals['residue']} "
                          f"{run.currency}; waiting for approval")
