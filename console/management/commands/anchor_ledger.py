import sys

from django.core.management.base import BaseCommand

from console.tasks import anchor_ledger


class Command(BaseCommand):
    help = "Publish the ledger's head hash on chain now (what the hourly beat task does) and record it as an event."

    def handle(self, *args, **options):
        result = anchor_ledger()
        if result["status"] == "not_configured":
            self.stderr.write("anchor_ledger: set LEDGER_ANCHOR_RPC_URL, LEDGER_ANCHOR_CONTRACT and LEDGER_ANCHOR_SIGNER_KEY")
            sys.exit(1)
        self.stdout.write(" ".join(f"{key}={value}" for key, value in result.items()))
