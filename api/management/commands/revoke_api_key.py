from api.keys import revoke_api_key

from ._base import ApiCommand


class Command(ApiCommand):
    help = "Revoke an API key now (leaked key, partner offboarded)."

    def add_arguments(self, parser):
        parser.add_argument("--prefix", required=True)
        parser.add_argument("--reason", default="")
        parser.add_argument("--actor", default="system:revoke_api_key", help='who does this, e.g. "user:alice"')

    def handle(self, *args, prefix, reason, actor, **options):
        key = revoke_api_key(prefix, actor=actor, reason=reason)
        self.stdout.write(f"API key {key.prefix} of partner {key.partner_id} revoked at {key.revoked_at.isoformat()}")
