"""`Authorization: Bearer slk_<prefix>_<secret>`: the request acts as the key's partner, within its scopes."""
from __future__ import annotations

from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from . import keys
from .errors import AuthenticationRequired, InsufficientScope
from .models import ApiKey


class PartnerPrincipal:
    """What `request.user` is on the partner API: the partner behind the key (never a Django user)."""

    is_authenticated = True
    is_anonymous = False

    def __init__(self, api_key: ApiKey):
        self.partner_id = api_key.partner_id

    def __str__(self) -> str:
        return f"partner:{self.partner_id}"


class ApiKeyAuthentication(BaseAuthentication):
    keyword = "Bearer"

    def authenticate(self, request):
        header = request.headers.get("Authorization")
        if not header:
            return None  # the permission answers 401 authentication_required (or lets public endpoints through)
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationRequired("use Authorization: Bearer <API key>")
        api_key = keys.authenticate(token.strip())
        return PartnerPrincipal(api_key), api_key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="shareledger partner API"'


class HasScope(BasePermission):
    """The key must carry the scope the view names for this method (`required_scopes = {"GET": "read"}`).

    A view may accept one of several scopes: registering a wallet serves minting and redeeming alike."""

    def has_permission(self, request, view) -> bool:
        if not isinstance(request.auth, ApiKey):
            raise AuthenticationRequired("this endpoint needs Authorization: Bearer <API key>")
        method = "GET" if request.method == "HEAD" else request.method
        needed = view.required_scopes.get(method, view.required_scopes.get("*"))
        if needed is None:
            return True
        accepted = {needed} if isinstance(needed, str) else set(needed)
        if not accepted & set(request.auth.scopes):
            raise InsufficientScope(f"this call needs an API key with scope {' or '.join(sorted(accepted))}")
        return True


def actor(request) -> str:
    """metadata.actor for events caused by a partner's request."""
    return f"partner:{request.auth.partner_id}"
