"""Writes take an Idempotency-Key header: one mechanism with the ledger (`ledger.idempotency`).

Scope `api:<partner id>`, key = the header, fingerprint = method + path + canonical JSON body. Inside one
transaction: lock the key (a concurrent retry waits here), replay the stored first response if the key was
seen with the same request (IdempotencyConflict if with another), else run the handler and remember its
status and body with the objects it created, so both commit or neither does.

Only successful responses are remembered. A request the API or a service rejects rolls back entirely,
key included: nothing persists, and the partner can fix the cause and retry with the same key.

Fields a handler names `shown_once` (a webhook signing secret) are in the first response only: the stored
answer, which the idempotency table keeps forever and replays to anyone holding the key, omits them.
"""
from __future__ import annotations

import functools
import re

from django.db import transaction
from django.http import HttpResponse
from rest_framework.renderers import JSONRenderer

from ledger import idempotency

from .errors import IdempotencyKeyRequired, InvalidIdempotencyKey

HEADER = "Idempotency-Key"
KEY_PATTERN = r"^[A-Za-z0-9_.:-]{8,255}$"
KEY_RE = re.compile(KEY_PATTERN)


def _response(status: int, body: str, replayed: bool) -> HttpResponse:
    response = HttpResponse(body, status=status, content_type="application/json")
    response["Idempotent-Replayed"] = "true" if replayed else "false"
    return response


def idempotent(handler=None, *, shown_once: tuple[str, ...] = ()):
    """Decorate a write handler (view method) returning a DRF Response with JSON-ready data; as
    `@idempotent(shown_once=("secret",))` to keep those response fields out of the stored replay."""
    if handler is None:
        return functools.partial(idempotent, shown_once=shown_once)

    @functools.wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            raise IdempotencyKeyRequired(f"writes need an {HEADER} header (8-255 characters: letters, digits, _ . : -)")
        if not KEY_RE.fullmatch(key):
            raise InvalidIdempotencyKey(f"{HEADER} must be 8-255 characters: letters, digits, _ . : -")
        scope = f"api:{request.auth.partner_id}"
        request_hash = idempotency.fingerprint({"method": request.method, "path": request.path, "body": request.data})
        with transaction.atomic():
            idempotency.lock_key(scope, key)
            earlier = idempotency.lookup(scope, key, request_hash)
            if earlier is not None:
                return _response(earlier["status"], earlier["body"], replayed=True)
            response = handler(view, request, *args, **kwargs)
            body = JSONRenderer().render(response.data).decode("utf-8")
            stored = JSONRenderer().render({name: value for name, value in response.data.items()
                                            if name not in shown_once}).decode("utf-8")
            idempotency.remember(scope, key, request_hash, {"status": response.status_code, "body": stored})
        return _response(response.status_code, body, replayed=False)

    return wrapper
