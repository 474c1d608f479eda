"""One anvil for the corporate actions tests (its clock moves forward past each test's record date), a USDx
stablecoin (a 6-decimal ShareToken), and per test: fresh minter, payer and redemption wallet keys, a Disperser
owned by that payer, an instrument with its token, and a statement custody account that received the cash."""
from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.anvil import DEV_ACCOUNT_KEYS, AnvilNode, free_port, start_anvil
from chain.deploy import TokenRoleHolders, deploy_aggregator, deploy_disperser, deploy_share_token
from chain.rpc import connect
from chain.tx import gas_params_from_head, id_to_bytes32, sign_mint
from corporate_actions import services
from corporate_actions.models import CorporateAction
from corporate_actions.snapshots import record_date_cutoff
from custody.models import CustodyAccount, Instrument
from issuance.models import TokenDeployment
from issuance.services import deploy_token
from ledger import store
from ledger.store import NewEvent, Posting

from .support import OPS, book_tokens_outstanding, chain_date, funded_account, mine_after, mint_directly

USDX_DECIMALS = 6


@pytest.fixture(scope="session")
def anvil(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AnvilNode]:
    with start_anvil(free_port(), tmp_path_factory.mktemp("corporate-actions-anvil")) as node:
        yield node


@pytest.fixture(scope="session")
def w3(anvil: AnvilNode) -> Web3:
    return connect(anvil.url)


@dataclass(frozen=True)
class Stablecoin:
    address: str
    minter: LocalAccount
    aggregator: str


@pytest.fixture(scope="session")
def stablecoin(w3: Web3) -> Stablecoin:
    admin = Account.from_key(DEV_ACCOUNT_KEYS[0])
    minter = funded_account(w3)
    address = deploy_share_token(w3, admin, name="Test dollar", symbol="USDx", decimals=USDX_DECIMALS,
                                 roles=TokenRoleHolders(minter=minter.address, burner=admin.address,
                                                        pauser=admin.address, redemption_wallet=admin.address))
    return Stablecoin(address, minter, deploy_aggregator(w3, admin))


@dataclass
class ChainEnv:
    w3: Web3
    rpc_url: str
    deployer: LocalAccount  # a fresh key: token addresses (and so deployment stream ids) never repeat across anvils
    minter: LocalAccount
    payer: LocalAccount
    redemption_wallet: LocalAccount
    disperser: str
    stablecoin: Stablecoin

    def network_settings(self) -> dict:
        return {"anvil": {"chain_id": 31337, "rpc_url": self.rpc_url, "confirmations": 1, "reorg_window": 64,
                          "itn_network": "ethereum"}}

    def stablecoins(self) -> dict:
        return {"anvil": {"address": self.stablecoin.address, "symbol": "USDx", "decimals": USDX_DECIMALS,
                          "currency": "USD"}}

    def env(self) -> dict[str, str]:
        """The same configuration for a worker process."""
        return {"SHARELEDGER_NETWORKS": json.dumps(self.network_settings()),
                "ISSUER_MINTER_KEY": self.minter.key.hex(), "ISSUER_DEPLOYER_KEY": self.deployer.key.hex(),
                "REDEMPTION_WALLET": self.redemption_wallet.address, "DIVIDEND_PAYER_KEY": self.payer.key.hex(),
                "DIVIDEND_STABLECOINS": json.dumps(self.stablecoins()),
                "DIVIDEND_DISPERSERS": json.dumps({"anvil": self.disperser}),
                "RECONCILIATION_AGGREGATORS": json.dumps({"anvil": self.stablecoin.aggregator})}

    def fund_payer(self, units: int) -> None:
        minter = self.stablecoin.minter
        signed = sign_mint(minter, chain_id=31337, nonce=self.w3.eth.get_transaction_count(minter.address, "pending"),
                           gas=gas_params_from_head(self.w3, 150_000), token=self.stablecoin.address,
                           to=self.payer.address, amount=units, request_id=id_to_bytes32(f"fund:{self.payer.address}:{units}"))
        self.w3.eth.send_raw_transaction(signed.raw_tx)
        assert self.w3.eth.wait_for_transaction_receipt(signed.tx_hash, timeout=10)["status"] == 1


@pytest.fixture
def chain_env(settings, anvil: AnvilNode, w3: Web3, stablecoin: Stablecoin) -> ChainEnv:
    payer = funded_account(w3)
    env = ChainEnv(w3, anvil.url, funded_account(w3), funded_account(w3), payer, funded_account(w3),
                   deploy_disperser(w3, Account.from_key(DEV_ACCOUNT_KEYS[0]), owner=payer.address), stablecoin)
    settings.CHAIN_NETWORKS = env.network_settings()
    settings.ISSUER_DEPLOYER_KEY = env.deployer.key.hex()
    settings.ISSUER_MINTER_KEY = env.minter.key.hex()
    settings.ISSUER_SIGNER_FACTORY = "issuance.signers.key_from_settings"
    settings.REDEMPTION_WALLET = env.redemption_wallet.address
    settings.DIVIDEND_PAYER_KEY = env.payer.key.hex()
    settings.DIVIDEND_PAYER_SIGNER_FACTORY = "corporate_actions.signers.payer_key_from_settings"
    settings.DIVIDEND_STABLECOINS = env.stablecoins()
    settings.DIVIDEND_DISPERSERS = {"anvil": env.disperser}
    settings.DIVIDEND_EXCLUDED_WALLETS = []
    settings.DIVIDEND_MINIMUM_PAYOUT = Decimal("0.01")
    settings.DIVIDEND_BELOW_MINIMUM = "carry"
    settings.DIVIDEND_FEE_RATE = Decimal("0")
    settings.DIVIDEND_WITHHOLDING_COUNTRY = "US"
    settings.DIVIDEND_RECEIPT_WAIT_SECONDS = Decimal("10")
    settings.RECONCILIATION_AGGREGATORS = {"anvil": stablecoin.aggregator}
    return env


def make_instrument(unique: str) -> Instrument:
    symbol = "D" + unique[:7].upper()
    return Instrument.objects.create(symbol=symbol, name=f"Dividend {symbol} Inc.", isin="XS" + unique[:10].upper())


@dataclass
class Issued:
    """An instrument whose token some holders hold, the custody account its shares sit in."""

    env: ChainEnv
    instrument: Instrument
    token: TokenDeployment
    custody: CustodyAccount

    @property
    def symbol(self) -> str:
        return self.instrument.symbol

    def issue(self, holdings: dict[str, Decimal | int | str]) -> None:
        """Mint whole-or-fractional token amounts to holders and book them as outstanding (custody = tokens)."""
        amounts = [(holder, int(Decimal(qty) * 10**self.token.decimals)) for holder, qty in holdings.items()]
        mint_directly(self.env.w3, self.env.minter, self.token.contract_address, amounts)
        book_tokens_outstanding(self.symbol, sum((Decimal(qty) for qty in holdings.values()), Decimal(0)),
                                self.custody.name)

    def issue_tokens_only(self, holdings: dict[str, Decimal | int | str]) -> None:
        """Tokens for shares the broker journaled in (custody booked them against the unmatched-journal
        suspense account; issuing the tokens clears it)."""
        amounts = [(holder, self.units(qty)) for holder, qty in holdings.items()]
        mint_directly(self.env.w3, self.env.minter, self.token.contract_address, amounts)
        shares = sum((Decimal(qty) for qty in holdings.values()), Decimal(0))
        store.append("journal", f"test-issue-{self.symbol}", [NewEvent("test_tokens_issued", {"shares": shares}, postings=[
            Posting(f"suspense:unmatched-journal:{self.custody.name}:{self.symbol}", self.symbol, shares),
            Posting(f"chain:anvil:{self.symbol}:supply", self.symbol, -shares)])], metadata={"actor": OPS})

    def units(self, qty: Decimal | int | str) -> int:
        return int(Decimal(qty) * 10**self.token.decimals)

    def announce_and_close_record_date(self, rate: str, *, pay_in_days: int = 3) -> CorporateAction:
        """A dividend whose record date is the chain's today; then the chain's clock passes its end."""
        record_date = chain_date(self.env.w3)
        action = services.announce_dividend(self.symbol, ex_date=record_date, record_date=record_date,
                                            pay_date=record_date + timedelta(days=pay_in_days), rate=rate, actor=OPS)
        mine_after(self.env.w3, record_date_cutoff(record_date))
        return action

    def receive_cash(self, action: CorporateAction, amount: Decimal | str) -> None:
        services.record_dividend_received(action.id, custody_account=self.custody.name, amount=amount, actor=OPS)


def make_issued(env: ChainEnv, unique: str) -> Issued:
    instrument = make_instrument(unique)
    token = deploy_token(instrument.symbol, "anvil", actor=OPS)
    custody = CustodyAccount.objects.create(name=f"stmt-{unique}", kind=CustodyAccount.Kind.STATEMENT)
    return Issued(env, instrument, token, custody)


@pytest.fixture
def issued(db, chain_env: ChainEnv, unique: str) -> Issued:
    return make_issued(chain_env, unique)
