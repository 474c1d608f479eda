"""Partner API keys: the only writer of ApiKey rows and of the api_key/<prefix> stream.

A key reads `slk_<prefix>_<secret>`. The prefix is public (it names the key in logs, the admin and the
ledger); the secret has 256 bits of entropy, is shown once and stored only as its SHA-256. A slow password
hash (PBKDF2, bcrypt) protects low-entropy human passwords against guessing; against a 256-bit random secret
guessing is already hopeless, and a fast hash keeps authentication at microseconds per request.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from ledger import store
from ledger.store import NewEvent, StreamAppend
from partners import services as partner_services

from .errors import (ApiKeyExpired, ApiKeyRevoked, ApiKeyStateConflict, InvalidApiKey, InvalidKeyExpiry, InvalidScopes,
                     UnknownApiKey)
from .models import ApiKey

KEY_TAG = "slk"
STREAM_TYPE = "api_key"
ALL_SCOPES = tuple(ApiKey.Scope.values)
LAST_USED_RESOLUTION = timedelta(minutes=1)  # last_used_at is written at most this often per key


@dataclass(frozen=True)
class IssuedKey:
    """A key just created: `token` is the full key, the only time anyone sees the secret."""

    api_key: ApiKey
    token: str


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def parse_scopes(scopes: Iterable[str]) -> list[str]:
    cleaned = sorted({str(scope).strip().lower() for scope in scopes if str(scope).strip()})
    unknown = [scope for scope in cleaned if scope not in ALL_SCOPES]
    if unknown or not cleaned:
        raise InvalidScopes(f"scopes must be a non-empty subset of {', '.join(ALL_SCOPES)}; got {', '.join(cleaned) or 'none'}")
    return cleaned


def _new_key(partner_id: str, scopes: list[str], expires_at: datetime | None, actor: str,
             rotated_from: ApiKey | None, now: datetime) -> tuple[IssuedKey, NewEvent]:
    prefix, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(partner_id=partner_id, prefix=prefix, secret_sha256=_hash(secret), scopes=scopes,
                                    created_at=now, created_by=actor, expires_at=expires_at, rotated_from=rotated_from)
    event = NewEvent("api_key_created", {
        "partner_id": partner_id, "prefix": prefix, "scopes": scopes, "expires_at": expires_at,
        "rotated_from": rotated_from.prefix if rotated_from else None,
    })
    return IssuedKey(api_key, f"{KEY_TAG}_{prefix}_{secret}"), event


def create_api_key(partner_id: str, *, scopes: Iterable[str], actor: str,
                   expires_at: datetime | None = None) -> IssuedKey:
    """A new key for one partner (UnknownPartner if there is none)."""
    partner = partner_services.get_partner(partner_id)
    scope_list = parse_scopes(scopes)
    now = timezone.now()
    if expires_at is not None and expires_at <= now:
        raise InvalidKeyExpiry(f"expires_at {expires_at.isoformat()} is not in the future")
    with transaction.atomic():
        issued, event = _new_key(partner.id, scope_list, expires_at, actor, None, now)
        store.append(STREAM_TYPE, issued.api_key.prefix, [event], metadata={"actor": actor, "partner": partner.id},
                     expected_version=0)
    return issued


def _live_for_change(prefix: str) -> ApiKey:
    api_key = ApiKey.objects.select_for_update().filter(prefix=prefix.removeprefix(f"{KEY_TAG}_")).first()
    if api_key is None:
        raise UnknownApiKey(f"no API key with prefix {prefix!r}")
    if api_key.revoked_at is not None:
        raise ApiKeyStateConflict(f"API key {api_key.prefix} was revoked at {api_key.revoked_at.isoformat()}")
    if ApiKey.objects.filter(rotated_from=api_key).exists():
        raise ApiKeyStateConflict(f"API key {api_key.prefix} was already rotated")
    return api_key


def rotate_api_key(prefix: str, *, actor: str, grace: timedelta = timedelta(hours=24)) -> IssuedKey:
    """A new key with the same partner and scopes; the old one keeps working for `grace`, then expires.
    The grace period lets a partner deploy the new key without an outage; zero grace cuts it at once."""
    now = timezone.now()
    with transaction.atomic():
        old = _live_for_change(prefix)
        old_until = now + grace
        if old.expires_at is not None and old.expires_at < old_until:
            old_until = old.expires_at
        issued, created = _new_key(old.partner_id, list(old.scopes), old.expires_at, actor, old, now)
        old.expires_at = old_until
        old.save(update_fields=["expires_at"])
        rotated = NewEvent("api_key_rotated", {"replaced_by": issued.api_key.prefix, "expires_at": old_until})
        store.append_many([StreamAppend(STREAM_TYPE, old.prefix, [rotated]),
                           StreamAppend(STREAM_TYPE, issued.api_key.prefix, [created], expected_version=0)],
                          metadata={"actor": actor, "partner": old.partner_id})
    return issued


def revoke_api_key(prefix: str, *, actor: str, reason: str = "") -> ApiKey:
    """Stop a key now (leaked, partner offboarded). Requests with it answer 401 api_key_revoked."""
    with transaction.atomic():
        api_key = ApiKey.objects.select_for_update().filter(prefix=prefix.removeprefix(f"{KEY_TAG}_")).first()
        if api_key is None:
            raise UnknownApiKey(f"no API key with prefix {prefix!r}")
        if api_key.revoked_at is not None:
            raise ApiKeyStateConflict(f"API key {api_key.prefix} is already revoked")
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
        store.append(STREAM_TYPE, api_key.prefix, [NewEvent("api_key_revoked", {"reason": reason})],
                     metadata={"actor": actor, "partner": api_key.partner_id})
    return api_key


# Every request authenticates: one indexed lookup by prefix, in SQL, since compiling the equivalent ORM query
# costs about ten times more CPU than running it.
FIND_KEY_SQL = ("SELECT id, partner_id, prefix, secret_sha256, scopes::text, expires_at, revoked_at, last_used_at"
                " FROM api_apikey WHERE prefix = %s")


def _find_key(prefix: str) -> ApiKey | None:
    with connection.cursor() as cursor:
        cursor.execute(FIND_KEY_SQL, [prefix])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, partner_id, prefix, secret_sha256, scopes, expires_at, revoked_at, last_used_at = row
    return ApiKey(id=pk, partner_id=partner_id, prefix=prefix, secret_sha256=secret_sha256, scopes=json.loads(scopes),
                  expires_at=expires_at, revoked_at=revoked_at, last_used_at=last_used_at)


def authenticate(token: str) -> ApiKey:
    """The live key behind a bearer token; a named error otherwise."""
    tag, _, rest = token.partition("_")
    prefix, _, secret = rest.partition("_")
    if tag != KEY_TAG or not prefix or not secret or len(token) > 200:
        raise InvalidApiKey("the bearer token is not a shareledger API key (slk_<prefix>_<secret>)")
    api_key = _find_key(prefix)
    # Compare even when the prefix is unknown, so timing does not tell which prefixes exist.
    expected = api_key.secret_sha256 if api_key else "0" * 64
    if not hmac.compare_digest(expected, _hash(secret)) or api_key is None:
        raise InvalidApiKey("unknown API key or wrong secret")
    now = timezone.now()
    if api_key.revoked_at is not None:
        raise ApiKeyRevoked(f"API key {prefix} was revoked")
    if api_key.expires_at is not None and api_key.expires_at <= now:
        raise ApiKeyExpired(f"API key {prefix} expired at {api_key.expires_at.isoformat()}")
    if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_RESOLUTION:
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key
