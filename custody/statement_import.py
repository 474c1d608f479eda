"""Custodian statements in the ledger: "the custodian says we hold X of each security at date D".

A statement is an observation, never a movement: `statement_imported` has no postings and sits on its own
stream (`custody_statement/<account>`), apart from the activities and orders of `custody_account/<account>`.
Reconciliation compares it with the ledger balances of custody:<account>:<SYM>.

Import rules:
- The whole file is parsed before anything is written (CSV, SWIFT MT535 or ISO 20022 semt.002, recognised
  from the content; see custody/statements/). Any defect rejects the file with its line number and reason.
- One append, one event, idempotency key `custody:statement:<file sha256>`: importing the same bytes again
  writes nothing and says so; the same bytes for another account are refused.
- The custody account must exist and its `statement_account_ref` must be the account the file is for.
- A security whose ISIN is not an instrument is kept in the observation with `symbol: null` and reported
  back as `unknown_isins`: the custodian holding something we do not issue is itself worth seeing, and
  refusing the file would hide the other holdings from reconciliation.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from ledger import store
from ledger.errors import IdempotencyConflict

from . import streams
from .custody_accounts import get_custody_account
from .errors import StatementAccountMismatch, StatementAlreadyImported, StatementRejected
from .models import CustodyAccount, Instrument, StatementImport
from .statements import StatementParseError, parse_statement


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
    format: str
    file_sha256: str
    holdings: tuple[StatementHolding, ...]
    event_position: int

    def aggregate_by_symbol(self) -> dict[str, Decimal]:
        """Total units per known instrument (holdings in unknown securities left out)."""
        return {holding.symbol: holding.aggregate for holding in self.holdings if holding.symbol}


def import_statement(data: bytes, filename: str, account: str | CustodyAccount, *, actor: str) -> StatementImportResult:
    """Parse and record one statement file for a custody account (see the module rules)."""
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
    symbols = dict(Instrument.objects.filter(isin__in=[h.isin for h in statement.holdings])
                   .values_list("isin", "symbol"))
    holdings = [{"isin": h.isin, "symbol": symbols.get(h.isin), "description": h.description,
                 "aggregate": h.aggregate, "available": h.available, "blocked": h.blocked, "pending": h.pending}
                for h in statement.holdings]
    payload = {"file_sha256": file_sha256, "filename": filename, "format": str(statement.format),
               "account_ref": statement.account_ref, "statement_date": statement.statement_date.isoformat(),
               "as_of": statement.as_of.isoformat() if statement.as_of else "", "holdings": holdings}
    try:
        store.append(streams.CUSTODY_STATEMENT, account.name, [store.NewEvent("statement_imported", payload)],
                     metadata={"actor": actor}, idempotency_key=statement_key(file_sha256))
    except IdempotencyConflict:  # imported meanwhile by a concurrent run
        return _earlier_import(file_sha256, account, filename)
    unknown = tuple(h.isin for h in statement.holdings if h.isin not in symbols)
    return StatementImportResult(account.name, file_sha256, str(statement.format), statement.statement_date,
                                 len(holdings), unknown, already_imported=False)


def latest_statement(account: str | CustodyAccount) -> CustodianStatement | None:
    """The statement with the latest statement date imported for the account (last imported on a tie)."""
    account = get_custody_account(account)
    row = (StatementImport.objects.filter(account_name=account.name)
           .order_by("-statement_date", "-event_position").first())
    if row is None:
        return None
    holdings = tuple(StatementHolding(h["isin"], h["symbol"], h["description"], Decimal(h["aggregate"]),
                                      *(Decimal(h[name]) if h[name] is not None else None
                                        for name in ("available", "blocked", "pending")))
                     for h in row.holdings)
    return CustodianStatement(account.name, row.statement_date, row.as_of, row.format, row.file_sha256, holdings,
                              row.event_position)


def statement_key(file_sha256: str) -> str:
    return f"custody:statement:{file_sha256}"


def _earlier_import(file_sha256: str, account: CustodyAccount, filename: str) -> StatementImportResult | None:
    row = StatementImport.objects.filter(file_sha256=file_sha256).first()
    if row is None:
        return None
    if row.account_name != account.name:
        raise StatementAlreadyImported(f"{filename} (sha256 {file_sha256[:12]}...) was already imported for custody "
                                       f"account {row.account_name} as {row.filename}")
    unknown = tuple(h["isin"] for h in row.holdings if h["symbol"] is None)
    return StatementImportResult(row.account_name, file_sha256, row.format, row.statement_date, len(row.holdings),
                                 unknown, already_imported=True)
