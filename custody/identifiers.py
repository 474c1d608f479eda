"""Security identifiers: ISIN (ISO 6166) and CUSIP validation.

Custodian statements name securities by ISIN; a mistyped or truncated ISIN must
never be booked as a position in some other security, so every identifier that
enters the books goes through these check-digit validations first.
"""

import re

_ISIN_SHAPE = re.compile(r"[A-Z]{2}[A-Z0-9]{9}[0-9]")
_CUSIP_SHAPE = re.compile(r"[A-Z0-9*@#]{8}[0-9]")


class InvalidIdentifier(ValueError):
    """A security identifier with the wrong shape or a wrong check digit."""


def _character_value(char: str) -> int:
    """Digits count as themselves, letters A..Z as 10..35 (shared by ISIN and CUSIP)."""
    if char.isdigit():
        return int(char)
    return ord(char) - ord("A") + 10


def _isin_check_digit(first_eleven: str) -> int:
    """Luhn check digit over the ISIN body with letters expanded to two digits each."""
    digits = "".join(str(_character_value(char)) for char in first_eleven)
    total = 0
    # The check digit will sit to the right, so the rightmost body digit is doubled.
    for position, digit_char in enumerate(reversed(digits)):
        digit = int(digit_char)
        if position % 2 == 0:
            digit *= 2
        total += digit // 10 + digit % 10
    return (10 - total % 10) % 10


def _cusip_check_digit(first_eight: str) -> int:
    """CUSIP modulus-10 "double-add-double" check digit (every second character doubled)."""
    special_values = {"*": 36, "@": 37, "#": 38}
    total = 0
    for position, char in enumerate(first_eight):
        value = special_values.get(char) or _character_value(char)
        if position % 2 == 1:
            value *= 2
        total += value // 10 + value % 10
    return (10 - total % 10) % 10


def validate_isin(isin: str) -> str:
    """Return the ISIN upper-cased and stripped, or raise InvalidIdentifier saying what is wrong."""
    normalized = isin.strip().upper()
    if not _ISIN_SHAPE.fullmatch(normalized):
        raise InvalidIdentifier(
            f"{isin!r} is not an ISIN: expected 2 letters, 9 letters or digits and a check digit"
        )
    expected = _isin_check_digit(normalized[:11])
    if int(normalized[11]) != expected:
        raise InvalidIdentifier(
            f"ISIN {normalized} has check digit {normalized[11]}, expected {expected}"
        )
    return normalized


def validate_cusip(cusip: str) -> str:
    """Return the CUSIP upper-cased and stripped, or raise InvalidIdentifier saying what is wrong."""
    normalized = cusip.strip().upper()
    if not _CUSIP_SHAPE.fullmatch(normalized):
        raise InvalidIdentifier(
            f"{cusip!r} is not a CUSIP: expected 8 letters, digits or *@# and a check digit"
        )
    expected = _cusip_check_digit(normalized[:8])
    if int(normalized[8]) != expected:
        raise InvalidIdentifier(
            f"CUSIP {normalized} has check digit {normalized[8]}, expected {expected}"
        )
    return normalized


def cusip_to_us_isin(cusip: str) -> str:
    """The US ISIN of a validated CUSIP: "US" + CUSIP + ISIN check digit.

    CUSIPs using * @ # (private placements) have no ISIN form, since ISINs are alphanumeric.
    """
    normalized = validate_cusip(cusip)
    if not normalized.isalnum():
        raise InvalidIdentifier(f"CUSIP {normalized} contains * @ or #, which an ISIN cannot hold")
    body = "US" + normalized
    return body + str(_isin_check_digit(body))
