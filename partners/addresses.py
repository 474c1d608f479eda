"""EVM address checks shared by partner wallets and issuance.

Why strict: a mistyped wallet receives real tokens forever. A mixed-case address carries an EIP-55 checksum
and must match it; an all-lowercase (or all-uppercase) one carries none and is accepted and checksummed.
"""
from __future__ import annotations

import re

from eth_utils import to_checksum_address

from .errors import InvalidAddress

HEX_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{40}$")
ZERO_ADDRESS = "0x" + "0" * 40


def checksum_address(value: object) -> str:
    """The EIP-55 form of `value`, or InvalidAddress."""
    if not isinstance(value, str) or not HEX_ADDRESS.fullmatch(value):  # fullmatch: "$" accepts a trailing newline
        raise InvalidAddress(f"{value!r} is not a 0x-prefixed 20-byte hex address")
    checksummed = to_checksum_address(value)
    body = value[2:]
    if body != body.lower() and body != body.upper() and value != checksummed:
        raise InvalidAddress(f"{value} fails its EIP-55 checksum (expected {checksummed})")
    if checksummed == ZERO_ADDRESS:
        raise InvalidAddress("the zero address cannot hold tokens")
    return checksummed
