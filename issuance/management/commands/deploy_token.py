from issuance.services import deploy_token

from ._base import IssuanceCommand


class Command(IssuanceCommand):
    help = "Deploy the ShareToken of an instrument on a network and record the deployment."

    def add_arguments(self, parser):
        parser.add_argument("--symbol", required=True)
        parser.add_argument("--network", required=True)
        parser.add_argument("--decimals", type=int, default=18)
        parser.add_argument("--token-symbol", default=None, help="default: <SYMBOL>x")
        parser.add_argument("--actor", default="system:deploy_token", help='who does this, e.g. "user:alice"')

    def handle(self, *args, symbol, network, decimals, token_symbol, actor, **options):
        deployment = deploy_token(symbol, network, actor=actor, decimals=decimals, token_symbol=token_symbol)
        self.stdout.write(f"{deployment.token_symbol} deployed on {deployment.network} at {deployment.contract_address} "
                          f"(deployment {deployment.id})")
