"""Reconciliation end to end: one anvil (network "reconnet", with an Aggregator) and one sandbox broker per
session; each test gets its own instrument, custody account, token, partner and fresh signer keys, so tests
share no nonce, supply, position or balance whether their database work is rolled back (`db`) or committed.

`backed_token` is the clean starting point: N shares journaled to our custody account at the broker (a silent
position at the sandbox, booked by `secure_shares`), then minted through issuance as N tokens on chain.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.anvil import DEV_ACCOUNT_KEYS, AnvilNode, free_port, start_anvil
from chain.deploy import deploy_aggregator
from chain.rpc import connect
from chain.tx import broadcast, gas_params_from_head, id_to_bytes32, sign_mint
from custody.identifiers import InvalidIdentifier, validate_isin
from custody.models import CustodyAccount
from custody import services as custody
from custody.services import create_instrument
from issuance import services as issuance
from issuance.models import TokenDeployment
from partners.services import onboard_partner
from sandbox_broker import RunningSandbox, SandboxControl, start_sandbox
from sandbox_broker.state import SandboxSettings

NETWORK = "reconnet"
OPS = "user:recon-ops"
TOKEN = 10**18
SANDBOX = SandboxSettings(state_path=".")


@pytest.fixture(scope="session")
def recon_anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    with start_anvil(free_port(), tmp_path_factory.mktemp("recon-anvil")) as node:
        yield node


@pytest.fixture(scope="session")
def w3(recon_anvil: AnvilNode) -> Web3:
    return connect(recon_anvil.url)


@pytest.fixture(scope="session")
def aggregator(w3: Web3) -> str:
    return deploy_aggregator(w3, Account.from_key(DEV_ACCOUNT_KEYS[0]))


@pytest.fixture(scope="session")
def recon_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("recon-broker") / "broker.json")
    yield running
    running.stop()


@pytest.fixture
def broker(recon_sandbox: RunningSandbox) -> Iterator[SandboxControl]:
    control = SandboxControl(recon_sandbox.base_url)
    control.reset()
    yield control
    control.clear_faults()


def network_settings(rpc_url: str, confirmations: int = 1) -> dict:
    return {NETWORK: {"chain_id": 31337, "rpc_url": rpc_url, "confirmations": confirmations, "reorg_window": 64,
                      "itn_network": NETWORK}}


def funded_account(w3: Web3) -> LocalAccount:
    account = Account.create()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**21)])
    return account


@dataclass
class Keys:
    minter: LocalAccount
    burner: LocalAccount
    redemption_wallet: LocalAccount
    partner_wallet: LocalAccount
    aggregator: str
    rpc_url: str


@pytest.fixture
def keys(settings, recon_anvil: AnvilNode, w3: Web3, aggregator: str) -> Keys:
    """Chain settings for one test: fresh signers (nonces never collide with a rolled-back test's)."""
    keys = Keys(funded_account(w3), funded_account(w3), funded_account(w3), funded_account(w3), aggregator,
                recon_anvil.url)
    settings.CHAIN_NETWORKS = network_settings(recon_anvil.url)
    settings.ISSUER_DEPLOYER_KEY = DEV_ACCOUNT_KEYS[0]
    settings.ISSUER_MINTER_KEY = keys.minter.key.hex()
    settings.ISSUER_BURNER_KEY = keys.burner.key.hex()
    settings.ISSUER_SIGNER_FACTORY = "issuance.signers.key_from_settings"
    settings.REDEMPTION_WALLET = keys.redemption_wallet.address
    settings.MINT_APPROVAL_THRESHOLD = Decimal("1000000")
    settings.ISSUANCE_RECEIPT_WAIT_SECONDS = Decimal("5")
    settings.RECONCILIATION_AGGREGATORS = {NETWORK: aggregator}
    return keys


@pytest.fixture
def fast_broker_retries(settings) -> None:
    settings.CUSTODY_BROKER_TIMEOUT_SECONDS = 1
    settings.CUSTODY_BROKER_MAX_ATTEMPTS = 2
    settings.CUSTODY_BROKER_BACKOFF_SECONDS = 0.01
    settings.CUSTODY_BROKER_MAX_BACKOFF_SECONDS = 0.02


def valid_isin(body: str) -> str:
    """An ISIN with `body` (11 characters) and its check digit."""
    for digit in "0123456789":
        try:
            return validate_isin(body + digit)
        except InvalidIdentifier:
            continue
    raise AssertionError(f"no check digit for {body}")


def custody_account(name: str, base_url: str, monkeypatch) -> CustodyAccount:
    key_env, secret_env = f"RECON_{name.upper().replace('-', '_')}_KEY", f"RECON_{name.upper().replace('-', '_')}_SECRET"
    monkeypatch.setenv(key_env, SANDBOX.custody_key_id)
    monkeypatch.setenv(secret_env, SANDBOX.custody_secret_key)
    return CustodyAccount.objects.create(name=name, kind=CustodyAccount.Kind.ALPACA, api_key_env=key_env,
                                         api_secret_env=secret_env, base_url=base_url)


@dataclass
class BackedToken:
    symbol: str
    account: CustodyAccount
    deployment: TokenDeployment
    partner: str
    keys: Keys
    broker: SandboxControl
    w3: Web3

    def secure_shares_for_a_mint(self, qty: str) -> str:
        """The partner journals `qty` shares to us (JNLS at the broker, booked by custody's sync) and ops claim
        them for a new mint request; returns the request id."""
        self.broker.add_share_journal(self.symbol, qty)
        custody.sync_account(self.account)
        request = issuance.request_mint(self.partner, self.symbol, qty, NETWORK, self.keys.partner_wallet.address, OPS)
        issuance.secure_shares(request.id, OPS, via="journal", reference="test journal")
        return request.id

    def mint_through_issuance(self, qty: str) -> None:
        """A partner's mint done properly: shares journaled to us and booked, then minted and confirmed."""
        assert issuance.process_mint(self.secure_shares_for_a_mint(qty)).status == "completed"

    def mint_bypassing_the_system(self, tokens: int, to: str | None = None) -> str:
        """What a leaked minter key or a bug would do: mint on the contract with no request and no shares."""
        minter = self.keys.minter
        signed = sign_mint(minter, chain_id=self.w3.eth.chain_id,
                           nonce=self.w3.eth.get_transaction_count(minter.address, "pending"),
                           gas=gas_params_from_head(self.w3, 200_000), token=self.deployment.contract_address,
                           to=to or self.keys.partner_wallet.address, amount=tokens * TOKEN,
                           request_id=id_to_bytes32(f"rogue-{self.symbol}-{tokens}"))
        broadcast(self.w3, signed.raw_tx)
        assert self.w3.eth.wait_for_transaction_receipt(signed.tx_hash, timeout=10)["status"] == 1
        return signed.tx_hash


def make_backed_token(unique: str, keys: Keys, broker: SandboxControl, base_url: str, w3: Web3, monkeypatch,
                      shares: str = "100") -> BackedToken:
    symbol = "R" + unique[:7].upper()
    instrument = create_instrument(symbol, f"Recon {symbol} Inc.", valid_isin("XS" + unique[:9].upper()), actor=OPS)
    account = custody_account(f"recon-{unique}", base_url, monkeypatch)
    broker.set_fill_price(symbol, "100")  # the broker learns the symbol
    deployment = issuance.deploy_token(instrument.symbol, NETWORK, actor=OPS)
    partner = f"ap-{unique}"
    onboard_partner(partner, f"Partner {unique}", actor=OPS, network=NETWORK, wallet_address=keys.partner_wallet.address,
                    allowed_symbols=[symbol], custody_account=account.name)
    backed = BackedToken(symbol, account, deployment, partner, keys, broker, w3)
    backed.mint_through_issuance(shares)
    return backed


@pytest.fixture
def backed_token(db, unique: str, keys: Keys, broker: SandboxControl, recon_sandbox: RunningSandbox, w3: Web3,
                 monkeypatch, fast_broker_retries) -> BackedToken:
    """100 shares at the broker, 100 tokens on chain, the ledger agreeing with both."""
    return make_backed_token(unique, keys, broker, recon_sandbox.base_url, w3, monkeypatch)

