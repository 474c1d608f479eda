from django.utils.text import slugify

from partners.services import create_partner

from ._base import ApiCommand


class Command(ApiCommand):
    help = ("Create a partner (KYC pending) through the partners service. Prints the partner id as the last line. "
            "KYC approval, caps and wallets are separate steps for operations.")

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="display name, e.g. 'Acme Markets'")
        parser.add_argument("--id", default=None, help="partner id (default: the name slugified)")
        parser.add_argument("--symbols", default="", help="instruments it may mint and redeem, comma-separated")
        parser.add_argument("--actor", default="system:create_partner", help='who does this, e.g. "user:alice"')

    def handle(self, *args, name, id, symbols, actor, **options):
        partner = create_partner(id or slugify(name), name, actor=actor,
                                 allowed_symbols=[s for s in symbols.split(",") if s.strip()])
        self.stdout.write(f"created partner {partner.name!r} (KYC {partner.kyc_status})")
        self.stdout.write(partner.id)
