"""Readers shared by the statement formats: bytes to text, plain decimals, ISINs.

Each turns a bad value into a StatementParseError carrying the line it came from, so
the format parsers stay about structure.
"""

import re
from decimal import Decimal

from custody.identifiers import InvalidIdentifier, validate_isin
from custody.statements.errors import StatementParseError

_UTF8_BOM = b"\xef\xbb\xbf"
# C0 controls other than tab/LF/CR, DEL, and a CR that does not start a CRLF pair.
_FORBIDDEN_CHARACTER = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\r(?!\n)")
# ISO 20022 DecimalNumber allows 18 digits in total, at most 17 of them after the point.
_PLAIN_DECIMAL = re.compile(r"(\d{1,18})(?:\.(\d{1,17}))?")


def decode_text(data: bytes) -> str:
    """Decode strictly as UTF-8 (a leading BOM is dropped).

    Control characters are refused: no statement format uses them, a bare CR would
    shift every line number we report, and PostgreSQL text columns cannot store NUL.
    """
    if data.startswith(_UTF8_BOM):
        data = data[len(_UTF8_BOM):]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        raise StatementParseError(
            line, f"not UTF-8: byte 0x{data[error.start]:02x} cannot be decoded (statements must be UTF-8)"
        ) from None
    forbidden = _FORBIDDEN_CHARACTER.search(text)
    if forbidden:
        line = text.count("\n", 0, forbidden.start()) + 1
        raise StatementParseError(line, f"control character U+{ord(forbidden.group()[0]):04X} is not allowed")
    return text


def split_lines(text: str) -> list[str]:
    """Lines as an editor numbers them (LF or CRLF endings), without their endings."""
    return [line.removesuffix("\r") for line in text.split("\n")]


def plain_decimal(value: str, line: int, what: str) -> Decimal:
    """An unsigned decimal written with '.', such as "1500" or "12.5" (no sign, exponent or separators)."""
    if not _PLAIN_DECIMAL.fullmatch(value):
        raise StatementParseError(
            line,
            f"{what} {value!r} is not a plain unsigned decimal such as 1500 or 12.5 "
            "(at most 18 digits before the point, 17 after)",
        )
    return Decimal(value)


def isin_on_line(value: str, line: int) -> str:
    """The validated, upper-cased ISIN, or the identifier's own complaint at this line."""
    try:
        return validate_isin(value)
    except InvalidIdentifier as error:
        raise StatementParseError(line, str(error)) from None
