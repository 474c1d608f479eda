"""How long each open mint and redeem request has been in its current stage: what the console's queues filter
on ("stuck for more than N minutes") and what the dashboard's pending-requests panel shows.

A stage starts at the recorded time of the event that moved the request into it (the projector keeps one
timestamp per stage). A held redemption, or one assigned after being held, counts from its deposit: nothing
records when it was assigned.
"""
from __future__ import annotations

from datetime import timedelta

from django.db.models import Case, DateTimeField, F, QuerySet, When
from django.utils import timezone

from .models import MintRequest, RedeemRequest

MINT_STAGE_STARTED = {
    MintRequest.Status.REQUESTED: "requested_at",
    MintRequest.Status.APPROVED: "approved_at",
    MintRequest.Status.SECURED: "secured_at",
    MintRequest.Status.SIGNED: "signed_at",
    MintRequest.Status.BROADCAST: "broadcast_at",
    MintRequest.Status.CONFIRMED: "confirmed_at",
}
REDEEM_STAGE_STARTED = {
    RedeemRequest.Status.HELD: "requested_at",
    RedeemRequest.Status.RECEIVED: "requested_at",
    RedeemRequest.Status.SIGNED: "signed_at",
    RedeemRequest.Status.BROADCAST: "broadcast_at",
    RedeemRequest.Status.BURNED: "burned_at",
}
STAGE_STARTED = {MintRequest: MINT_STAGE_STARTED, RedeemRequest: REDEEM_STAGE_STARTED}


def with_stage_started_at(requests: QuerySet) -> QuerySet:
    """Annotate `stage_started_at`: when an unfinished request entered its current stage (None once finished)."""
    stages = STAGE_STARTED[requests.model]
    return requests.annotate(stage_started_at=Case(
        *(When(status=status, then=F(field)) for status, field in stages.items()),
        default=None, output_field=DateTimeField()))


def stuck_longer_than(requests: QuerySet, minutes: int) -> QuerySet:
    """Unfinished requests that entered their current stage more than `minutes` ago."""
    return with_stage_started_at(requests).filter(
        status__in=list(STAGE_STARTED[requests.model]),
        stage_started_at__lt=timezone.now() - timedelta(minutes=minutes))
