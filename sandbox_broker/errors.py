"""Every refusal the sandbox gives, named, with the HTTP status and body Alpaca sends for it.

Alpaca's error body is `{"code": 40410000, "message": "..."}`; alpaca-py's APIError reads both keys, and
some refusals carry extra keys (insufficient qty names the symbol and what is available). The one body
without a code is the gateway's `{"message": "forbidden."}` for requests that carry no API key at all.
"""
from __future__ import annotations


class BrokerError(Exception):
    """A refusal with Alpaca's status, code and message."""

    status = 500
    code: int | None = 50010000

    def __init__(self, message: str, **extra: object) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict:
        payload: dict = {"code": self.code, "message": self.message} if self.code is not None else {"message": self.message}
        payload.update(self.extra)
        return payload


class BadRequest(BrokerError):
    status, code = 400, 40010000


class MissingCredentials(BrokerError):
    status, code = 403, None


class NotAuthorized(BrokerError):
    status, code = 401, 40110000


class Forbidden(BrokerError):
    status, code = 403, 40310000


class InsufficientBuyingPower(Forbidden):
    pass


class InsufficientQty(Forbidden):
    pass


class NotFound(BrokerError):
    status, code = 404, 40410000


class MethodNotAllowed(BrokerError):
    status, code = 405, 40510000


class InvalidRequest(BrokerError):
    """A parameter Alpaca refuses as invalid (422, code 40010001)."""

    status, code = 422, 40010001


class DuplicateClientOrderId(InvalidRequest):
    pass


class OrderNotCancelable(BrokerError):
    status, code = 422, 42210000


class TokenizationFieldsInvalid(BrokerError):
    """The tokenization endpoints' own 422 code, e.g. "issuer is required, network is required"."""

    status, code = 422, 42210001


class IdempotencyKeyReused(BrokerError):
    status, code = 422, 42210000


class TokenizationRejected(BadRequest):
    """Alpaca's 400 for a mint or redeem it cannot carry out (insufficient position, wrong account)."""
