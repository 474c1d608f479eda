"""CSV statement of holdings: the format we ask custodians to send when they have no SWIFT.

The contract, as given to custodians:

- UTF-8 text (a leading BOM is tolerated), comma-separated, RFC 4180 quoting: a value
  containing a comma is written in double quotes, a double quote inside it as "".
- The first line is exactly this header (lower case, this order):

      account,statement_date,isin,description,aggregate,available,blocked,pending

- Then one line per security held, at least one. Blank lines are ignored.
- ``account``: the custody account reference. One account per file: the same on every line.
- ``statement_date``: ISO date ``YYYY-MM-DD``, the same on every line.
- ``isin``: 12-character ISIN with a valid check digit; each ISIN at most once per file.
- ``description``: free text, may be empty.
- ``aggregate``: total units held, a plain decimal with '.' as separator (``1500``,
  ``0.25``): no sign, no exponent, no thousands separator; at most 18 digits before the
  point and 17 after. This format cannot express short positions.
- ``available``, ``blocked``, ``pending``: same form as ``aggregate``, or empty when the
  custodian does not report that balance.
- Spaces around a value are ignored.

Example::

    account,statement_date,isin,description,aggregate,available,blocked,pending
    ACME-CUST-001,2025-11-24,US0378331005,"APPLE INC, COMMON STOCK",1500,1200,200,100
    ACME-CUST-001,2025-11-24,US88160R1014,TESLA INC,250.5,250.5,,
"""

import csv
import hashlib
import io
import re
from datetime import date
from decimal import Decimal
from typing import TypeVar

from custody.statements.errors import StatementParseError
from custody.statements.fields import decode_text, isin_on_line, plain_decimal
from custody.statements.model import Holding, Statement, StatementFormat

HEADER = ("account", "statement_date", "isin", "description", "aggregate", "available", "blocked", "pending")
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_Value = TypeVar("_Value", str, date)


def parse_csv(data: bytes) -> Statement:
    """Read a CSV statement (see the module documentation for the columns) into a Statement."""
    text = decode_text(data)
    if not text.strip():
        raise StatementParseError(1, "empty file")
    rows = _rows(text)
    if rows[0] != (1, list(HEADER)):
        raise StatementParseError(1, "first line must be the header " + ",".join(HEADER))
    account_ref: tuple[str, int] | None = None
    statement_date: tuple[date, int] | None = None
    isin_lines: dict[str, int] = {}
    holdings: list[Holding] = []
    for line, values in rows[1:]:
        if len(values) != len(HEADER):
            raise StatementParseError(line, f"expected {len(HEADER)} values ({','.join(HEADER)}), found {len(values)}")
        account, date_text, isin_text, description, *quantity_texts = values
        account_ref = _same_on_every_line("account", _account(account, line), line, account_ref)
        statement_date = _same_on_every_line("statement_date", _iso_date(date_text, line), line, statement_date)
        isin = isin_on_line(isin_text, line)
        if isin in isin_lines:
            raise StatementParseError(
                line, f"ISIN {isin} appears twice in this file (first on line {isin_lines[isin]})"
            )
        isin_lines[isin] = line
        aggregate, available, blocked, pending = (
            _quantity(name, quantity_text, line) for name, quantity_text in zip(HEADER[4:], quantity_texts)
        )
        if aggregate is None:
            raise StatementParseError(line, "aggregate is empty: every line must give the total units held")
        holdings.append(Holding(isin, description, aggregate, available, blocked, pending))
    if account_ref is None or statement_date is None:
        raise StatementParseError(rows[-1][0], "no holdings after the header: list at least one security")
    return Statement(StatementFormat.CSV, account_ref[0], statement_date[0], None, tuple(holdings),
                     hashlib.sha256(data).hexdigest())


def _rows(text: str) -> list[tuple[int, list[str]]]:
    """Non-blank records with the line each starts on, values stripped of surrounding spaces."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows = []
    previous_line = 0
    try:
        for record in reader:
            if record:
                rows.append((previous_line + 1, [value.strip() for value in record]))
            previous_line = reader.line_num
    except csv.Error as error:
        raise StatementParseError(reader.line_num, f"malformed CSV: {error}") from None
    return rows


def _same_on_every_line(column: str, value: _Value, line: int, first: tuple[_Value, int] | None) -> tuple[_Value, int]:
    """The (value, line) first seen for a column that must not change from line to line."""
    if first is not None and value != first[0]:
        raise StatementParseError(
            line, f"{column} {value} differs from {first[0]} on line {first[1]}: one account and date per file"
        )
    return first or (value, line)


def _account(text: str, line: int) -> str:
    if not text:
        raise StatementParseError(line, "account is empty")
    return text


def _iso_date(text: str, line: int) -> date:
    try:
        if _ISO_DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise StatementParseError(line, f"statement_date {text[:30]!r} is not an ISO date YYYY-MM-DD")


def _quantity(column: str, text: str, line: int) -> Decimal | None:
    if not text:
        return None
    if text.startswith("-"):
        raise StatementParseError(line, f"{column} {text[:30]} is negative: the CSV format has no short positions")
    return plain_decimal(text, line, column)
