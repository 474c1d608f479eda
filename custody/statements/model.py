"""What a custodian says we hold, independent of the file format it arrived in.

Reconciliation compares these numbers with tokens outstanding, so the objects are
immutable, quantities are exact Decimals (never floats), and the raw file is
identified by its SHA-256 so a statement can be traced back to the bytes received.
"""

import re
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum

from custody.identifiers import validate_isin

_SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class StatementFormat(StrEnum):
    MT535 = "mt535"
    CSV = "csv"
    SEMT002 = "semt.002"


def _require_quantity(name: str, value: object, *, may_be_negative: bool) -> None:
    if not isinstance(value, Decimal):
        raise ValueError(f"{name} must be a Decimal, got {type(value).__name__}")
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value}")
    if value < 0 and not may_be_negative:
        raise ValueError(f"{name} must not be negative, got {value}")


@dataclass(frozen=True)
class Holding:
    """One security's balances on the statement, in units (shares).

    ``aggregate`` is the total the custodian holds for us. It is negative only when
    the source format explicitly marked a short position; parsers reject a negative
    number in formats that have no such marker. The sub-balances are None when the
    statement does not report them.
    """

    isin: str
    description: str
    aggregate: Decimal
    available: Decimal | None
    blocked: Decimal | None
    pending: Decimal | None

    def __post_init__(self) -> None:
        if validate_isin(self.isin) != self.isin:
            raise ValueError(f"ISIN {self.isin!r} is not in normalized (stripped, upper-case) form")
        _require_quantity("aggregate", self.aggregate, may_be_negative=True)
        for name in ("available", "blocked", "pending"):
            value = getattr(self, name)
            if value is not None:
                _require_quantity(name, value, may_be_negative=False)


@dataclass(frozen=True)
class Statement:
    """A whole statement of holdings for one custody account at one moment.

    ``as_of`` is set when the file gives a time as well as a date; it is timezone-aware
    only when the file states an offset (SWIFT 98C times carry none).
    """

    format: StatementFormat
    account_ref: str
    statement_date: date
    as_of: datetime | None
    holdings: tuple[Holding, ...]
    source_sha256: str

    def __post_init__(self) -> None:
        if not self.account_ref:
            raise ValueError("account_ref must not be empty")
        if isinstance(self.statement_date, datetime) or not isinstance(self.statement_date, date):
            raise ValueError("statement_date must be a date (the time goes in as_of)")
        if self.as_of is not None and self.as_of.date() != self.statement_date:
            raise ValueError(f"as_of {self.as_of} is not on statement_date {self.statement_date}")
        if not isinstance(self.holdings, tuple):
            raise ValueError("holdings must be a tuple")
        isins = [holding.isin for holding in self.holdings]
        if len(set(isins)) != len(isins):
            raise ValueError("a statement holds each ISIN at most once")
        if not _SHA256_HEX.fullmatch(self.source_sha256):
            raise ValueError("source_sha256 must be 64 lower-case hex digits")
