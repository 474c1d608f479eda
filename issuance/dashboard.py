"""The console dashboard's issuance panels: pending requests with their age (slot `pending_requests`) and mint /
redeem cycle times (slot `cycle_times`). Registered in IssuanceConfig.ready()."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Count, Min, QuerySet
from django.urls import reverse
from django.utils import timezone

from console.dashboard import Panel, PanelRow
from console.templatetags.console_format import age

from . import services
from .models import MintRequest, RedeemRequest
from .queues import STAGE_STARTED, with_stage_started_at
from .stats import _seconds, percentile

# A request waiting longer than this in one stage is drawn in red (the worker advances one every few seconds;
# people approve, secure shares or assign deposits within minutes).
STUCK_AFTER_MINUTES = 15
MINT_STAGES = ("approval", "shares", "reserve_and_sign", "broadcast", "confirmation", "report")  # see stats.STAGES
MINT_STAGE_LABELS = {
    MintRequest.Status.REQUESTED: "Mints awaiting a second approver",
    MintRequest.Status.APPROVED: "Mints waiting for shares",
    MintRequest.Status.SECURED: "Mints waiting for the reserve check and signing",
    MintRequest.Status.SIGNED: "Mints signed, not yet broadcast",
    MintRequest.Status.BROADCAST: "Mints waiting for confirmations",
    MintRequest.Status.CONFIRMED: "Mints waiting to be reported",
}
REDEEM_STAGE_LABELS = {
    RedeemRequest.Status.HELD: "Deposits held (no partner's allowlisted sender, or not an exact number of shares)",
    RedeemRequest.Status.RECEIVED: "Redemptions waiting to burn",
    RedeemRequest.Status.SIGNED: "Burns signed, not yet broadcast",
    RedeemRequest.Status.BROADCAST: "Burns waiting for confirmations",
    RedeemRequest.Status.BURNED: "Burned, shares to release",
}


def _queue_rows(requests: QuerySet, labels: dict, changelist: str) -> list[PanelRow]:
    """One row per unfinished stage with requests in it: how many, and how long the oldest has waited there."""
    unfinished = with_stage_started_at(requests.filter(status__in=list(STAGE_STARTED[requests.model])))
    waiting = {row["status"]: row for row in unfinished.values("status").annotate(
        count=Count("id"), oldest=Min("stage_started_at")).order_by()}
    now, stuck_after = timezone.now(), timedelta(minutes=STUCK_AFTER_MINUTES)
    rows = []
    for status, label in labels.items():
        if status not in waiting:
            continue
        oldest = waiting[status]["oldest"]
        rows.append(PanelRow(label, f"{waiting[status]['count']}, oldest {age(oldest)} in this stage",
                             url=reverse(changelist) + "?" + urlencode({"status__exact": status}),
                             alert=status == RedeemRequest.Status.HELD or now - oldest > stuck_after))
    return rows


def pending_requests_panel(request) -> Panel:
    rows = (_queue_rows(MintRequest.objects.all(), MINT_STAGE_LABELS, "admin:issuance_mintrequest_changelist")
            + _queue_rows(RedeemRequest.objects.all(), REDEEM_STAGE_LABELS, "admin:issuance_redeemrequest_changelist"))
    if not rows:
        return Panel(rows, note="No mint or redeem request is waiting.")
    return Panel(rows, note=f"Red: in one stage for more than {STUCK_AFTER_MINUTES} min, or a held deposit.")


def _duration(seconds: Decimal) -> str:
    for unit, size in (("h", 3600), ("min", 60)):
        if seconds >= size:
            return f"{(seconds / size).quantize(Decimal('0.1'))} {unit}"
    return f"{seconds.quantize(Decimal('0.1'))} s"


def _percentiles(p50: Decimal | None, p95: Decimal | None, count: int) -> str:
    if not count:
        return "none completed yet"
    return f"p50 {_duration(p50)} · p95 {_duration(p95)} (n={count})"


def cycle_times_panel(request) -> Panel:
    """Mints from issuance.services.cycle_time_stats (completed mints); redemptions from deposit to burn and to
    shares released, computed the same way (nearest-rank percentiles over completed redemptions)."""
    mints = services.cycle_time_stats()
    redeemed = list(RedeemRequest.objects.filter(status=RedeemRequest.Status.COMPLETED)
                    .values_list("requested_at", "burned_at", "completed_at"))
    to_burned = [_seconds(burned - requested) for requested, burned, _ in redeemed]
    to_released = [_seconds(completed - requested) for requested, _, completed in redeemed]
    slowest = max((stage for stage in MINT_STAGES if mints[stage]["p95"] is not None),
                  key=lambda stage: mints[stage]["p95"], default=None)
    rows = [
        PanelRow("Mint: request → confirmed on chain", _percentiles(**mints["request_to_confirmed"])),
        PanelRow("Mint: request → completed", _percentiles(**mints["request_to_completed"])),
        PanelRow("Redeem: deposit → burned", _percentiles(percentile(to_burned, 50), percentile(to_burned, 95),
                                                          len(to_burned))),
        PanelRow("Redeem: deposit → shares released", _percentiles(
            percentile(to_released, 50), percentile(to_released, 95), len(to_released))),
    ]
    return Panel(rows, note=f"Slowest mint stage at p95: {slowest.replace('_', ' ')}." if slowest else "")
