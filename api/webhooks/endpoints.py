"""Registering and disabling webhook endpoints: the only writer of WebhookEndpoint rows.

Why the URL checks: the deliverer POSTs from inside our network, so in production an endpoint must be
https and must not resolve to a private, loopback or link-local address (server-side request forgery).
Through API_WEBHOOK_PROXY_URL the proxy resolves the host, and our own resolver may know no public name at
all (a network whose only way out is the proxy): a host we cannot resolve is then left to the proxy, which must
refuse non-public destinations; one our resolver places outside the public internet is still refused here.
Dev and tests (API_WEBHOOK_ALLOW_INSECURE) deliver to 127.0.0.1 over http.
"""
from __future__ import annotations

import ipaddress
import secrets
import socket
from urllib.parse import urlparse

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ledger.locks import transaction_lock

from ..errors import InvalidWebhookUrl, TooManyWebhookEndpoints
from ..models import WebhookEndpoint

SECRET_TAG = "whsec_"


def check_url(url: str) -> None:
    """InvalidWebhookUrl unless the URL is one we may POST to."""
    try:
        parsed = urlparse(url)
        port = parsed.port or 443
    except ValueError:  # a bracketed host left open, a port beyond 65535...
        raise InvalidWebhookUrl("webhook URL is malformed") from None
    allowed_schemes = {"https", "http"} if settings.API_WEBHOOK_ALLOW_INSECURE else {"https"}
    if parsed.scheme not in allowed_schemes or not parsed.hostname:
        raise InvalidWebhookUrl(f"webhook URL must be an absolute {' or '.join(sorted(allowed_schemes))} URL")
    if parsed.username or parsed.password:
        raise InvalidWebhookUrl("webhook URL must not carry credentials")
    if settings.API_WEBHOOK_ALLOW_INSECURE:
        return
    if settings.API_WEBHOOK_PROXY_URL:
        _refuse_non_public(parsed.hostname, _resolve(parsed.hostname, port) or [])
    else:
        allowed_addresses(parsed.hostname, port)


def allowed_addresses(host: str, port: int) -> list[str]:
    """The host's addresses from one DNS resolution, InvalidWebhookUrl unless we may connect to every one.
    The deliverer connects only to an address of this list (egress.py): resolving again could give another
    answer (DNS rebinding, a zero TTL), one that was never checked."""
    addresses = _resolve(host, port)
    if addresses is None:
        raise InvalidWebhookUrl(f"webhook host {host!r} does not resolve")
    if not settings.API_WEBHOOK_ALLOW_INSECURE:
        _refuse_non_public(host, addresses)
    return addresses


def _resolve(host: str, port: int) -> list[str] | None:
    """The host's addresses in the resolver's order of preference, None when our resolver has no answer.
    InvalidWebhookUrl for a name no resolver could look up (a label too long for DNS...)."""
    try:
        answers = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except UnicodeError:
        raise InvalidWebhookUrl(f"webhook host {host!r} does not resolve") from None
    except socket.gaierror:
        return None
    return list(dict.fromkeys(answer[4][0] for answer in answers))


def _refuse_non_public(host: str, addresses: list[str]) -> None:
    for address in addresses:
        if not ipaddress.ip_address(address.split("%")[0]).is_global:
            raise InvalidWebhookUrl(f"webhook host {host!r} resolves to a non-public address")


def register_endpoint(partner_id: str, url: str, description: str = "") -> WebhookEndpoint:
    """A new active endpoint with a fresh signing secret (`endpoint.secret`, to be shown to the partner once).
    Registrations of one partner take turns (a transaction-scoped lock): counted concurrently, two could both
    see room for one more endpoint."""
    check_url(url)
    with transaction.atomic():
        transaction_lock("api", f"webhook-endpoints:{partner_id}")
        active = WebhookEndpoint.objects.filter(partner_id=partner_id, active=True).count()
        if active >= settings.API_WEBHOOK_MAX_ENDPOINTS:
            raise TooManyWebhookEndpoints(
                f"a partner may have at most {settings.API_WEBHOOK_MAX_ENDPOINTS} active endpoints")
        return WebhookEndpoint.objects.create(partner_id=partner_id, url=url, description=description,
                                              secret=SECRET_TAG + secrets.token_urlsafe(32))


def disable_endpoint(endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Stop delivering to it; its delivery log stays readable. Disabling twice changes nothing."""
    if endpoint.active:
        endpoint.active = False
        endpoint.disabled_at = timezone.now()
        endpoint.save(update_fields=["active", "disabled_at"])
    return endpoint
