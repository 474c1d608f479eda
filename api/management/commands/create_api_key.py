from argparse import ArgumentTypeError
from datetime import timedelta

from django.utils import timezone

from api.keys import ALL_SCOPES, create_api_key

from ._base import ApiCommand, partner_id_for


MAX_EXPIRES_IN_DAYS = 3650  # ten years; far beyond that the expiry date overflows


def expires_in_days(text: str) -> int:
    """A whole number of days from 1 to MAX_EXPIRES_IN_DAYS, checked before anything is stored."""
    days = int(text)
    if not 1 <= days <= MAX_EXPIRES_IN_DAYS:
        raise ArgumentTypeError(f"{days} is not between 1 and {MAX_EXPIRES_IN_DAYS} days")
    return days


class Command(ApiCommand):
    help = "Create an API key for a partner. The key is printed once, as the last line; only its hash is stored."

    def add_arguments(self, parser):
        parser.add_argument("--partner", required=True, help="partner id or exact name")
        parser.add_argument("--scopes", nargs="+", default=["read"],
                            help=f"any of {', '.join(ALL_SCOPES)} (space- or comma-separated; default read)")
        parser.add_argument("--expires-in-days", type=expires_in_days, default=None, help="default: never expires")
        parser.add_argument("--actor", default="system:create_api_key", help='who does this, e.g. "user:alice"')

    def handle(self, *args, partner, scopes, expires_in_days, actor, **options):
        scope_list = [scope for item in scopes for scope in item.split(",")]
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days is not None else None
        issued = create_api_key(partner_id_for(partner), scopes=scope_list, actor=actor, expires_at=expires_at)
        key = issued.api_key
        self.stdout.write(f"API key {key.prefix} for partner {key.partner_id}, scopes {','.join(key.scopes)}, "
                          f"expires {key.expires_at.isoformat() if key.expires_at else 'never'}. Store it now:")
        self.stdout.write(issued.token)
