"""Builders for console tests of the mint and redeem queues: a real token on the console's anvil, a partner with an
allowlisted wallet, and requests made through issuance.services.

Every call to `chain_for_test` funds fresh deployer, minter, burner, redemption and partner keys: token addresses
(so token_deployment/<network>:<address> streams) and nonces never repeat, whether the test's database work is
rolled back or committed. Partners use a custody account with no broker behind it, so nothing calls a broker.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.rpc import connect
from custody.models import Instrument
from issuance import services
from issuance.models import MintRequest, TokenDeployment
from partners.services import onboard_partner
from tests.issuance.support import book_custody_shares, funded_account, network_settings

SETUP_ACTOR = "user:test-setup"


@dataclass(frozen=True)
class ConsoleChain:
    w3: Web3
    deployer: LocalAccount
    minter: LocalAccount
    burner: LocalAccount
    redemption_wallet: LocalAccount
    partner_wallet: LocalAccount


def chain_for_test(settings, rpc_url: str) -> ConsoleChain:
    """Point issuance at the console's anvil with fresh keys (through pytest-django's `settings`)."""
    w3 = connect(rpc_url)
    chain = ConsoleChain(w3, *(funded_account(w3) for _ in range(5)))
    settings.CHAIN_NETWORKS = network_settings(rpc_url)
    settings.ISSUER_DEPLOYER_KEY = chain.deployer.key.hex()
    settings.ISSUER_MINTER_KEY = chain.minter.key.hex()
    settings.ISSUER_BURNER_KEY = chain.burner.key.hex()
    settings.ISSUER_SIGNER_FACTORY = "issuance.signers.key_from_settings"
    settings.REDEMPTION_WALLET = chain.redemption_wallet.address
    settings.MINT_APPROVAL_THRESHOLD = Decimal("1000")
    settings.ISSUANCE_RECEIPT_WAIT_SECONDS = Decimal("5")
    return chain


@dataclass(frozen=True)
class Market:
    """An instrument with its token on anvil and one onboarded partner allowed to mint it."""

    chain: ConsoleChain
    symbol: str
    deployment: TokenDeployment
    partner_id: str
    custody_account: str

    def request_mint(self, qty: str, actor: str | None = None) -> MintRequest:
        """A mint asked for by the partner (or by `actor`, e.g. an ops user)."""
        return services.request_mint(self.partner_id, self.symbol, qty, "anvil", self.chain.partner_wallet.address,
                                     actor or f"partner:{self.partner_id}")

    def shares_arrive(self, qty: str) -> None:
        """The partner's shares are in custody (an opening-style booking: no broker in these tests)."""
        book_custody_shares(self.symbol, qty, account=self.custody_account, reason="partner journal, console test")


def open_market(chain: ConsoleChain, instrument: Instrument, unique: str) -> Market:
    deployment = services.deploy_token(instrument.symbol, "anvil", actor=SETUP_ACTOR)
    partner_id, custody_account = f"ap-{unique}", f"console-{unique}"
    onboard_partner(partner_id, f"Partner {unique}", actor=SETUP_ACTOR, network="anvil",
                    wallet_address=chain.partner_wallet.address, allowed_symbols=[instrument.symbol],
                    per_request_cap="5000", custody_account=custody_account)
    return Market(chain, instrument.symbol, deployment, partner_id, custody_account)
