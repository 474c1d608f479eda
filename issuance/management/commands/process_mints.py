from issuance import services

from ._base import IssuanceCommand, wait_seconds


class Command(IssuanceCommand):
    help = "Advance pending issuance work once: ITN requests, mints, redemptions (what the Celery beat does)."

    def add_arguments(self, parser):
        parser.add_argument("--request", default=None, help="only this mint request id")
        parser.add_argument("--wait", type=wait_seconds, default=None, help="seconds to wait for receipts (default: setting)")
        parser.add_argument("--no-itn", action="store_true", help="do not poll the broker for ITN mint requests")

    def handle(self, *args, request, wait, no_itn, **options):
        if request:
            mint = services.process_mint(request, wait_seconds=wait)
            self.stdout.write(f"mint {mint.id}: {mint.status}")
            return
        if not no_itn:
            recorded, refused = services.poll_itn_mints()
            for itn_id, code in refused:
                self.stdout.write(f"ITN request {itn_id} refused: {code}")
        for request_id in services.pending_mint_ids():
            mint = services.process_mint(request_id, wait_seconds=wait)
            self.stdout.write(f"mint {mint.id}: {mint.status}")
        for redeem_id in services.pending_redeem_ids():
            redeem = services.process_redeem(redeem_id, wait_seconds=wait)
            self.stdout.write(f"redeem {redeem.id}: {redeem.status}")
