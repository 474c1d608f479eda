import sys

from django.core.management.base import BaseCommand, CommandError

from chain.errors import ChainError
from console.tasks import anchor_ledger
from ledger.anchor import AnchorFailed


class Command(BaseCommand):
    help = "Publish the ledger's head hash on chain now (what the hourly beat task does) and record it as an event."

    def handle(self, *args, **options):
        try:
            result = anchor_ledger()
        except (ChainError, AnchorFailed) as failure:  # RPC down, contract unreadable, tx reverted: one line
            raise CommandError(f"anchor_ledger NOT done: {failure.code}: {failure}") from failure
        if result["status"] == "not_configured":
            self.stderr.write("anchor_ledger: set LEDGER_ANCHOR_RPC_URL, LEDGER_ANCHOR_CONTRACT and LEDGER_ANCHOR_SIGNER_KEY")
            sys.exit(1)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in result.items()))
