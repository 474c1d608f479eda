"""Custodian statements in the ledger: "the custodian says we hold X of each security at date D".

A statement is an observation, never a movement: `statement_imported` has no postings and sits on its own
stream (`custody_statement/<account>`), apart from the activities and orders of `custody_account/<account>`.
Reconciliation compares it with the ledger balances of custody:<account>:<SYM>.

Import rules:
- A file larger than CUSTODY_STATEMENT_MAX_BYTES is refused (StatementTooLarge) before it is parsed; a file read
  from disk or an upload goes through read_statement_file, which reads at most one byte past the limit.
- The whole file is parsed before anything is written (CSV, SWIFT MT535 or ISO 20022 semt.002, recognised
  from the content; see custody/statements/). Any defect rejects the file with its line number and reason.
- A statement's time is its own (SWIFT 98C STAT, semt.002 DtTm; UTC when the file gives no offset), else the end
  of its date. A time later than now plus STATEMENT_CLOCK_ALLOWANCE is a typo and refused: recorded, it would be
  the latest statement and hide every real one until that date.
- One append, one event, idempotency key `custody:statement:<account>:<statement time>`: importing the same
  bytes again, or the same holdings in other bytes (line endings, a BOM, another SWIFT header), writes nothing
  and says so; other holdings for a time already recorded are refused (there is no correction import: a
  statement is never replaced by the next file to arrive). The same bytes for another account are refused.
- The custody account must exist and its `statement_account_ref` must be the account the file is for.
- A security whose ISIN is not an instrument is kept in the observation with `symbol: null` and reported
  back as `unknown_isins`: the custodian holding something we do not issue is itself worth seeing, and
  refusing the file would hide the other holdings from reconciliation.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any, BinaryIO

from django.conf import settings
from django.utils import timezone

from ledger import store
from ledger.errors import IdempotencyConflict

from . import streams
from .custody_accounts import get_custody_account
from .errors import (
    StatementAccountMismatch,
    StatementAlreadyImported,
    StatementConflictsWithImported,
    StatementDatedInTheFuture,
    StatementRejected,
    StatementTooLarge,
)
from .models import CustodyAccount, Instrument, StatementImport
from .statements import StatementParseError, parse_statement

# How far past our clock a statement's time may be: custodians stamp their local time without an offset, and a
# statement of today with no time counts as the end of today.
STATEMENT_CLOCK_ALLOWANCE = timedelta(days=1)


@dataclass(frozen=True)
class StatementImportResult:
    account: str
    file_sha256: str
    format: str
    statement_date: date
    holdings: int
    unknown_isins: tuple[str, ...]
    already_imported: bool


@dataclass(frozen=True)
class StatementHolding:
    isin: str
    symbol: str | None
    description: str
    aggregate: Decimal
    available: Decimal | None
    blocked: Decimal | None
    pending: Decimal | None


@dataclass(frozen=True)
class CustodianStatement:
    """An imported statement as reconciliation reads it."""

    account: str
    statement_date: date
    as_of: str
    statement_time: datetime
    format: str
    filename: str
    file_sha256: str
    holdings: tuple[StatementHolding, ...]
    event_position: int
    imported_at: datetime

    def aggregate_by_symbol(self) -> dict[str, Decimal]:
        """Total units per known instrument (holdings in unknown securities left out)."""
        return {holding.symbol: holding.aggregate for holding in self.holdings if holding.symbol}


def read_statement_file(source: BinaryIO, filename: str) -> bytes:
    """The bytes of a statement file, StatementTooLarge past CUSTODY_STATEMENT_MAX_BYTES. Reads at most one byte
    more than the limit, so a wrong file (an archive, a device that never ends) is refused without being held in
    memory."""
    data = source.read(settings.CUSTODY_STATEMENT_MAX_BYTES + 1)
    _refuse_oversized(data, filename)
    return data


def import_statement(data: bytes, filename: str, account: str | CustodyAccount, *, actor: str) -> StatementImportResult:
    """Parse and record one statement file for a custody account (see the module rules)."""
    _refuse_oversized(data, filename)
    account = get_custody_account(account)
    file_sha256 = hashlib.sha256(data).hexdigest()
    earlier = _earlier_import(file_sha256, account, filename)
    if earlier is not None:
        return earlier
    try:
        statement = parse_statement(data, filename)
    except StatementParseError as error:
        raise StatementRejected(filename, error.line, error.message) from None
    if not account.statement_account_ref:
        raise StatementAccountMismatch(f"custody account {account.name} has no statement_account_ref: set it to the "
                                       f"custodian's account id ({statement.account_ref} in {filename}) first")
    if statement.account_ref != account.statement_account_ref:
        raise StatementAccountMismatch(f"{filename} is the statement of custodian account {statement.account_ref}, "
                                       f"but custody account {account.name} is {account.statement_account_ref}")
    as_of = statement.as_of.isoformat() if statement.as_of else ""
    moment = statement_time(statement.statement_date, as_of)
    if moment > timezone.now() + STATEMENT_CLOCK_ALLOWANCE:
        raise StatementDatedInTheFuture(f"{filename} is dated in the future ({moment.isoformat()}): check the "
                                        f"statement date with the custodian")
    symbols = dict(Instrument.objects.filter(isin__in=[h.isin for h in statement.holdings])
                   .values_list("isin", "symbol"))
    holdings = [{"isin": h.isin, "symbol": symbols.get(h.isin), "description": h.description,
                 "aggregate": h.aggregate, "available": h.available, "blocked": h.blocked, "pending": h.pending}
                for h in statement.holdings]
    same_time = _import_at_same_time(account, moment, holdings, filename)
    if same_time is not None:
        return same_time
    payload = {"file_sha256": file_sha256, "filename": filename, "format": str(statement.format),
               "account_ref": statement.account_ref, "statement_date": statement.statement_date.isoformat(),
               "as_of": as_of, "holdings": holdings}
    try:
        store.append(streams.CUSTODY_STATEMENT, account.name, [store.NewEvent("statement_imported", payload)],
                     metadata={"actor": actor}, idempotency_key=statement_key(account.name, moment))
    except IdempotencyConflict:  # a statement of this time recorded meanwhile by a concurrent import
        return (_earlier_import(file_sha256, account, filename)
                or _import_at_same_time(account, moment, holdings, filename))
    unknown = tuple(h.isin for h in statement.holdings if h.isin not in symbols)
    return StatementImportResult(account.name, file_sha256, str(statement.format), statement.statement_date,
                                 len(holdings), unknown, already_imported=False)


def latest_statement(account: str | CustodyAccount, at: datetime | None = None) -> CustodianStatement | None:
    """The account's latest statement by its own time at `at` (a statement stamped later did not exist yet), the
    last imported on a tie. Without `at`, the latest one up to STATEMENT_CLOCK_ALLOWANCE past now, as imports
    allow: one recorded with a later date (before imports refused them) never hides the real ones."""
    account = get_custody_account(account)
    row = (StatementImport.objects.filter(account_name=account.name,
                                          statement_time__lte=at or timezone.now() + STATEMENT_CLOCK_ALLOWANCE)
           .order_by("-statement_time", "-event_position").first())
    if row is None:
        return None
    holdings = tuple(StatementHolding(h["isin"], h["symbol"], h["description"], Decimal(h["aggregate"]),
                                      *(Decimal(h[name]) if h[name] is not None else None
                                        for name in ("available", "blocked", "pending")))
                     for h in row.holdings)
    return CustodianStatement(account.name, row.statement_date, row.as_of, row.statement_time, row.format,
                              row.filename, row.file_sha256, holdings, row.event_position, row.imported_at)


def statement_time(statement_date: date, as_of: str) -> datetime:
    """The statement's own time (UTC when it carries no offset, as SWIFT 98C times do), else the end of its date:
    a statement of holdings at a date says what was held once that day was over."""
    if as_of:
        moment = datetime.fromisoformat(as_of)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return datetime.combine(statement_date, time.max, tzinfo=UTC)


def statement_key(account: str, moment: datetime) -> str:
    """One statement per account and time: the same statement sent again in other bytes is the same key."""
    return f"custody:statement:{account}:{moment.astimezone(UTC).isoformat()}"


def _refuse_oversized(data: bytes, filename: str) -> None:
    if len(data) > settings.CUSTODY_STATEMENT_MAX_BYTES:
        raise StatementTooLarge(filename, settings.CUSTODY_STATEMENT_MAX_BYTES)


def _earlier_import(file_sha256: str, account: CustodyAccount, filename: str) -> StatementImportResult | None:
    row = StatementImport.objects.filter(file_sha256=file_sha256).first()
    if row is None:
        return None
    if row.account_name != account.name:
        raise StatementAlreadyImported(f"{filename} (sha256 {file_sha256[:12]}...) was already imported for custody "
                                       f"account {row.account_name} as {row.filename}")
    return _already_imported(row)


def _import_at_same_time(account: CustodyAccount, moment: datetime, holdings: list[dict[str, Any]],
                         filename: str) -> StatementImportResult | None:
    """The statement recorded for the account at this time when it holds the same (sent again in other bytes);
    other holdings at the same time are refused, since which one is right is not for the order of arrival to say."""
    rows = list(StatementImport.objects.filter(account_name=account.name, statement_time=moment)
                .order_by("event_position"))
    for row in rows:
        if _contents(row.holdings) == _contents(holdings):
            return _already_imported(row)
    if rows:
        raise StatementConflictsWithImported(
            f"{filename} gives other holdings than {rows[0].filename}, already imported as the statement of "
            f"{moment.isoformat()} for custody account {account.name}; a statement is not replaced by importing "
            f"another one (there is no correction import)")
    return None


def _contents(holdings: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What a statement says, whatever bytes it came in: each security's quantities, exact, in ISIN order."""
    return sorted((h["isin"], *(Decimal(h[name]) if h[name] is not None else None
                                for name in ("aggregate", "available", "blocked", "pending"))) for h in holdings)


def _already_imported(row: StatementImport) -> StatementImportResult:
    unknown = tuple(h["isin"] for h in row.holdings if h["symbol"] is None)
    return StatementImportResult(row.account_name, row.file_sha256, row.format, row.statement_date,
                                 len(row.holdings), unknown, already_imported=True)
