"""Mints and burns sent to a chain that the ledger has not booked yet (issuance's request read models).

A mint that is signed or broadcast may already be in the pinned block while `chain:<net>:<SYM>:supply` does
not show it until issuance confirms it; the same holds for burns. These amounts explain a chain supply above
(mints) or below (burns) the ledger's, and nothing else does.
"""
from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

from django.db.models import Sum

from issuance.models import MintRequest, RedeemRequest

SENT_NOT_BOOKED_MINTS = MintRequest.RESERVED  # signed, broadcast
SENT_NOT_BOOKED_BURNS = (RedeemRequest.Status.SIGNED, RedeemRequest.Status.BROADCAST)


def chain_in_flight(symbols: set[str] | None) -> tuple[dict[tuple[str, str], Decimal], dict[tuple[str, str], Decimal]]:
    """(mints, burns), each {(symbol, network): shares} of requests sent to the chain and not yet booked."""
    mints = MintRequest.objects.filter(status__in=SENT_NOT_BOOKED_MINTS)
    burns = RedeemRequest.objects.filter(status__in=SENT_NOT_BOOKED_BURNS)
    if symbols is not None:
        mints, burns = mints.filter(instrument__symbol__in=symbols), burns.filter(instrument__symbol__in=symbols)
    return _by_symbol_and_network(mints), _by_symbol_and_network(burns)


def _by_symbol_and_network(requests) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in requests.values("instrument__symbol", "network").annotate(shares=Sum("qty_shares")):
        totals[(row["instrument__symbol"], row["network"])] += row["shares"]
    return dict(totals)
