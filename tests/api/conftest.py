"""API tests talk to the real app through Django's test client, as partners with real keys. One anvil per
session for what needs tokens on chain (deployments, redemptions); most tests never touch it."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.anvil import DEV_ACCOUNT_KEYS, AnvilNode, free_port, start_anvil
from chain.rpc import connect
from custody.models import Instrument
from issuance.models import TokenDeployment
from issuance.services import deploy_token
from partners.services import onboard_partner
from tests.issuance.support import funded_account, network_settings

from .support import OPS, PartnerClient, client_for, make_instrument


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    with start_anvil(free_port(), tmp_path_factory.mktemp("api-anvil")) as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil: AnvilNode) -> Web3:
    return connect(anvil.url)


@dataclass
class Chain:
    w3: Web3
    minter: LocalAccount
    burner: LocalAccount
    redemption_wallet: LocalAccount


@pytest.fixture
def chain(settings, anvil: AnvilNode, w3: Web3) -> Chain:
    """Issuance configured against the session's anvil with fresh signer keys for this test."""
    keys = Chain(w3, funded_account(w3), funded_account(w3), funded_account(w3))
    settings.CHAIN_NETWORKS = network_settings(anvil.url)
    settings.ISSUER_DEPLOYER_KEY = DEV_ACCOUNT_KEYS[0]
    settings.ISSUER_MINTER_KEY = keys.minter.key.hex()
    settings.ISSUER_BURNER_KEY = keys.burner.key.hex()
    settings.ISSUER_SIGNER_FACTORY = "issuance.signers.key_from_settings"
    settings.REDEMPTION_WALLET = keys.redemption_wallet.address
    settings.ISSUANCE_RECEIPT_WAIT_SECONDS = 5
    return keys


@pytest.fixture
def instrument(db, unique: str) -> Instrument:
    return make_instrument(unique)


@pytest.fixture
def token(chain: Chain, instrument: Instrument) -> TokenDeployment:
    return deploy_token(instrument.symbol, "anvil", actor=OPS, decimals=6)


@dataclass
class Partner:
    id: str
    wallet: LocalAccount
    api: PartnerClient


def onboard(unique: str, name: str, symbol: str, w3: Web3 | None = None, **options) -> Partner:
    from eth_account import Account

    wallet = funded_account(w3) if w3 is not None else Account.create()
    partner_id = f"{name}-{unique}"
    onboard_partner(partner_id, f"{name} {unique}", actor=OPS, network="anvil", wallet_address=wallet.address,
                    allowed_symbols=[symbol], **options)
    return Partner(partner_id, wallet, client_for(partner_id))


@pytest.fixture
def alice(db, unique: str, instrument: Instrument) -> Partner:
    return onboard(unique, "alice", instrument.symbol)


@pytest.fixture
def bob(db, unique: str, instrument: Instrument) -> Partner:
    return onboard(unique, "bob", instrument.symbol)
