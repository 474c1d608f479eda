"""Builders for API tests: instruments through custody, partners through partners, keys through api.keys,
and a small HTTP client that speaks to the real app (Django's test client) as a partner would."""
from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from django.test import Client

from api import keys
from custody.identifiers import InvalidIdentifier, validate_isin
from custody.instruments import create_instrument
from custody.models import Instrument

OPS = "user:test-ops"


def valid_isin(body: str) -> str:
    """An ISIN with a correct check digit for an 11-character body (tries the ten digits)."""
    for digit in "0123456789":
        try:
            return validate_isin(body + digit)
        except InvalidIdentifier:
            continue
    raise AssertionError(f"no check digit fits {body}")


def make_instrument(unique: str, prefix: str = "A") -> Instrument:
    symbol = prefix + unique[:6].upper()
    return create_instrument(symbol, f"{symbol} Holdings", valid_isin("XS" + unique[:9].upper()), actor=OPS)


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class PartnerClient:
    """A partner integrating with the API: every call carries its bearer key."""

    def __init__(self, token: str, partner_id: str):
        self.token = token
        self.partner_id = partner_id
        self.client = Client()

    def _headers(self, idempotency_key: str | None, extra: dict | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        return {**headers, **(extra or {})}

    def _wrap(self, response) -> Response:
        return Response(response.status_code, dict(response.headers), response.content)

    def get(self, path: str, params: dict | None = None, headers: dict | None = None) -> Response:
        return self._wrap(self.client.get(path, params or {}, headers=self._headers(None, headers)))

    def post(self, path: str, body: Any = None, idempotency_key: str | None = "auto", raw: bytes | None = None,
             headers: dict | None = None) -> Response:
        if idempotency_key == "auto":
            idempotency_key = str(uuid.uuid4())
        data = raw if raw is not None else json.dumps(body if body is not None else {})
        return self._wrap(self.client.post(path, data, content_type="application/json",
                                           headers=self._headers(idempotency_key, headers)))

    def delete(self, path: str, idempotency_key: str | None = "auto") -> Response:
        if idempotency_key == "auto":
            idempotency_key = str(uuid.uuid4())
        return self._wrap(self.client.delete(path, headers=self._headers(idempotency_key, None)))


def client_for(partner_id: str, scopes=("read", "mint", "redeem")) -> PartnerClient:
    issued = keys.create_api_key(partner_id, scopes=scopes, actor=OPS)
    return PartnerClient(issued.token, partner_id)
