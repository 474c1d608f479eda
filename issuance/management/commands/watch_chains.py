from issuance.services import watch_chains

from ._base import IssuanceCommand


class Command(IssuanceCommand):
    help = "Run the chain watcher once over every active token deployment."

    def handle(self, *args, **options):
        summary = watch_chains()
        self.stdout.write(f"scanned {summary.deployments_scanned} deployments: {summary.unexplained} unexplained "
                          f"transfers, {summary.deposits} redemption deposits, {len(summary.reorged_mints)} reorged mints, "
                          f"{len(summary.reorged_burns)} reorged burns")
        for network, why in summary.unavailable.items():
            self.stderr.write(f"{network} unavailable: {why}")
