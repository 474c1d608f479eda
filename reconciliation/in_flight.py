"""Mints and burns sent to a chain that the ledger has not booked yet (issuance's request read models).

A mint that is signed or broadcast may already be in the pinned block while `chain:<net>:<SYM>:supply` does
not show it until issuance confirms it; the same holds for burns. These amounts explain a chain supply above
(mints) or below (burns) the ledger's, and nothing else does.

A run as of a past time asks the requests' event streams instead of the read models: a request was in flight
then when its last sending or settling event effective by then sent it (the ledger's side of such a run sums
the postings effective by then, and issuance's events take effect when they are recorded).
"""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from django.db.models import Sum

from issuance.models import MintRequest, RedeemRequest
from ledger.models import Event

SENT_NOT_BOOKED_MINTS = MintRequest.RESERVED  # signed, broadcast
SENT_NOT_BOOKED_BURNS = (RedeemRequest.Status.SIGNED, RedeemRequest.Status.BROADCAST)
# Per stream type: the events that send a request to the chain, and those that settle it (booked or given up).
MINT_SENDING = ("mint_signed", "mint_broadcast", "mint_reorged")
MINT_SETTLING = ("mint_confirmed", "mint_failed", "mint_cancelled")
BURN_SENDING = ("burn_signed", "burn_broadcast", "burn_reorged")
BURN_SETTLING = ("burn_confirmed", "redeem_failed")


def chain_in_flight(symbols: set[str] | None, as_of: datetime | None = None,
                    ) -> tuple[dict[tuple[str, str], Decimal], dict[tuple[str, str], Decimal]]:
    """(mints, burns), each {(symbol, network): shares} of requests sent to the chain and not yet booked, now or
    at `as_of`."""
    if as_of is None:
        mints = MintRequest.objects.filter(status__in=SENT_NOT_BOOKED_MINTS)
        burns = RedeemRequest.objects.filter(status__in=SENT_NOT_BOOKED_BURNS)
    else:
        mints = MintRequest.objects.filter(id__in=_sent_at("mint_request", MINT_SENDING, MINT_SETTLING, as_of))
        burns = RedeemRequest.objects.filter(id__in=_sent_at("redeem_request", BURN_SENDING, BURN_SETTLING, as_of))
    if symbols is not None:
        mints, burns = mints.filter(instrument__symbol__in=symbols), burns.filter(instrument__symbol__in=symbols)
    return _by_symbol_and_network(mints), _by_symbol_and_network(burns)


def _sent_at(stream_type: str, sending: tuple[str, ...], settling: tuple[str, ...], as_of: datetime) -> list[str]:
    """Ids of the requests whose last sending or settling event effective by `as_of` sent them."""
    last_events = (Event.objects.filter(stream_type=stream_type, event_type__in=sending + settling,
                                        effective_at__lte=as_of)
                   .order_by("stream_id", "-position").distinct("stream_id").values_list("stream_id", "event_type"))
    return [stream_id for stream_id, event_type in last_events if event_type in sending]


def _by_symbol_and_network(requests) -> dict[tuple[str, str], Decimal]:
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for row in requests.values("instrument__symbol", "network").annotate(shares=Sum("qty_shares")):
        totals[(row["instrument__symbol"], row["network"])] += row["shares"]
    return dict(totals)
