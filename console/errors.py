"""Named failures of console actions (see ledger.errors.DomainError)."""
from __future__ import annotations

from ledger.errors import DomainError


class ConsoleError(DomainError):
    code = "console_error"


class ActionForbidden(ConsoleError):
    """The user lacks the permission the action needs (checked on the server, whatever the page showed)."""

    code = "action_forbidden"
    http_status = 403


class ActionNotRecorded(ConsoleError):
    """The service appended no event carrying the user as actor, so whatever it did was rolled back."""

    code = "action_not_recorded"
    http_status = 409
