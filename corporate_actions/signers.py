"""Who signs airdrop transactions: the dividend payer, owner of the Disperser and holder of the stablecoin.

`payer(network)` calls the factory named by settings.DIVIDEND_PAYER_SIGNER_FACTORY. The default builds a local
eth_account signer from DIVIDEND_PAYER_KEY; a KMS/HSM factory offers the same `.address` and
`.sign_transaction(fields)` (see issuance/signers.py for what that takes). Reinvest and split mints are
signed by issuance's minter (issuance.signers), whose nonces issuance allocates.
"""
from __future__ import annotations

from functools import cache
from typing import Any

from django.conf import settings
from django.utils.module_loading import import_string
from eth_account import Account

from .errors import PayoutNotConfigured


def payer_key_from_settings(network: str) -> Any:
    if not settings.DIVIDEND_PAYER_KEY:
        raise PayoutNotConfigured(f"DIVIDEND_PAYER_KEY is not set (network {network})")
    return _account(settings.DIVIDEND_PAYER_KEY)


@cache
def _account(key: str) -> Any:
    return Account.from_key(key)


def payer(network: str) -> Any:
    return import_string(settings.DIVIDEND_PAYER_SIGNER_FACTORY)(network)
