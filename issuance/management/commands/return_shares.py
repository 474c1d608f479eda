from issuance.services import return_shares
from ledger.canonical import decimal_str

from ._base import IssuanceCommand


class Command(IssuanceCommand):
    help = "Record that the shares of a cancelled or failed mint went back to the partner (e.g. journaled back)."

    def add_arguments(self, parser):
        parser.add_argument("request_id")
        parser.add_argument("--actor", required=True, help='who returned them, e.g. "user:alice"')
        parser.add_argument("--reference", required=True, help="what returned them, e.g. the broker journal id")

    def handle(self, *args, request_id, actor, reference, **options):
        mint = return_shares(request_id, actor, reference)
        self.stdout.write(f"mint {mint.id}: {decimal_str(mint.qty_shares)} {mint.instrument.symbol} shares "
                          f"returned to {mint.partner_id} ({reference})")
