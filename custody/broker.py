"""The Alpaca client of a custody account, and the one retry policy every broker call goes through.

alpaca-py 0.44 sends requests without a timeout (a stalled broker would hang a sync forever) and retries
429/504 itself three times with a fixed 3 s pause that ignores Retry-After. We give its session a default
timeout, switch its own retries off, and retry here instead: on timeouts, dropped connections, damaged
bodies, 429 (honouring Retry-After up to a cap) and 5xx, with exponential backoff, a bounded number of
times, then `BrokerUnavailable`. Any other 4xx is `BrokerRefused` at once.

Clients are created with `raw_data=True`: answers stay the broker's JSON, so decimals are the broker's
exact strings (alpaca-py's models type some of them as float) and observations can be hashed over what the
broker actually said.
"""
from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable
from typing import TypeVar

import requests
from alpaca.common.exceptions import APIError
from alpaca.trading.client import TradingClient
from django.conf import settings

from .errors import BrokerCredentialsMissing, BrokerRefused, BrokerUnavailable, WrongAccountKind
from .models import CustodyAccount

log = logging.getLogger(__name__)
Answer = TypeVar("Answer")



class DamagedAnswer(ValueError):
    """A 2xx answer whose body is not the shape the endpoint promises (retried like a dropped connection)."""


RETRYABLE_STATUSES = frozenset({429, 500, 502, 503, 504})
TRANSIENT_FAILURES = (requests.exceptions.Timeout, requests.exceptions.ConnectionError,
                      requests.exceptions.ChunkedEncodingError, requests.exceptions.JSONDecodeError, DamagedAnswer)
NOT_FOUND = 404


def alpaca_client(account: CustodyAccount) -> TradingClient:
    """A TradingClient for an Alpaca custody account: credentials from the environment variables the account
    names, its base_url when set (the sandbox), else Alpaca's paper or live URL."""
    if account.kind != CustodyAccount.Kind.ALPACA:
        raise WrongAccountKind(f"custody account {account.name} is a {account.kind} account, not an Alpaca account")
    key_id, secret_key = os.environ.get(account.api_key_env, ""), os.environ.get(account.api_secret_env, "")
    if not key_id or not secret_key:
        raise BrokerCredentialsMissing(
            f"custody account {account.name}: set {account.api_key_env} and {account.api_secret_env} in the environment")
    client = TradingClient(key_id, secret_key, paper=account.paper, raw_data=True,
                           url_override=account.base_url.rstrip("/") or None)
    client._retry = 0  # our retry policy below replaces alpaca-py's fixed-wait one
    client._session.request = functools.partial(client._session.request,
                                                timeout=settings.CUSTODY_BROKER_TIMEOUT_SECONDS)
    return client


def broker_error_code(error: APIError) -> int | None:
    """Alpaca's numeric error code from the body, when the body is Alpaca's JSON."""
    try:
        return int(json.loads(str(error))["code"])
    except (ValueError, KeyError, TypeError):
        return None


def is_not_found(error: Exception) -> bool:
    return isinstance(error, BrokerRefused) and error.status == NOT_FOUND


def call_broker(what: str, call: Callable[[], Answer]) -> Answer:
    """`call()` with the retry policy; `what` names the request in errors ("list activities of alpaca-main")."""
    attempts = settings.CUSTODY_BROKER_MAX_ATTEMPTS
    attempt = 1
    while True:
        try:
            return call()
        except APIError as error:
            status = error.status_code
            if status not in RETRYABLE_STATUSES:
                raise BrokerRefused(f"{what}: the broker refused with HTTP {status}: {_short(error)}",
                                    status or 0, broker_error_code(error)) from error
            failure, retry_after = f"HTTP {status}", _retry_after_seconds(error)
        except TRANSIENT_FAILURES as error:
            failure, retry_after = f"{type(error).__name__}: {str(error)[:120]}", None
        if attempt >= attempts:
            raise BrokerUnavailable(f"{what}: no usable answer from the broker after {attempts} attempts "
                                    f"(last: {failure})")
        pause = backoff_seconds(attempt, retry_after)
        log.warning("%s: %s, retrying in %.2f s (attempt %d of %d)", what, failure, pause, attempt + 1, attempts)
        time.sleep(pause)
        attempt += 1


def backoff_seconds(attempt: int, retry_after: float | None = None) -> float:
    """Exponential backoff from CUSTODY_BROKER_BACKOFF_SECONDS, or the broker's Retry-After; both capped."""
    wanted = retry_after if retry_after is not None else settings.CUSTODY_BROKER_BACKOFF_SECONDS * 2 ** (attempt - 1)
    return min(wanted, settings.CUSTODY_BROKER_MAX_BACKOFF_SECONDS)


def _retry_after_seconds(error: APIError) -> float | None:
    response = error.response
    header = response.headers.get("Retry-After") if response is not None else None
    try:
        return max(float(header), 0.0) if header else None
    except ValueError:
        return None


def _short(error: APIError) -> str:
    text = str(error).strip().replace("\n", " ")
    return text[:200]
