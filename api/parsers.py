"""JSON bodies parsed exactly: numbers become Decimal, never float, and NaN/Infinity are refused."""
from __future__ import annotations

import json
from decimal import Decimal

from django.conf import settings
from rest_framework.parsers import JSONParser

from .errors import MalformedRequest


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


class ExactJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        try:
            return json.loads(stream.read().decode(encoding), parse_float=Decimal, parse_int=Decimal,
                              parse_constant=_refuse_constant)
        except (ValueError, UnicodeDecodeError) as exc:
            raise MalformedRequest(f"the body is not valid JSON: {exc}") from None
