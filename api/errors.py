"""Every way the partner API refuses a request has a name. Business failures come from the services'
errors (issuance, partners, custody...); these are the API's own: authentication, scopes, idempotency
headers, throttling and request shape. `api.problems` maps all of them, once, to problem+json."""
from __future__ import annotations

from ledger.errors import DomainError


class ApiError(DomainError):
    code = "api_error"


class AuthenticationRequired(ApiError):
    code = "authentication_required"
    http_status = 401


class InvalidApiKey(ApiError):
    """Malformed key, unknown prefix or wrong secret: the answer does not say which."""

    code = "invalid_api_key"
    http_status = 401


class ApiKeyExpired(ApiError):
    code = "api_key_expired"
    http_status = 401


class ApiKeyRevoked(ApiError):
    code = "api_key_revoked"
    http_status = 401


class InsufficientScope(ApiError):
    code = "insufficient_scope"
    http_status = 403


class NotFound(ApiError):
    """No such object for this partner. Another partner's object is also 'not found', never 'forbidden'."""

    code = "not_found"
    http_status = 404


class IdempotencyKeyRequired(ApiError):
    code = "idempotency_key_required"
    http_status = 400


class InvalidIdempotencyKey(ApiError):
    code = "invalid_idempotency_key"
    http_status = 400


class MalformedRequest(ApiError):
    """The body is not a JSON object (or not JSON at all)."""

    code = "malformed_request"
    http_status = 400


class BodyTooLarge(ApiError):
    """DRF reads a body straight from the stream, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE never applies to it."""

    code = "body_too_large"
    http_status = 413


class InvalidQuery(ApiError):
    """A query parameter that is not one of its documented values (limit, ordering)."""

    code = "invalid_query"
    http_status = 400


class UnknownParameter(ApiError):
    """A query parameter the endpoint does not define (a typo would otherwise silently widen a filter)."""

    code = "unknown_parameter"
    http_status = 400


class InvalidCursor(ApiError):
    code = "invalid_cursor"
    http_status = 400


class RateLimited(ApiError):
    code = "rate_limited"
    http_status = 429

    def __init__(self, message: str, retry_after_seconds: int):
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class UnknownApiKey(ApiError):
    code = "unknown_api_key"
    http_status = 404


class InvalidScopes(ApiError):
    code = "invalid_scopes"


class InvalidKeyExpiry(ApiError):
    code = "invalid_key_expiry"


class ApiKeyStateConflict(ApiError):
    """Rotating or revoking a key that is already revoked (or was already rotated)."""

    code = "api_key_state_conflict"
    http_status = 409


class InvalidWebhookUrl(ApiError):
    code = "invalid_webhook_url"


class TooManyWebhookEndpoints(ApiError):
    code = "too_many_webhook_endpoints"
    http_status = 409

