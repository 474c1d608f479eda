"""Every failure of the partner API is an RFC 9457 problem document, mapped here and only here.

    {"type": "urn:shareledger:problem:insufficient_reserves", "title": "Insufficient reserves", "status": 409,
     "detail": "...", "code": "insufficient_reserves", "instance": "/api/v1/mint-requests"}

`code` is the stable machine-readable name (a DomainError's `code`); validation failures add `errors`, one
entry per offending field. Anything unexpected is logged and answered as a 500 `internal_error` problem, so
even a bug never leaks a stack trace or an HTML page to a partner.
"""
from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import set_rollback

from chain.errors import ChainError
from ledger.errors import DomainError

from .errors import RateLimited

logger = logging.getLogger(__name__)

CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:shareledger:problem:"
# DRF's generic field codes; anything else a field reports is one of our specific codes (invalid_quantity...).
GENERIC_FIELD_CODES = {"invalid", "required", "null", "blank", "max_length", "min_length", "max_value", "min_value",
                       "invalid_choice", "not_a_list", "empty", "max_digits", "max_decimal_places",
                       "max_whole_digits", "max_string_length", "does_not_exist", "incorrect_type", "unique",
                       "date", "datetime", "make_aware", "overflow", "parse_error"}
DRF_CODES = {
    exceptions.NotAuthenticated: "authentication_required",
    exceptions.AuthenticationFailed: "invalid_api_key",
    exceptions.PermissionDenied: "insufficient_scope",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.ParseError: "malformed_request",
    exceptions.Throttled: "rate_limited",
}


def problem(status: int, code: str, detail: str, instance: str, **extra: Any) -> dict[str, Any]:
    return {"type": TYPE_PREFIX + code, "title": code.replace("_", " ").capitalize(), "status": status,
            "detail": detail, "code": code, "instance": instance, **extra}


def _field_errors(detail: Any, path: str = "") -> list[dict[str, str]]:
    """DRF's nested error detail -> [{"field": "quantity", "code": "invalid_quantity", "detail": "..."}]."""
    if isinstance(detail, dict):
        return [error for key, value in detail.items()
                for error in _field_errors(value, f"{path}.{key}" if path else str(key))]
    if isinstance(detail, list):
        if all(isinstance(item, exceptions.ErrorDetail) for item in detail):
            field = "" if path in ("non_field_errors", "") else path
            return [{"field": field, "code": item.code or "invalid", "detail": str(item)} for item in detail]
        return [error for index, item in enumerate(detail) for error in _field_errors(item, f"{path}[{index}]")]
    return [{"field": path, "code": getattr(detail, "code", None) or "invalid", "detail": str(detail)}]


def _validation_problem(exc: exceptions.ValidationError, instance: str) -> dict[str, Any]:
    errors = _field_errors(exc.detail)
    codes = {error["code"] for error in errors}
    # One specific failure (every error is invalid_quantity, say) is named as such; anything else is generic.
    code = next(iter(codes)) if len(codes) == 1 and not codes & GENERIC_FIELD_CODES else "validation_error"
    summary = "; ".join(f"{e['field']}: {e['detail']}" if e["field"] else e["detail"] for e in errors)
    return problem(400, code, summary or "the request is invalid", instance, errors=errors)


def exception_handler(exc: Exception, context: dict) -> Response:
    request = context.get("request")
    instance = request.path if request is not None else ""
    headers: dict[str, str] = {}
    if isinstance(exc, Http404):
        exc = exceptions.NotFound("no such object")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or "not allowed")

    if isinstance(exc, DomainError):
        body = problem(exc.http_status, exc.code, exc.message, instance)
        if isinstance(exc, RateLimited):
            headers["Retry-After"] = str(exc.retry_after_seconds)
    elif isinstance(exc, ChainError):  # the node did not answer or refused: ours to retry, not the partner's fault
        logger.warning("chain error in %s: %s", instance, exc)
        body = problem(503, exc.code, "the network's RPC endpoint did not answer; retry later", instance)
    elif isinstance(exc, exceptions.ValidationError):
        body = _validation_problem(exc, instance)
    elif isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in DRF_CODES.items() if isinstance(exc, cls)), exc.default_code)
        body = problem(exc.status_code, code, str(exc.detail), instance)
        if getattr(exc, "wait", None):
            headers["Retry-After"] = str(int(exc.wait + 0.999))
    else:
        logger.exception("unhandled error in %s %s", request.method if request else "?", instance)
        body = problem(500, "internal_error", "an unexpected error occurred; it has been logged", instance)
    if body["status"] == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="shareledger partner API"'
    set_rollback()
    return Response(body, status=body["status"], headers=headers, content_type=CONTENT_TYPE)


@csrf_exempt  # no cookie-authenticated state here: a DELETE to an unknown path is a 404, not a CSRF failure
def not_found_view(request, *args, **kwargs) -> JsonResponse:
    """Unknown paths under /api/ answer a problem document too, not Django's HTML page."""
    body = problem(404, "not_found", f"no API endpoint at {request.path}", request.path)
    return JsonResponse(body, status=404, content_type=CONTENT_TYPE)
