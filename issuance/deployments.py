"""Deploy a ShareToken for an instrument on a network and record it (stream token_deployment/<network>:<address>).

The deployer (token admin) key signs set-up transactions directly (chain.deploy); roles go to the minter and
burner signers, pause to the deployer, and the redemption wallet is REDEMPTION_WALLET.
"""
from __future__ import annotations

from django.conf import settings

from chain.deploy import TokenRoleHolders, deploy_share_token
from ledger import store
from ledger.store import NewEvent
from partners.addresses import checksum_address

from . import chain_client, signers
from .errors import DeploymentExists
from .models import TokenDeployment
from .services import get_instrument

DEFAULT_DECIMALS = 18


def deploy_token(symbol: str, network: str, *, actor: str, decimals: int = DEFAULT_DECIMALS,
                 token_symbol: str | None = None, name: str | None = None) -> TokenDeployment:
    instrument = get_instrument(symbol)
    net = chain_client.network(network)
    if TokenDeployment.objects.filter(instrument=instrument, network=net.name,
                                      status=TokenDeployment.Status.ACTIVE).exists():
        raise DeploymentExists(f"{instrument.symbol} already has an active token on {net.name}")
    w3 = chain_client.web3_for(net)
    deployer = signers.signer("deployer", net.name)
    roles = TokenRoleHolders(minter=signers.signer("minter", net.name).address,
                             burner=signers.signer("burner", net.name).address, pauser=deployer.address,
                             redemption_wallet=checksum_address(settings.REDEMPTION_WALLET))
    first_block = w3.eth.block_number + 1
    token_symbol = token_symbol or f"{instrument.symbol}x"
    address = deploy_share_token(w3, deployer, name=name or f"{instrument.name} token", symbol=token_symbol,
                                 decimals=decimals, roles=roles)
    deployment_id = f"{net.name}:{address}"
    store.append("token_deployment", deployment_id, [NewEvent("token_deployed", {
        "symbol": instrument.symbol, "network": net.name, "chain_id": net.chain_id, "contract_address": address,
        "token_symbol": token_symbol, "decimals": decimals, "deploy_block": first_block,
        "minter": roles.minter, "burner": roles.burner, "pauser": roles.pauser,
        "redemption_wallet": roles.redemption_wallet, "admin": deployer.address,
    })], metadata={"actor": actor}, expected_version=0)
    return TokenDeployment.objects.get(id=deployment_id)


def retire_deployment(deployment_id: str, *, actor: str, reason: str) -> TokenDeployment:
    deployment = TokenDeployment.objects.get(id=deployment_id)
    store.append("token_deployment", deployment_id, [NewEvent("token_deployment_retired", {"reason": reason})],
                 metadata={"actor": actor}, expected_version=deployment.stream_version)
    return TokenDeployment.objects.get(id=deployment_id)
