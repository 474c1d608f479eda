"""How endpoints document their failures: every problem code an endpoint can answer, grouped by status,
each with an example, served as application/problem+json (see api/problems.py)."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse
from rest_framework import serializers

from ledger.errors import IdempotencyConflict

from .errors import (ApiKeyExpired, ApiKeyRevoked, AuthenticationRequired, BodyTooLarge, IdempotencyKeyRequired,
                     InsufficientScope,
                     InvalidApiKey, InvalidCursor, InvalidIdempotencyKey, InvalidQuery, MalformedRequest, RateLimited,
                     UnknownParameter)
from .idempotent import HEADER, KEY_PATTERN
from .problems import CONTENT_TYPE, problem


class ProblemFieldErrorSerializer(serializers.Serializer):
    field = serializers.CharField(help_text="Offending field ('' for the body as a whole).", allow_blank=True)
    code = serializers.CharField()
    detail = serializers.CharField()


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField(help_text="urn:shareledger:problem:<code>")
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable name of the failure.")
    instance = serializers.CharField(help_text="Path of the request that failed.")
    errors = ProblemFieldErrorSerializer(many=True, required=False, help_text="Validation failures, one per field.")


@dataclass(frozen=True)
class Failure:
    status: int
    code: str
    detail: str
    field: str | None = None  # validation failures name the offending field

    def example_body(self) -> dict:
        if self.field is None:
            return problem(self.status, self.code, self.detail, "/api/v1/...")
        return problem(self.status, self.code, f"{self.field}: {self.detail}", "/api/v1/...",
                       errors=[{"field": self.field, "code": self.code, "detail": self.detail}])


def failure(error_class, detail: str | None = None) -> Failure:
    """A documented failure from a DomainError subclass; its docstring's first line is the default detail."""
    text = detail or (error_class.__doc__ or error_class.code.replace("_", " ")).strip().splitlines()[0]
    return Failure(error_class.http_status, error_class.code, text)


def field_failure(code: str, field: str, detail: str) -> Failure:
    return Failure(400, code, detail, field)


def problem_responses(*failures: Failure) -> dict:
    """`responses=` entries for extend_schema: one per status, an example per code."""
    by_status: dict[int, list[Failure]] = defaultdict(list)
    for item in failures:
        by_status[item.status].append(item)
    responses = {}
    for status, items in sorted(by_status.items()):
        examples = [OpenApiExample(item.code, value=item.example_body(), status_codes=[status],
                                   media_type=CONTENT_TYPE, response_only=True) for item in items]
        codes = ", ".join(f"`{item.code}`" for item in items)
        responses[(status, CONTENT_TYPE)] = OpenApiResponse(ProblemSerializer, description=f"Problem: {codes}",
                                                            examples=examples)
    return responses


IDEMPOTENCY_PARAMETER = OpenApiParameter(
    HEADER, str, OpenApiParameter.HEADER, required=True, pattern=KEY_PATTERN,
    description="Unique per intended write (a UUID works); keys never expire. A retry with the same key and body "
                "returns the first response; the same key with another body is 409 `idempotency_conflict`. A "
                "refused request is not remembered: fix it and retry with the same key.")
REPLAYED_HEADER = OpenApiParameter(
    "Idempotent-Replayed", str, OpenApiParameter.HEADER, enum=["true", "false"], response=[200, 201, 202],
    description="`true` when this response is the stored answer to an earlier request with the same key.")


# What any endpoint may answer: authentication, scope, rate limit, an undocumented query parameter.
COMMON_FAILURES = (
    failure(AuthenticationRequired, "this endpoint needs Authorization: Bearer <API key>"),
    failure(InvalidApiKey, "unknown API key or wrong secret"),
    failure(ApiKeyExpired, "API key 3f2a... expired"),
    failure(ApiKeyRevoked, "API key 3f2a... was revoked"),
    failure(InsufficientScope, "this call needs an API key with scope mint"),
    failure(RateLimited, "more than 3000 requests per 60 s with this key; retry in 12 s"),
    failure(UnknownParameter, "unknown query parameter(s): stauts"),
)
WRITE_FAILURES = (
    failure(IdempotencyKeyRequired, "writes need an Idempotency-Key header"),
    failure(InvalidIdempotencyKey, "Idempotency-Key must be 8-255 characters: letters, digits, _ . : -"),
    failure(IdempotencyConflict, "idempotency key 'k-123' was already used with a different request"),
    failure(MalformedRequest, "the body is not valid JSON"),
    failure(BodyTooLarge, "the body is larger than 65536 bytes"),
    Failure(400, "invalid_payload", "request.body.description contains a NUL character"),
    Failure(405, "method_not_allowed", 'Method "PUT" not allowed.'),
    Failure(415, "unsupported_media_type", 'Unsupported media type "text/plain" in request.'),
)
# What an endpoint taking a JSON body answers for a key it does not define (a typo such as qty).
UNKNOWN_FIELD = field_failure("unknown_field", "qty", "not a field of this request")
LIST_FAILURES = (
    failure(InvalidQuery, "limit must be an integer from 1 to 200"),
    failure(InvalidCursor, "the cursor is not one this API returned"),
    field_failure("validation_error", "created_after", "Enter a valid date/time."),
)


def document_retry_after(result: dict, generator, request, public) -> dict:
    """drf-spectacular post-processing hook: every 429 answer carries Retry-After (seconds)."""
    for operations in result.get("paths", {}).values():
        for operation in operations.values():
            limited = operation.get("responses", {}).get("429")
            if limited is not None:
                limited["headers"] = {"Retry-After": {
                    "schema": {"type": "integer", "minimum": 1},
                    "description": "Seconds until the rate-limit window resets."}}
    return result
