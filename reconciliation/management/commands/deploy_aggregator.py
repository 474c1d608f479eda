"""manage.py deploy_aggregator --network X [--replace]: deploy the aggregate3 contract supply reads go through, and
record it; a no-op while the recorded one is still on chain."""
from __future__ import annotations

import sys

from django.core.management.base import BaseCommand

from chain.errors import ChainError
from ledger.errors import DomainError
from reconciliation.aggregators import deploy_aggregator


class Command(BaseCommand):
    help = "Deploy the Aggregator contract on a network (issuer's deployer key) and record its address."

    def add_arguments(self, parser):
        parser.add_argument("--network", required=True, help="a network name from SHARELEDGER_NETWORKS")
        parser.add_argument("--replace", action="store_true",
                            help="deploy a new one even if the recorded aggregator is still on chain")
        parser.add_argument("--actor", default="system:manage.deploy_aggregator")

    def handle(self, *args, network, replace, actor, **options):
        try:
            recorded = deploy_aggregator(network, actor=actor, replace=replace)
        except (DomainError, ChainError) as refusal:
            self.stderr.write(f"deploy_aggregator: {refusal.code}: {refusal}")
            sys.exit(1)
        self.stdout.write(f"aggregator on {recorded.network} (chain {recorded.chain_id}) at {recorded.address}")
