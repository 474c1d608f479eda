"""Corporate action announcements: each one an event on corporate_action/<id>; a correction is a new event with
the full corrected terms, a cancellation another. Every check runs before anything is recorded, so a refused
announcement leaves no trace.

Terms by kind (dates are ISO dates, amounts Decimals):
    cash_dividend   ex_date, record_date, pay_date, rate (gross per share, > 0), currency (ISO 4217)
    stock_split     effective_date, old_rate, new_rate (old_rate shares become new_rate shares, new > old)
    reverse_split   effective_date, old_rate, new_rate (new < old; 1-for-10 is old_rate 10, new_rate 1)
    symbol_change   effective_date, new_symbol
    delisting       effective_date

Rules checked: the instrument exists and is not delisted; record date <= pay date; the rate is a positive
amount with at most 10 decimal places; split ratios are positive and move in the direction the kind says.
The ex date is not ordered against the others: for dividends of 25% or more of the price the exchange sets
it after the pay date.

One live cash dividend per stock and pay date. A dividend's cash is booked to
dividends:receivable:<SYM>:<pay date>, not to an account of the action: at an Alpaca account it arrives as the
broker's DIV activity, which names a symbol and a date but no corporate action, and the custody sync books it
before anyone could say which dividend it pays. Two live dividends paid the same day (a regular and a special
one) would therefore share one receivable, and the first payout run would take both amounts. So a dividend
whose symbol and pay date equal another live one's (not cancelled, not paid) is refused (DividendPayDateTaken):
operations announce one dividend with the combined rate. For the same reason the pay date is final once cash is
booked in its receivable (PayDateHasCash): the custodian paid on that day, and another date would name an empty
receivable and leave the cash behind. (Cash the broker pays on another day than announced lands in that day's
receivable, with the announcement's still empty: correcting the pay date to the broker's day is what finds it.)
"""
from __future__ import annotations

import re
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction

from ledger import canonical, store
from ledger.balances import balance
from ledger.errors import ConcurrencyError
from ledger.store import NewEvent

from . import ledger_accounts as accounts
from . import streams
from .errors import (
    ActionStateConflict,
    DividendPayDateTaken,
    InvalidAnnouncement,
    PayDateHasCash,
    UnknownCorporateAction,
)
from .instruments import instrument_for
from .locks import lock
from .models import CorporateAction

Kind = CorporateAction.Kind
Status = CorporateAction.Status
MAX_RATE_PLACES = 10
SYMBOL_RE = re.compile(r"^[A-Z0-9][A-Z0-9.\-]{0,15}$")
CURRENCY_RE = re.compile(r"^[A-Z]{3}$")
FIELDS = {
    Kind.CASH_DIVIDEND: ("ex_date", "record_date", "pay_date", "rate", "currency"),
    Kind.STOCK_SPLIT: ("effective_date", "old_rate", "new_rate"),
    Kind.REVERSE_SPLIT: ("effective_date", "old_rate", "new_rate"),
    Kind.SYMBOL_CHANGE: ("effective_date", "new_symbol"),
    Kind.DELISTING: ("effective_date",),
}
CORRECTABLE = (Status.ANNOUNCED, Status.SNAPSHOTTED)


def get_action(action_id: str) -> CorporateAction:
    action = CorporateAction.objects.filter(id=action_id).first()
    if action is None:
        raise UnknownCorporateAction(f"no corporate action {action_id!r}")
    return action


def announce(kind: str, symbol: str, terms: dict[str, Any], *, actor: str, source: str = "ops",
             source_id: str = "", action_id: str | None = None) -> CorporateAction:
    """Record a new announcement after validating every term (InvalidAnnouncement, UnknownInstrument)."""
    if kind not in FIELDS:
        raise InvalidAnnouncement(f"unknown corporate action kind {kind!r}; one of {', '.join(FIELDS)}")
    instrument = instrument_for(symbol)
    if instrument.status == instrument.Status.DELISTED:
        raise InvalidAnnouncement(f"{instrument.symbol} is delisted")
    clean = validate_terms(kind, terms)
    action_id = action_id or f"ca-{uuid.uuid4().hex[:16]}"
    event = NewEvent("corporate_action_announced", {
        "kind": kind, "symbol": instrument.symbol, "isin": instrument.isin, "terms": clean, "source": source,
        "source_id": source_id})
    with transaction.atomic():
        _refuse_shared_receivable(kind, instrument.symbol, clean, action_id)
        try:
            store.append(streams.CORPORATE_ACTION, action_id, [event], metadata={"actor": actor},
                         expected_version=store.NO_STREAM)
        except ConcurrencyError:
            raise ActionStateConflict(f"corporate action {action_id} already exists") from None
    return get_action(action_id)


def announce_dividend(symbol: str, *, ex_date: date | str, record_date: date | str, pay_date: date | str,
                      rate: Decimal | str, currency: str = "USD", actor: str) -> CorporateAction:
    return announce(Kind.CASH_DIVIDEND, symbol, {"ex_date": ex_date, "record_date": record_date,
                                                 "pay_date": pay_date, "rate": rate, "currency": currency},
                    actor=actor)


def announce_split(symbol: str, *, effective_date: date | str, old_rate: Decimal | str | int,
                   new_rate: Decimal | str | int, actor: str) -> CorporateAction:
    """A split (new_rate > old_rate) or reverse split (new_rate < old_rate): old_rate shares become new_rate."""
    kind = Kind.STOCK_SPLIT if _decimal(new_rate, "new_rate") > _decimal(old_rate, "old_rate") else Kind.REVERSE_SPLIT
    return announce(kind, symbol, {"effective_date": effective_date, "old_rate": old_rate, "new_rate": new_rate},
                    actor=actor)


def correct(action_id: str, changes: dict[str, Any], *, reason: str, actor: str) -> CorporateAction:
    """Record corrected terms (the whole new set). Allowed until a payout run exists or the action was applied;
    a changed record date makes the snapshot void (the action is snapshotted again); the pay date cannot change
    once cash is booked for it (see the module docstring)."""
    action = get_action(action_id)
    if action.status not in CORRECTABLE:
        raise ActionStateConflict(f"corporate action {action_id} is {action.status}; announce a new one instead")
    unknown = set(changes) - set(FIELDS[action.kind])
    if unknown:
        raise InvalidAnnouncement(f"{action.kind} has no term {', '.join(sorted(unknown))}")
    if not reason.strip():
        raise InvalidAnnouncement("a correction needs a reason")
    terms = validate_terms(action.kind, {**action.terms, **changes})
    if canonical.normalize_json(terms) == action.terms:
        raise InvalidAnnouncement(f"the correction changes nothing in {action_id}")
    with transaction.atomic():
        _refuse_shared_receivable(action.kind, action.symbol, terms, action.id)
        with store.appends_held():  # no cash is booked for the old pay date between the check and the correction
            _refuse_pay_date_with_cash(action, terms)
            _append(action, "corporate_action_corrected", {"terms": terms, "previous_terms": action.terms,
                                                           "reason": reason}, actor)
    return get_action(action_id)


def cancel(action_id: str, *, reason: str, actor: str) -> CorporateAction:
    action = get_action(action_id)
    if action.status not in CORRECTABLE:
        raise ActionStateConflict(f"corporate action {action_id} is {action.status}; it can no longer be cancelled")
    if not reason.strip():
        raise InvalidAnnouncement("a cancellation needs a reason")
    _append(action, "corporate_action_cancelled", {"reason": reason}, actor)
    return get_action(action_id)


def _refuse_shared_receivable(kind: str, symbol: str, terms: dict[str, Any], action_id: str) -> None:
    """DividendPayDateTaken if another live cash dividend of `symbol` is paid on the same day (see the module
    docstring). Holds a lock on that receivable until the caller's transaction ends, so two announcements
    racing for one pay date cannot both pass."""
    if kind != Kind.CASH_DIVIDEND:
        return
    lock(f"receivable:{symbol}:{terms['pay_date']}")
    clash = (CorporateAction.objects.filter(kind=Kind.CASH_DIVIDEND, symbol=symbol, pay_date=terms["pay_date"])
             .exclude(status__in=(Status.CANCELLED, Status.PAID)).exclude(id=action_id).first())
    if clash is not None:
        raise DividendPayDateTaken(
            f"dividend {clash.id} of {symbol} is also paid on {terms['pay_date']}: both would share one receivable. "
            f"Announce one dividend with the combined rate (correct {clash.id}) instead")


def _refuse_pay_date_with_cash(action: CorporateAction, terms: dict[str, Any]) -> None:
    if action.kind != Kind.CASH_DIVIDEND or terms["pay_date"] == action.terms["pay_date"]:
        return
    receivable = accounts.receivable(action.symbol, action.pay_date)
    booked = balance(receivable, action.currency)
    if booked:
        raise PayDateHasCash(f"{-booked:f} {action.currency} is already booked in {receivable} for {action.id}: the "
                             f"custodian paid on {action.pay_date}, so the pay date stays")


def _append(action: CorporateAction, event_type: str, payload: dict[str, Any], actor: str) -> None:
    with transaction.atomic():
        try:
            store.append(streams.CORPORATE_ACTION, action.id, [NewEvent(event_type, payload)],
                         metadata={"actor": actor}, expected_version=action.stream_version)
        except ConcurrencyError:
            raise ActionStateConflict(f"corporate action {action.id} changed meanwhile; retry") from None


def validate_terms(kind: str, terms: dict[str, Any]) -> dict[str, Any]:
    """The canonical terms of `kind` (dates as ISO strings, Decimals), or InvalidAnnouncement naming the flaw."""
    missing = [name for name in FIELDS[kind] if terms.get(name) in (None, "")]
    if missing:
        raise InvalidAnnouncement(f"{kind} needs {', '.join(missing)}")
    clean: dict[str, Any] = {}
    for name in FIELDS[kind]:
        value = terms[name]
        if name.endswith("_date"):
            clean[name] = _date(value, name).isoformat()
        elif name in ("rate", "old_rate", "new_rate"):
            clean[name] = _decimal(value, name)
        elif name == "currency":
            clean[name] = _code(value, CURRENCY_RE, "currency", "a three-letter ISO 4217 code")
        elif name == "new_symbol":
            clean[name] = _code(value, SYMBOL_RE, "new_symbol", "1-16 letters, digits, '.' or '-'")
    if kind == Kind.CASH_DIVIDEND:
        if clean["rate"] <= 0:
            raise InvalidAnnouncement(f"the dividend rate must be greater than zero, got {clean['rate']}")
        if -clean["rate"].as_tuple().exponent > MAX_RATE_PLACES:
            raise InvalidAnnouncement(f"the dividend rate has more than {MAX_RATE_PLACES} decimal places")
        if clean["record_date"] > clean["pay_date"]:
            raise InvalidAnnouncement(f"record date {clean['record_date']} is after pay date {clean['pay_date']}")
    elif kind in (Kind.STOCK_SPLIT, Kind.REVERSE_SPLIT):
        old_rate, new_rate = clean["old_rate"], clean["new_rate"]
        if old_rate <= 0 or new_rate <= 0:
            raise InvalidAnnouncement(f"split rates must be greater than zero, got {old_rate}:{new_rate}")
        if (kind == Kind.STOCK_SPLIT) != (new_rate > old_rate) or new_rate == old_rate:
            raise InvalidAnnouncement(f"{old_rate} old shares becoming {new_rate} is not a {kind.replace('_', ' ')}")
    return clean


def _date(value: object, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidAnnouncement(f"{name} {value!r} is not a date (YYYY-MM-DD)") from None


def _decimal(value: object, name: str) -> Decimal:
    if isinstance(value, (float, bool)):
        raise InvalidAnnouncement(f"{name} must be a decimal string, not a {type(value).__name__}")
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise InvalidAnnouncement(f"{name} {value!r} is not a decimal number") from None
    if not number.is_finite():
        raise InvalidAnnouncement(f"{name} must be finite")
    return number


def _code(value: object, pattern: re.Pattern, name: str, shape: str) -> str:
    text = str(value).strip().upper()
    if not pattern.match(text):
        raise InvalidAnnouncement(f"{name} {value!r} must be {shape}")
    return text
