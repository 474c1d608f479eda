"""The one way a console screen changes anything: a service that appends an event naming the user.

`run_ledger_action` checks the permission on the server, runs the service with `actor="user:<username>"`
inside one transaction, and commits only if at least one event carrying that actor was appended; otherwise it
rolls everything back and raises ActionNotRecorded. So nothing changes from the console without an event and
a named actor, whatever the service does.

Services run inside that transaction: keep them short and defer network calls and task enqueues to
`transaction.on_commit`. Later screens (approve a mint, resolve a break, start a reconciliation) reuse it:

    @ledger_action(permission="issuance.approve_mint_request", description="Approve selected mint requests")
    def approve(mint_request, *, actor):
        issuance.services.approve_mint(mint_request.request_id, actor=actor)

    class MintRequestAdmin(EventSourcedAdmin):
        actions = [approve]
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from chain.errors import ChainError
from ledger import store
from ledger.errors import DomainError
from ledger.models import Event

from .errors import ActionForbidden, ActionNotRecorded

T = TypeVar("T")


def actor_for(user: AbstractBaseUser) -> str:
    return f"user:{user.get_username()}"


def run_ledger_action(user, permission: str, service: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """`service(*args, actor=..., **kwargs)` for `user`, all-or-nothing and provably recorded."""
    if not (user.is_active and user.has_perm(permission)):
        raise ActionForbidden(f"{user.get_username() or 'anonymous'} lacks permission {permission}")
    actor = actor_for(user)
    with transaction.atomic():
        head_before = store.head_position()
        result = service(*args, actor=actor, **kwargs)
        if not Event.objects.filter(position__gt=head_before, metadata__actor=actor).exists():
            raise ActionNotRecorded(f"{getattr(service, '__name__', 'the action')} recorded no event for {actor}; nothing was changed")
    return result


def ledger_action(*, permission: str, description: str):
    """Turn `fn(obj, *, actor)` into a Django admin action that runs `run_ledger_action` per selected object.

    The action carries `ledger_permission`, which EventSourcedAdmin uses to hide it from users who lack it.
    """

    def decorate(fn: Callable[..., Any]):
        def action(modeladmin, request, queryset) -> None:
            done = 0
            for obj in queryset:
                try:
                    run_ledger_action(request.user, permission, fn, obj)
                except DomainError as refusal:
                    modeladmin.message_user(request, f"{obj}: {refusal.message}", messages.ERROR)
                except ChainError as failure:  # a node that is down: nothing was recorded, try again later
                    modeladmin.message_user(request, f"{obj}: chain unavailable ({failure}); nothing was done.",
                                            messages.ERROR)
                else:
                    done += 1
            if done:
                modeladmin.message_user(request, f"{description}: {done} done, each recorded as a ledger event.", messages.SUCCESS)

        action.__name__ = fn.__name__
        action.ledger_permission = permission
        return admin.action(description=description)(action)

    return decorate
