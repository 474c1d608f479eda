"""Demo data for `./shareledger run`: every console screen and API resource shows something real.

Everything goes through the same services the product uses (custody, partners, issuance, api,
reconciliation), against the local anvil chain and the sandbox broker: ITN mints journaled at the broker and
minted on chain, a redemption, a mint waiting for a second approver, custody synced, a dividend announced.
Each step checks what already exists, so loading twice changes nothing.
"""
from __future__ import annotations

import os
from collections.abc import Callable
from decimal import Decimal

import requests
from django.conf import settings
from django.contrib.auth.models import Group, User
from eth_account import Account

from chain.anvil import DEV_ACCOUNT_KEYS

OPS = "user:ops"
SANDBOX_URL = os.environ.get("SANDBOX_BROKER_URL", "http://127.0.0.1:8766")
SANDBOX_KEY_ENV, SANDBOX_SECRET_ENV = "ALPACA_API_KEY_ID", "ALPACA_API_SECRET_KEY"
INSTRUMENTS = [
    # symbol, name, ISIN, CUSIP, exchange, price
    ("AAPL", "Apple Inc.", "US0378331005", "037833100", "NASDAQ", "187.25"),
    ("TSLA", "Tesla, Inc.", "US88160R1014", "88160R101", "NASDAQ", "251.10"),
    ("MSFT", "Microsoft Corporation", "US5949181045", "594918104", "NASDAQ", "415.60"),
    ("NVDA", "NVIDIA Corporation", "US67066G1040", "67066G104", "NASDAQ", "131.40"),
]
PARTNERS = [
    # id, name, anvil dev account holding its wallet
    ("acme-markets", "Acme Markets LLC", 5),
    ("bluefin-exchange", "Bluefin Exchange", 6),
]
USERS = [("admin", None), ("ops", "operator"), ("approver", "approver"), ("auditor", "auditor")]


def load(say: Callable[[str], None]) -> None:
    users(say)
    custody_account(say)
    instruments(say)
    tokens(say)
    aggregator(say)
    partners(say)
    flows(say)


def users(say) -> None:
    for username, group in USERS:
        password = f"{username}-demo"
        user, created = User.objects.get_or_create(username=username, defaults={"is_staff": True})
        if created:
            user.set_password(password)
            user.is_superuser = group is None
            user.save()
            if group:
                user.groups.add(Group.objects.get(name=group))
        say(f"  console user {username:<9} password {password:<15} role {group or 'superuser'}")


def custody_account(say) -> None:
    from custody.models import CustodyAccount

    os.environ.setdefault(SANDBOX_KEY_ENV, "PKSANDBOXCUSTODY")
    os.environ.setdefault(SANDBOX_SECRET_ENV, "sandbox-custody-secret")
    CustodyAccount.objects.get_or_create(name=settings.ISSUANCE_CUSTODY_ACCOUNT, defaults={
        "kind": CustodyAccount.Kind.ALPACA, "base_url": SANDBOX_URL, "api_key_env": SANDBOX_KEY_ENV,
        "api_secret_env": SANDBOX_SECRET_ENV, "description": "Alpaca (the project's sandbox broker in the demo)"})


def instruments(say) -> None:
    from custody.models import Instrument
    from custody.services import create_instrument
    from sandbox_broker import SandboxControl

    broker = SandboxControl(SANDBOX_URL)
    for symbol, name, isin, cusip, exchange, price in INSTRUMENTS:
        if not Instrument.objects.filter(symbol=symbol).exists():
            create_instrument(symbol, name, isin, actor=OPS, cusip=cusip, exchange=exchange)
            broker.set_fill_price(symbol, price)
            broker.set_position(symbol, "5000", account="ap")  # the AP's own shares, to deliver for mints
    say(f"  instruments {', '.join(row[0] for row in INSTRUMENTS)}")


def tokens(say) -> None:
    from issuance.models import TokenDeployment
    from issuance.services import deploy_token

    for symbol, *_ in INSTRUMENTS:
        if not TokenDeployment.objects.filter(instrument__symbol=symbol, status=TokenDeployment.Status.ACTIVE).exists():
            deployment = deploy_token(symbol, "anvil", actor=OPS)
            say(f"  deployed {deployment.token_symbol} at {deployment.contract_address} on anvil")


def aggregator(say) -> None:
    from django.core.management import call_command

    call_command("deploy_aggregator", "--network", "anvil", stdout=_Quiet(), stderr=_Quiet())


def partners(say) -> None:
    from api.keys import create_api_key
    from partners.models import Partner
    from partners.services import onboard_partner

    symbols = [row[0] for row in INSTRUMENTS]
    for partner_id, name, dev_account in PARTNERS:
        if Partner.objects.filter(id=partner_id).exists():
            continue
        wallet = Account.from_key(DEV_ACCOUNT_KEYS[dev_account]).address
        onboard_partner(partner_id, name, actor=OPS, network="anvil", wallet_address=wallet, allowed_symbols=symbols,
                        per_request_cap="5000", daily_cap="20000", broker_client_id="ap" if dev_account == 5 else "")
        issued = create_api_key(partner_id, scopes=["read", "mint", "redeem"], actor=OPS)
        say(f"  partner {partner_id}: wallet {wallet}, API key {issued.token}")


def flows(say) -> None:
    """A few requests through the real paths, only on the first load."""
    from issuance import services
    from issuance.models import MintRequest

    if MintRequest.objects.exists():
        say("  demo requests already loaded")
        return
    for symbol, qty in (("AAPL", "120"), ("TSLA", "40"), ("MSFT", "25"), ("NVDA", "300")):
        _ap_requests_mint(symbol, qty, Account.from_key(DEV_ACCOUNT_KEYS[5]).address)
    recorded, refused = services.poll_itn_mints()
    for request in recorded:
        done = services.process_mint(request.id, wait_seconds=10)
        say(f"  ITN mint {done.id}: {done.qty} {done.instrument.symbol} -> {done.status}")
    for request_id, code in refused:
        say(f"  ITN request {request_id} refused: {code}")
    _redeem("AAPL", Decimal("20"))
    big = services.request_mint("acme-markets", "TSLA", "1500", "anvil",
                                Account.from_key(DEV_ACCOUNT_KEYS[5]).address, "partner:acme-markets")
    say(f"  mint {big.id} for 1500 TSLA waits for a second approver (threshold {settings.MINT_APPROVAL_THRESHOLD})")
    from custody.services import sync_account

    sync_account(settings.ISSUANCE_CUSTODY_ACCOUNT)
    _break_and_fix(say)
    _dividend(say)


def _break_and_fix(say) -> None:
    """One share of MSFT goes missing at the broker: reconciliation opens a break, ops acknowledge it, the
    share comes back, and the reconciliation the run command does next closes it with a record."""
    from reconciliation.services import acknowledge_break, run_reconciliation
    from sandbox_broker import SandboxControl

    broker = SandboxControl(SANDBOX_URL)
    broker.adjust_position("MSFT", "-1")
    result = run_reconciliation(["MSFT"], actor=OPS)
    for found in result.breaks:
        acknowledge_break(found.break_id, OPS, note="asked the broker about the missing MSFT share")
        say(f"  break {found.break_id} ({found.found.kind}, MSFT) opened and acknowledged; the next run closes it")
    broker.adjust_position("MSFT", "1")


def _dividend(say) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from corporate_actions.services import announce_dividend

    today = timezone.now().date()
    action = announce_dividend("AAPL", ex_date=today + timedelta(days=7), record_date=today + timedelta(days=7),
                               pay_date=today + timedelta(days=14), rate="0.25", actor=OPS)
    say(f"  AAPL cash dividend {action.id} announced: 0.25 USD per share, record date {today + timedelta(days=7)}")


def _ap_requests_mint(symbol: str, qty: str, wallet: str) -> None:
    """The authorized participant asks the broker for tokens (Alpaca ITN shape); the broker journals its shares."""
    answer = requests.post(f"{SANDBOX_URL}/v2/tokenization/mint", timeout=5, json={
        "underlying_symbol": symbol, "qty": qty, "issuer": settings.ISSUANCE_ITN_ISSUER, "network": "ethereum",
        "wallet_address": wallet}, headers={"APCA-API-KEY-ID": "PKSANDBOXAP", "APCA-API-SECRET-KEY": "sandbox-ap-secret"})
    answer.raise_for_status()


def _redeem(symbol: str, qty: Decimal) -> None:
    """The partner sends tokens to the redemption wallet; the chain watcher sees it and the redeem runs."""
    from chain.artifacts import load_artifact
    from chain.rpc import connect
    from chain.tx import gas_params_from_head, sign_transaction
    from issuance import services
    from issuance.models import RedeemRequest, TokenDeployment

    deployment = TokenDeployment.objects.get(instrument__symbol=symbol, status=TokenDeployment.Status.ACTIVE)
    w3 = connect(settings.CHAIN_NETWORKS["anvil"]["rpc_url"])
    holder = Account.from_key(DEV_ACCOUNT_KEYS[5])
    contract = w3.eth.contract(address=deployment.contract_address, abi=load_artifact("ShareToken").abi)
    data = contract.encode_abi("transfer", args=[settings.REDEMPTION_WALLET, int(qty * 10**deployment.decimals)])
    signed = sign_transaction(holder, to=deployment.contract_address, data=bytes.fromhex(data.removeprefix("0x")),
                              chain_id=w3.eth.chain_id, nonce=w3.eth.get_transaction_count(holder.address, "pending"),
                              gas=gas_params_from_head(w3, 200_000))
    w3.eth.send_raw_transaction(signed.raw_tx)
    w3.eth.wait_for_transaction_receipt(signed.tx_hash, timeout=10)
    w3.provider.make_request("evm_mine", [])  # the watcher waits for its confirmation depth
    services.watch_chains()
    for redeem in RedeemRequest.objects.exclude(status=RedeemRequest.Status.COMPLETED):
        services.process_redeem(redeem.id, wait_seconds=10)  # burned
        w3.provider.make_request("anvil_mine", [hex(64 + 1)])  # shares leave once the burn is past the reorg window
        services.process_redeem(redeem.id, wait_seconds=10)


class _Quiet:
    def write(self, *_args, **_kwargs) -> None:
        pass

    def flush(self) -> None:
        pass
