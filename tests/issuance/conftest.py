"""One anvil for the issuance tests; each test gets fresh signer keys, a fresh redemption wallet, its own
instrument, token and partner, so tests share no nonce, supply or balance, whether their database work is
rolled back (`db`) or committed (`committed_db`, for tests with several processes). The deployer is fresh too:
token addresses (and so token_deployment/<network>:<address> streams) then never repeat those another test
folder committed with anvil's first dev key on its own anvil."""
from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import pytest
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.anvil import AnvilNode, free_port, start_anvil
from chain.rpc import connect
from custody.activities import NEW_YORK, activity_event
from custody.activity_sync import SYNC_METADATA
from custody.models import Instrument
from issuance.models import TokenDeployment
from issuance.services import deploy_token
from ledger import store
from sandbox_broker import RunningSandbox, start_sandbox

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
    deployer: LocalAccount
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
                "ISSUER_DEPLOYER_KEY": self.deployer.key.hex(), "REDEMPTION_WALLET": self.redemption_wallet.address,
                "ISSUANCE_RECEIPT_WAIT_SECONDS": "5"}


@pytest.fixture
def keys(settings, anvil: AnvilNode, w3: Web3) -> ChainKeys:
    keys = ChainKeys(*(funded_account(w3) for _ in range(5)), anvil.url)
    settings.CHAIN_NETWORKS = network_settings(anvil.url)
    settings.ISSUER_DEPLOYER_KEY = keys.deployer.key.hex()
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


BookShareJournal = Callable[..., None]


@pytest.fixture
def book_share_journal() -> BookShareJournal:
    """`book_share_journal(symbol, qty, account="alpaca-main")`: what custody's Alpaca sync records when it sees
    a share journal (JNLS) of `qty` shares into `account` (qty < 0: out of it) that no journal matcher claims, for
    tests without a sandbox broker. The event is custody's own (custody.activities.activity_event of an
    Alpaca-shaped JNLS): `shares_journaled`, custody:<account>:<SYM> +qty against the clearing account
    suspense:unmatched-journal:<account>:<SYM> (in) or suspense:outgoing-journal:<account>:<SYM> (out), with
    the sync's actor. It goes on a `journal` stream rather than custody_account/<account>, whose projector
    would move that account's activity cursor to this made-up activity id (and keep it, in committed tests)."""

    def book(symbol: str, qty: Decimal | str, account: str = "alpaca-main") -> None:
        activity = {"id": f"test-jnls-{uuid.uuid4()}", "activity_type": "JNLS", "symbol": symbol, "qty": str(qty),
                    "net_amount": "0", "date": datetime.now(NEW_YORK).date().isoformat(), "status": "executed",
                    "description": "share journal from the partner's account"}
        event = activity_event(account, activity)
        assert event.payload["matched"] is False  # the premise: the sync parks it in the clearing account
        store.append("journal", activity["id"], [event], metadata=SYNC_METADATA)

    return book


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    """An Alpaca-compatible broker of our own for the test module (see sandbox_broker)."""
    running = start_sandbox(tmp_path_factory.mktemp("broker") / "broker.json")
    yield running
    running.stop()
