"""Who signs issuance transactions: deployer (token admin), minter and burner.

`signer(role, network)` calls the factory named by settings.ISSUER_SIGNER_FACTORY. The default,
`key_from_settings`, builds a local eth_account signer from ISSUER_<ROLE>_KEY (anvil's public dev keys in dev;
real keys from the environment or a secrets manager in production).

Plugging in a production key held in an HSM or a cloud KMS: write a factory `(role, network) -> signer` where
the signer offers what chain.tx uses of eth_account's LocalAccount: `.address` (checksummed) and
`.sign_transaction(fields: dict)` returning an object with `.raw_transaction` and `.hash` (e.g. sign the
EIP-1559 digest with KMS `Sign` over secp256k1 and assemble the transaction with eth_account's typed
transaction helpers). Point ISSUER_SIGNER_FACTORY at its dotted path. Nothing else changes: transactions are
still signed before broadcast, persisted, and rebroadcast verbatim.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from eth_account import Account

from .errors import SignerNotConfigured

ROLES = ("deployer", "minter", "burner")


def key_from_settings(role: str, network: str) -> Any:
    key = getattr(settings, f"ISSUER_{role.upper()}_KEY", "")
    if not key:
        raise SignerNotConfigured(f"ISSUER_{role.upper()}_KEY is not set (network {network})")
    return _account(key)


@cache
def _account(key: str) -> Any:
    return Account.from_key(key)


def signer(role: str, network: str) -> Any:
    if role not in ROLES:
        raise SignerNotConfigured(f"unknown signer role {role!r}")
    return import_string(settings.ISSUER_SIGNER_FACTORY)(role, network)
