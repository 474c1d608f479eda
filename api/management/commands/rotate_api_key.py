from datetime import timedelta

from api.keys import rotate_api_key

from ._base import ApiCommand


class Command(ApiCommand):
    help = ("Replace an API key with a new one (same partner and scopes). The old key keeps working for the grace "
            "period. The new key is printed as the last line.")

    def add_arguments(self, parser):
        parser.add_argument("--prefix", required=True, help="public prefix of the key to rotate")
        parser.add_argument("--grace-hours", type=float, default=24.0)
        parser.add_argument("--actor", default="system:rotate_api_key", help='who does this, e.g. "user:alice"')

    def handle(self, *args, prefix, grace_hours, actor, **options):
        issued = rotate_api_key(prefix, actor=actor, grace=timedelta(hours=grace_hours))
        self.stdout.write(f"API key {prefix} replaced by {issued.api_key.prefix}; the old key works until "
                          f"{issued.api_key.rotated_from.expires_at.isoformat()}. Store the new key now:")
        self.stdout.write(issued.token)
