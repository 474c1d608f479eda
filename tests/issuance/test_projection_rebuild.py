"""The issuance and partner read models are projections: a rebuild from the log gives exactly the live rows."""
from __future__ import annotations

import pytest

from issuance import services
from issuance.projections import IssuanceProjector
from ledger import store
from partners.projections import PartnerProjector
from issuance.models import ChainAlert, ChainCursor, MintRequest, RedeemRequest, SignerNonce, TokenDeployment
from partners.models import Partner, Wallet

from .support import OPS, transfer_tokens

pytestmark = pytest.mark.django_db
MODELS = (Partner, Wallet, TokenDeployment, MintRequest, RedeemRequest, SignerNonce, ChainCursor, ChainAlert)


def snapshot() -> dict:
    skip = {"id"}
    return {model.__name__: sorted(
        tuple((f.attname, getattr(row, f.attname)) for f in model._meta.concrete_fields
              if not (model in (Wallet, ChainAlert) and f.attname in skip))
        for row in model.objects.all()) for model in MODELS}


def test_rebuilding_projections_from_the_log_reproduces_every_issuance_row(partner, token, keys, w3,
                                                                          book_share_journal):
    request = services.request_mint(partner, token.instrument.symbol, "9", "anvil", keys.partner_wallet.address, "p:x")
    book_share_journal(token.instrument.symbol, "9")
    services.secure_shares(request.id, OPS)
    services.process_mint(request.id)
    transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 10**18)
    services.watch_chains()
    services.process_redeem(RedeemRequest.objects.get(deployment=token).id)
    live = snapshot()
    assert live["MintRequest"] and live["RedeemRequest"] and live["ChainCursor"]
    # What rebuild_projections does for these two projectors: reset, then replay the whole log in order.
    projectors = (PartnerProjector(), IssuanceProjector())
    for projector in projectors:
        projector.reset()
    assert MintRequest.objects.count() == 0
    for batch in store.iter_all():
        for projector in projectors:
            projector.apply(batch)
    assert snapshot() == live
