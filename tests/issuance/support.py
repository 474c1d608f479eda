"""Builders shared by issuance tests and the mint benchmark: an instrument, a token, an onboarded partner, and
raw moves on chain (what a partner's wallet, an attacker or a bug would do)."""
from __future__ import annotations

from decimal import Decimal

from eth_account import Account
from eth_account.signers.local import LocalAccount
from web3 import Web3

from chain.artifacts import load_artifact
from chain.tx import gas_params_from_head, sign_transaction
from custody.models import Instrument
from issuance import services
from ledger import store
from ledger.store import NewEvent, Posting
from partners.services import onboard_partner
from sandbox_broker import SandboxControl

OPS = "user:test-ops"


def funded_account(w3: Web3) -> LocalAccount:
    account = Account.create()
    w3.provider.make_request("anvil_setBalance", [account.address, hex(10**21)])
    return account


def network_settings(rpc_url: str, confirmations: int = 1) -> dict:
    return {"anvil": {"chain_id": 31337, "rpc_url": rpc_url, "confirmations": confirmations, "reorg_window": 64,
                      "itn_network": "ethereum"}}


def make_instrument(unique: str) -> Instrument:
    symbol = "T" + unique[:7].upper()
    return Instrument.objects.create(symbol=symbol, name=f"Test {symbol} Inc.", isin="XS" + unique[:10].upper())


def make_partner(unique: str, symbol: str, wallet: str, **options) -> str:
    partner_id = f"ap-{unique}"
    onboard_partner(partner_id, f"Partner {unique}", actor=OPS, network="anvil", wallet_address=wallet,
                    allowed_symbols=[symbol], **options)
    return partner_id


def book_custody_shares(symbol: str, qty: Decimal | str, account: str = "alpaca-main", reason: str = "opening") -> None:
    """Shares appear in (qty > 0) or leave (qty < 0) custody without a mint: an opening balance or a correction."""
    qty = Decimal(qty)
    store.append("journal", f"test-custody-{symbol}", [NewEvent("custody_adjusted", {"reason": reason}, postings=[
        Posting(f"custody:{account}:{symbol}", symbol, qty), Posting(f"equity:opening:{symbol}", symbol, -qty)])],
        metadata={"actor": OPS})


def token_contract(w3: Web3, address: str):
    return w3.eth.contract(address=address, abi=load_artifact("ShareToken").abi)


def send_call(w3: Web3, sender: LocalAccount, to: str, data: bytes) -> str:
    """Sign and send a call from a local key; wait for it; return its hash."""
    signed = sign_transaction(sender, to=to, data=data, chain_id=w3.eth.chain_id,
                              nonce=w3.eth.get_transaction_count(sender.address, "pending"),
                              gas=gas_params_from_head(w3, 200_000))
    w3.eth.send_raw_transaction(signed.raw_tx)
    receipt = w3.eth.wait_for_transaction_receipt(signed.tx_hash, timeout=10)
    assert receipt["status"] == 1, f"call from {sender.address} reverted"
    return signed.tx_hash


def transfer_tokens(w3: Web3, sender: LocalAccount, token: str, to: str, amount: int) -> str:
    data = token_contract(w3, token).encode_abi("transfer", args=[to, amount])
    return send_call(w3, sender, token, bytes.fromhex(data.removeprefix("0x")))


BROKER_KEY_ENV = "ISSUANCE_SANDBOX_KEY_ID"
BROKER_SECRET_ENV = "ISSUANCE_SANDBOX_SECRET"


class MonkeypatchedEnviron:
    """os.environ as a mapping whose writes monkeypatch undoes after the test."""

    def __init__(self, monkeypatch):
        self.monkeypatch = monkeypatch

    def __setitem__(self, name: str, value: str) -> None:
        self.monkeypatch.setenv(name, value)


def sandbox_broker_for(base_url: str, symbol: str, monkeypatch) -> SandboxControl:
    """The sandbox broker, reset, filling `symbol` at 100, with our custody account 'alpaca-main' connected to it."""
    control = SandboxControl(base_url)
    control.reset()
    control.set_fill_price(symbol, "100")
    connect_custody_to_sandbox(base_url, MonkeypatchedEnviron(monkeypatch))
    return control


def connect_custody_to_sandbox(base_url: str, environ) -> None:
    """Our custody account 'alpaca-main' at the sandbox broker, credentials in the environment (as in production)."""
    from custody.models import CustodyAccount
    from sandbox_broker.state import SandboxSettings

    defaults = SandboxSettings(state_path=".")
    environ[BROKER_KEY_ENV] = defaults.custody_key_id
    environ[BROKER_SECRET_ENV] = defaults.custody_secret_key
    CustodyAccount.objects.update_or_create(name="alpaca-main", defaults={
        "kind": "alpaca", "base_url": base_url, "api_key_env": BROKER_KEY_ENV, "api_secret_env": BROKER_SECRET_ENV})


def ap_requests_mint(base_url: str, symbol: str, qty: str, wallet: str) -> dict:
    """The authorized participant asks the broker for tokens (Alpaca ITN): the broker journals its shares to us."""
    import requests

    from sandbox_broker.state import SandboxSettings

    defaults = SandboxSettings(state_path=".")
    answer = requests.post(f"{base_url}/v2/tokenization/mint", timeout=5, json={
        "underlying_symbol": symbol, "qty": qty, "issuer": "shareledger", "network": "ethereum",
        "wallet_address": wallet}, headers={"APCA-API-KEY-ID": defaults.ap_key_id,
                                            "APCA-API-SECRET-KEY": defaults.ap_secret_key})
    assert answer.status_code == 200, answer.text
    return answer.json()


def minted(partner, token, keys, book_share_journal, qty="10"):
    """A completed mint of `qty` shares' tokens to the partner's wallet, its shares journaled in first."""
    request = services.request_mint(partner, token.instrument.symbol, qty, "anvil", keys.partner_wallet.address,
                                    "partner:x")
    book_share_journal(token.instrument.symbol, qty)
    services.secure_shares(request.id, OPS)
    return services.process_mint(request.id)
