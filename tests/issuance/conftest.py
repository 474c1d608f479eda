"""One anvil for the issuance tests; each test gets fresh signer keys, a fresh redemption wallet, its own
instrument, token and partner, so tests share no nonce, supply or balance, whether their database work is
rolled back (`db`) or committed (`committed_db`, for tests with several processes)."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.anvil import DEV_ACCOUNT_KEYS, AnvilNode, free_port, start_anvil
from chain.rpc import connect
from custody.models import Instrument
from issuance.models import TokenDeployment
from issuance.services import deploy_token

from .support import OPS, funded_account, make_instrument, make_partner, network_settings


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    with start_anvil(free_port(), tmp_path_factory.mktemp("issuance-anvil")) as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil: AnvilNode) -> Web3:
    return connect(anvil.url)


@dataclass
class ChainKeys:
    minter: LocalAccount
    burner: LocalAccount
    redemption_wallet: LocalAccount
    partner_wallet: LocalAccount
    rpc_url: str

    def env(self) -> dict[str, str]:
        """The same configuration for a worker process."""
        import json

        return {"SHARELEDGER_NETWORKS": json.dumps(network_settings(self.rpc_url)),
                "ISSUER_MINTER_KEY": self.minter.key.hex(), "ISSUER_BURNER_KEY": self.burner.key.hex(),
                "ISSUER_DEPLOYER_KEY": DEV_ACCOUNT_KEYS[0], "REDEMPTION_WALLET": self.redemption_wallet.address,
                "ISSUANCE_RECEIPT_WAIT_SECONDS": "5"}


@pytest.fixture
def keys(settings, anvil: AnvilNode, w3: Web3) -> ChainKeys:
    keys = ChainKeys(funded_account(w3), funded_account(w3), funded_account(w3), funded_account(w3), anvil.url)
    settings.CHAIN_NETWORKS = network_settings(anvil.url)
    settings.ISSUER_DEPLOYER_KEY = DEV_ACCOUNT_KEYS[0]
    settings.ISSUER_MINTER_KEY = keys.minter.key.hex()
    settings.ISSUER_BURNER_KEY = keys.burner.key.hex()
    settings.ISSUER_SIGNER_FACTORY = "issuance.signers.key_from_settings"
    settings.REDEMPTION_WALLET = keys.redemption_wallet.address
    settings.MINT_APPROVAL_THRESHOLD = Decimal("1000")
    settings.ISSUANCE_CUSTODY_ACCOUNT = "alpaca-main"
    settings.ISSUANCE_RECEIPT_WAIT_SECONDS = Decimal("5")
    return keys


@pytest.fixture
def instrument(db, unique: str) -> Instrument:
    return make_instrument(unique)


@pytest.fixture
def token(keys: ChainKeys, instrument: Instrument) -> TokenDeployment:
    return deploy_token(instrument.symbol, "anvil", actor=OPS)


@pytest.fixture
def partner(token: TokenDeployment, keys: ChainKeys, unique: str) -> str:
    return make_partner(unique, token.instrument.symbol, keys.partner_wallet.address)
