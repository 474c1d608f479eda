"""Named failures of partner management; each `code` is stable and mapped once to an HTTP status."""
from __future__ import annotations

from ledger.errors import DomainError


class PartnerError(DomainError):
    code = "partner_error"


class UnknownPartner(PartnerError):
    code = "unknown_partner"
    http_status = 404


class PartnerExists(PartnerError):
    code = "partner_exists"
    http_status = 409


class InvalidAddress(PartnerError):
    """Not a 20-byte hex address, the zero address, or mixed case that fails the EIP-55 checksum."""

    code = "invalid_address"


class UnknownWallet(PartnerError):
    code = "unknown_wallet"
    http_status = 404


class WalletTaken(PartnerError):
    """The address is already registered to another partner on that network."""

    code = "wallet_taken"
    http_status = 409


class InvalidPartnerField(PartnerError):
    """A KYC status, cap or instrument list that cannot be accepted."""

    code = "invalid_partner_field"
