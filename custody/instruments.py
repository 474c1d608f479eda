"""Instruments: what operations staff may do to one, each change an event (with the actor) on stream
`instrument/<ISIN>`. The ISIN names the stream because it survives a symbol change.

The `Instrument` table is the projection of these events (custody/projections.py applies them inside the
append's transaction), so the row and the event can never disagree. Each change appends with the stream's
expected version: two operators changing the same instrument at once cannot both win on stale data.
"""
from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError

from ledger import store
from ledger.errors import ConcurrencyError
from ledger.store import NewEvent

from . import streams
from .errors import InstrumentExists, InstrumentStateConflict, InvalidInstrument, UnknownInstrument
from .identifiers import InvalidIdentifier, cusip_to_us_isin, validate_cusip, validate_isin
from .models import Instrument

STREAM_TYPE = streams.INSTRUMENT
MAX_RATIO_PLACES = 18  # Instrument.tokens_per_share is NUMERIC(38, 18)
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")
Status = Instrument.Status


def get_instrument(symbol: str) -> Instrument:
    instrument = Instrument.objects.filter(symbol=symbol.strip().upper()).first()
    if instrument is None:
        raise UnknownInstrument(f"no instrument with symbol {symbol!r}")
    return instrument


def create_instrument(symbol: str, name: str, isin: str, *, actor: str, cusip: str = "", exchange: str = "",
                      tokens_per_share: Decimal = Decimal(1)) -> Instrument:
    """Validate the identifiers (check digits; a US ISIN must embed the CUSIP) and record `instrument_created`."""
    symbol = _valid_symbol(symbol)
    try:
        isin = validate_isin(isin)
        cusip = validate_cusip(cusip) if cusip.strip() else ""
        if cusip and isin.startswith("US") and cusip_to_us_isin(cusip) != isin:
            raise InvalidIdentifier(f"CUSIP {cusip} belongs to ISIN {cusip_to_us_isin(cusip)}, not {isin}")
    except InvalidIdentifier as error:
        raise InvalidInstrument(str(error)) from None
    if not name.strip():
        raise InvalidInstrument("an instrument needs a name")
    ratio = _positive_ratio(tokens_per_share)
    _refuse_existing(symbol, isin)
    event = NewEvent("instrument_created", {
        "symbol": symbol, "name": name.strip(), "isin": isin, "cusip": cusip, "exchange": exchange.strip().upper(),
        "status": Status.ACTIVE, "tokens_per_share": ratio,
    })
    try:
        store.append(STREAM_TYPE, isin, [event], metadata={"actor": actor}, expected_version=store.NO_STREAM)
    except (ConcurrencyError, IntegrityError):  # created meanwhile by someone else
        raise InstrumentExists(f"an instrument with symbol {symbol} or ISIN {isin} already exists") from None
    return get_instrument(symbol)


def pause_instrument(symbol: str, actor: str, reason: str) -> Instrument:
    """Stop new mints and redeems of the instrument (reason recorded), e.g. during a corporate action."""
    return _change_status(symbol, actor, reason, "instrument_paused", Status.PAUSED, allowed_from={Status.ACTIVE})


def resume_instrument(symbol: str, actor: str, reason: str = "") -> Instrument:
    return _change_status(symbol, actor, reason, "instrument_resumed", Status.ACTIVE, allowed_from={Status.PAUSED})


def delist_instrument(symbol: str, actor: str, reason: str) -> Instrument:
    """Final: a delisted instrument cannot be resumed."""
    return _change_status(symbol, actor, reason, "instrument_delisted", Status.DELISTED,
                          allowed_from={Status.ACTIVE, Status.PAUSED})


def change_tokens_per_share(symbol: str, tokens_per_share: Decimal, actor: str, reason: str) -> Instrument:
    instrument = get_instrument(symbol)
    ratio = _positive_ratio(tokens_per_share)
    if ratio == instrument.tokens_per_share:
        raise InstrumentStateConflict(f"{instrument.symbol} already has {ratio} tokens per share")
    _append(instrument, "instrument_ratio_changed", actor, {
        "symbol": instrument.symbol, "old_tokens_per_share": instrument.tokens_per_share,
        "tokens_per_share": ratio, "reason": reason,
    })
    return get_instrument(instrument.symbol)


def change_symbol(symbol: str, new_symbol: str, actor: str, reason: str) -> Instrument:
    """A ticker change (same ISIN). Ledger accounts keep their old paths; balances move only by new events (a
    symbol change corporate action moves them in the same transaction: corporate_actions.splits)."""
    instrument = get_instrument(symbol)
    new_symbol = _valid_symbol(new_symbol)
    if Instrument.objects.filter(symbol=new_symbol).exists():
        raise InstrumentExists(f"symbol {new_symbol} is already used")
    try:
        _append(instrument, "instrument_symbol_changed", actor,
                {"old_symbol": instrument.symbol, "symbol": new_symbol, "reason": reason})
    except IntegrityError:
        raise InstrumentExists(f"symbol {new_symbol} is already used") from None
    return get_instrument(new_symbol)


def _change_status(symbol: str, actor: str, reason: str, event_type: str, new_status: str,
                   allowed_from: set[str]) -> Instrument:
    instrument = get_instrument(symbol)
    if instrument.status not in allowed_from:
        raise InstrumentStateConflict(f"{instrument.symbol} is {instrument.status}; cannot become {new_status}")
    _append(instrument, event_type, actor, {"symbol": instrument.symbol, "status": new_status, "reason": reason})
    return get_instrument(instrument.symbol)


def _append(instrument: Instrument, event_type: str, actor: str, payload: dict) -> None:
    """Append to the instrument's stream at the version this change was decided on."""
    events = store.read_stream(STREAM_TYPE, instrument.isin)
    version = events[-1].version if events else store.NO_STREAM
    try:
        store.append(STREAM_TYPE, instrument.isin, [NewEvent(event_type, payload)], metadata={"actor": actor},
                     expected_version=version)
    except ConcurrencyError:
        raise InstrumentStateConflict(f"{instrument.symbol} was changed by someone else meanwhile; retry") from None


def _refuse_existing(symbol: str, isin: str) -> None:
    clash = Instrument.objects.filter(symbol=symbol).first() or Instrument.objects.filter(isin=isin).first()
    if clash is not None:
        raise InstrumentExists(f"instrument {clash.symbol} ({clash.isin}) already exists")


def _valid_symbol(symbol: str) -> str:
    normalized = symbol.strip().upper()
    if not SYMBOL_RE.match(normalized):
        raise InvalidInstrument(f"symbol {symbol!r} must be 1-16 letters, digits, '.' or '-'")
    return normalized


def _positive_ratio(value: Decimal) -> Decimal:
    try:
        ratio = Decimal(value) if not isinstance(value, float) else None
    except (InvalidOperation, TypeError, ValueError):
        ratio = None
    if ratio is None or not ratio.is_finite() or ratio <= 0 or ratio.as_tuple().exponent < -MAX_RATIO_PLACES:
        raise InvalidInstrument(
            f"tokens per share must be a Decimal greater than 0 with at most {MAX_RATIO_PLACES} decimal places, "
            f"got {value!r}")
    return ratio
