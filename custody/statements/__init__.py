"""Custodian statements of holdings, read from any of the formats custodians send us.

``parse_statement`` is the entry point: it recognises the format from the content (the
file name is only quoted in the error when nothing matches) and returns a
``Statement``; any unreadable input raises ``StatementParseError`` and nothing else.
"""

from custody.statements.csv_format import HEADER as CSV_HEADER
from custody.statements.csv_format import parse_csv
from custody.statements.errors import StatementParseError
from custody.statements.model import Holding, Statement, StatementFormat
from custody.statements.mt535 import parse_mt535
from custody.statements.semt002 import parse_semt002

__all__ = [
    "Holding",
    "Statement",
    "StatementFormat",
    "StatementParseError",
    "detect_format",
    "parse_csv",
    "parse_mt535",
    "parse_semt002",
    "parse_statement",
]

_CSV_HEADER_START = ",".join(CSV_HEADER[:2]).encode()
_PARSERS = {
    StatementFormat.MT535: parse_mt535,
    StatementFormat.CSV: parse_csv,
    StatementFormat.SEMT002: parse_semt002,
}


def detect_format(data: bytes, filename: str) -> StatementFormat:
    """Which format the bytes are in, judged by how they start: '<' XML, '{' or ':' SWIFT, else the CSV header."""
    start = data.removeprefix(b"\xef\xbb\xbf").lstrip()
    if not start:
        raise StatementParseError(1, f"{filename} is empty")
    if start.startswith(b"<"):
        return StatementFormat.SEMT002
    if start.startswith((b"{", b":")):
        return StatementFormat.MT535
    if start.startswith(_CSV_HEADER_START):
        return StatementFormat.CSV
    raise StatementParseError(
        data.count(b"\n", 0, len(data) - len(start)) + 1,
        f"{filename} is not a recognised statement: expected SWIFT MT535, semt.002 XML, "
        f"or CSV starting with the header {','.join(CSV_HEADER)}",
    )


def parse_statement(data: bytes, filename: str) -> Statement:
    """Parse a custodian statement file; ``source_sha256`` is the SHA-256 of ``data`` exactly as given."""
    return _PARSERS[detect_format(data, filename)](data)
