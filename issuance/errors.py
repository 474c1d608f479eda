"""Every way issuance refuses or fails has a name; `code` is stable (API problem+json, command line, events)."""
from __future__ import annotations

from ledger.errors import DomainError
from partners.errors import InvalidAddress, UnknownPartner

__all__ = [
    "IssuanceError", "InsufficientReserves", "InstrumentPaused", "WalletNotAllowlisted", "CapExceeded",
    "InvalidQuantity", "UnknownInstrument", "UnknownNetwork", "InvalidAddress", "SelfApproval",
    "SecondApprovalRequired", "InvalidState", "UnknownPartner", "KycNotApproved", "InstrumentNotAllowed",
    "TokenNotDeployed", "UnknownRequest", "DepositNotFound", "SignerNotConfigured", "BrokerCallFailed",
    "DeploymentExists", "InvalidItnRequest", "SharesPending", "NoSharesOwed", "SharesAlreadyReturned",
    "BurnNotFinal", "RedeemAlreadyFiled", "DepositNotWholeShares",
]


class IssuanceError(DomainError):
    code = "issuance_error"


class InsufficientReserves(IssuanceError):
    """Tokens outstanding + in flight + this mint would exceed shares in custody."""

    code = "insufficient_reserves"
    http_status = 409


class InstrumentPaused(IssuanceError):
    code = "instrument_paused"
    http_status = 409


class WalletNotAllowlisted(IssuanceError):
    code = "wallet_not_allowlisted"
    http_status = 403


class CapExceeded(IssuanceError):
    code = "cap_exceeded"
    http_status = 422


class InvalidQuantity(IssuanceError):
    code = "invalid_quantity"


class UnknownInstrument(IssuanceError):
    code = "unknown_instrument"
    http_status = 404


class UnknownNetwork(IssuanceError):
    code = "unknown_network"


class TokenNotDeployed(IssuanceError):
    code = "token_not_deployed"
    http_status = 409


class DeploymentExists(IssuanceError):
    code = "deployment_exists"
    http_status = 409


class KycNotApproved(IssuanceError):
    code = "kyc_not_approved"
    http_status = 403


class InstrumentNotAllowed(IssuanceError):
    code = "instrument_not_allowed"
    http_status = 403


class SelfApproval(IssuanceError):
    code = "self_approval"
    http_status = 403


class SecondApprovalRequired(IssuanceError):
    code = "second_approval_required"
    http_status = 409


class InvalidState(IssuanceError):
    """The request is not in a state that allows this step (e.g. cancelling after the mint was signed)."""

    code = "invalid_state"
    http_status = 409


class UnknownRequest(IssuanceError):
    code = "unknown_request"
    http_status = 404


class DepositNotFound(IssuanceError):
    """No matching Transfer to the redemption wallet in that transaction (or it is not deep enough yet)."""

    code = "deposit_not_found"
    http_status = 422


class SignerNotConfigured(IssuanceError):
    code = "signer_not_configured"
    http_status = 500


class BrokerCallFailed(IssuanceError):
    code = "broker_call_failed"
    http_status = 502


class InvalidItnRequest(IssuanceError):
    """A mint request in the ITN shape that lacks a field or names another issuer."""

    code = "invalid_itn_request"


class SharesPending(IssuanceError):
    """The broker order buying (or selling) the shares of this request is not filled yet; call again later."""

    code = "shares_pending"
    http_status = 409


class BurnNotFinal(IssuanceError):
    """The burn is still within the network's reorg window, where a reorg can undo it; shares are released after."""

    code = "burn_not_final"
    http_status = 409


class NoSharesOwed(IssuanceError):
    """The mint ended (rejected, cancelled, failed) before any shares were secured for it: none to give back."""

    code = "no_shares_owed"
    http_status = 409


class SharesAlreadyReturned(IssuanceError):
    """The shares of this cancelled or failed mint were already recorded as returned to the partner."""

    code = "shares_already_returned"
    http_status = 409


class RedeemAlreadyFiled(IssuanceError):
    """The deposit was already filed (or picked up) with another release method; it is not changed."""

    code = "redeem_already_filed"
    http_status = 409


class DepositNotWholeShares(IssuanceError):
    """A held deposit of tokens that are not an exact number of shares cannot be burned: the burn would destroy
    every token but release only the whole shares, and the ledger's supply would drift from the chain's."""

    code = "deposit_not_whole_shares"
    http_status = 409
