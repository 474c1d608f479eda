import sys

from django.conf import settings
from django.core.management.base import BaseCommand
from eth_account import Account

from chain.deploy import deploy_ledger_anchor
from chain.errors import ChainError
from chain.rpc import connect


class Command(BaseCommand):
    help = ("Deploy a LedgerAnchor contract owned by the anchor signer (LEDGER_ANCHOR_SIGNER_KEY) on "
            "LEDGER_ANCHOR_RPC_URL and print its address as the last line; set it as LEDGER_ANCHOR_CONTRACT.")

    def handle(self, *args, **options):
        key = settings.LEDGER_ANCHOR_SIGNER_KEY
        if not key:
            self.stderr.write("deploy_anchor_contract: LEDGER_ANCHOR_SIGNER_KEY is not set")
            sys.exit(1)
        signer = Account.from_key(key)
        try:
            address = deploy_ledger_anchor(connect(settings.LEDGER_ANCHOR_RPC_URL), signer, signer.address)
        except ChainError as exc:
            self.stderr.write(f"deploy_anchor_contract: {exc}")
            sys.exit(1)
        self.stdout.write(address)
