"""Set-up for tests whose data must be committed (other processes read it)."""
from __future__ import annotations

from issuance.services import deploy_token

from .support import OPS, make_instrument, make_partner


def committed_token_and_partner(unique: str, keys) -> tuple:
    instrument = make_instrument(unique)
    token = deploy_token(instrument.symbol, "anvil", actor=OPS)
    return token, make_partner(unique, instrument.symbol, keys.partner_wallet.address)
