"""Lookups in other apps' read models (custody instruments, issuance token deployments), with this app's
named errors. Read only: those apps' services are the only writers."""
from __future__ import annotations

from custody.errors import UnknownInstrument as CustodyUnknownInstrument
from custody.models import Instrument
from custody.services import get_instrument
from issuance.models import TokenDeployment

from .errors import UnknownInstrument


def instrument_for(symbol: str) -> Instrument:
    try:
        return get_instrument(str(symbol))
    except CustodyUnknownInstrument:
        raise UnknownInstrument(f"no instrument with symbol {symbol!r}") from None


def instrument_by_isin(isin: str) -> Instrument:
    instrument = Instrument.objects.filter(isin=isin).first()
    if instrument is None:
        raise UnknownInstrument(f"no instrument with ISIN {isin!r}")
    return instrument


def active_deployments(instrument: Instrument) -> list[TokenDeployment]:
    """The instrument's live token contracts, one per network."""
    return list(TokenDeployment.objects.filter(instrument=instrument, status=TokenDeployment.Status.ACTIVE)
                .order_by("network"))
