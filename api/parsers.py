"""JSON bodies parsed exactly: numbers become Decimal, never float, and NaN/Infinity are refused.

Three limits guard the decoder before anything else sees the body:
- Size. The body is read into memory whole; no partner request comes near API_MAX_BODY_BYTES.
- Nesting depth. The C decoder recurses once per `[` or `{`, and py_ecc (imported with the eth libraries)
  raises the recursion limit to 100000, so a body nested deep enough overflows the C stack and kills the
  process instead of raising RecursionError. No partner request nests more than a few levels.
- Number size. A number such as 1e999999999 is a valid Decimal but overflows every later computation on it
  (the idempotency fingerprint normalizes it first); no field of the API takes a number that large or fine.
"""
from __future__ import annotations

import json
import re
from decimal import Decimal
from itertools import accumulate

from django.conf import settings
from rest_framework.parsers import JSONParser

from .errors import BodyTooLarge, MalformedRequest

MAX_DEPTH = 64
# A JSON number fits NUMERIC(38, 18) with room to spare if its adjusted exponent is within +-40 and it has
# at most 40 significant digits; anything beyond is refused rather than guessed at.
MAX_NUMBER_DIGITS = 40
MAX_NUMBER_EXPONENT = 40
# A string, or an unterminated one running to the end (invalid JSON, refused by the decoder next): a match
# that could fail would be retried from every later quote, quadratic in the body's size.
JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*(?:"|\\?\Z)', re.DOTALL)
NOT_A_BRACKET = re.compile(r"[^\[\]{}]+")
BRACKET_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def _number(text: str) -> Decimal:
    number = Decimal(text)
    digits = len(number.as_tuple().digits)
    if digits > MAX_NUMBER_DIGITS or (number != 0 and abs(number.adjusted()) > MAX_NUMBER_EXPONENT):
        raise MalformedRequest(f"the number {text[:50]} is out of range: at most {MAX_NUMBER_DIGITS} digits "
                               f"and magnitudes from 1e-{MAX_NUMBER_EXPONENT} to 1e{MAX_NUMBER_EXPONENT}")
    return number


def nesting_depth(text: str) -> int:
    """How deep arrays and objects nest, counted outside strings. Regular expressions, `accumulate` and
    `map` do the scanning in C, so a multi-megabyte body costs milliseconds, not a Python loop per byte."""
    brackets = NOT_A_BRACKET.sub("", JSON_STRING.sub("", text))
    return max(accumulate(map(BRACKET_STEP.__getitem__, brackets)), default=0)


class ExactJSONParser(JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        encoding = (parser_context or {}).get("encoding", settings.DEFAULT_CHARSET)
        limit = settings.API_MAX_BODY_BYTES
        body = stream.read(limit + 1)
        if len(body) > limit:
            raise BodyTooLarge(f"the body is larger than {limit} bytes")
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError as exc:
            raise MalformedRequest(f"the body is not valid JSON: {exc}") from None
        if nesting_depth(text) > MAX_DEPTH:
            raise MalformedRequest(f"the body nests arrays and objects more than {MAX_DEPTH} levels deep")
        try:
            return json.loads(text, parse_float=_number, parse_int=_number, parse_constant=_refuse_constant)
        except ValueError as exc:
            raise MalformedRequest(f"the body is not valid JSON: {exc}") from None
