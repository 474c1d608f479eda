"""Console pages beyond the model lists: dashboard, balances with time travel, audit export, instrument status,
anchor check. Each parses input, calls one function, and formats the result; changes go through
console.actions.run_ledger_action."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpResponseNotAllowed, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from chain.errors import ChainError
from custody import services as custody_services
from custody.models import Instrument
from ledger.anchor import check_configured_anchor, latest_anchor_record
from ledger.balances import balance
from ledger.canonical import normalize_decimal
from ledger.errors import DomainError
from ledger.models import AccountBalance
from ledger.store import head_position

from .actions import run_ledger_action
from .audit_export import VERIFY_COMMAND, produce_export
from .backing import current_backing, daily_backing
from .chain_status import verify_through
from .charts import line_chart
from .dashboard import slot_views
from .forms import BalancesForm, ExportForm, InstrumentStatusForm

CHART_DAYS = (7, 30, 90, 365)
MAX_BALANCE_ROWS = 200
INSTRUMENT_STATUS_PERMISSION = "custody.change_instrument"


def dashboard(site, request):
    instruments = {i.symbol: i for i in Instrument.objects.all()}
    head = head_position()
    backing = current_backing(list(instruments))
    days = _chart_days(request.GET.get("days"))
    charted = request.GET.get("symbol") or _most_outstanding(backing)
    series = daily_backing(charted, days) if charted else []
    chart = line_chart(
        [point.day.isoformat() for point in series],
        [("shares in custody", "custody", [p.shares_in_custody for p in series]),
         ("tokens outstanding", "outstanding", [p.tokens_outstanding for p in series])],
    ) if series else None
    context = {
        **site.each_context(request),
        "title": "Operations dashboard",
        "app_list": site.get_app_list(request),
        "rows": [(row, instruments.get(row.symbol)) for row in backing],
        "charted_symbol": charted,
        "chart_days": days,
        "chart_day_choices": CHART_DAYS,
        "series": series,
        "chart": chart,
        "slots": slot_views(request),
        "anchor": latest_anchor_record(),
        "chain": verify_through(head),
        "head_position": head,
        "can_change_status": request.user.has_perm(INSTRUMENT_STATUS_PERMISSION),
        "can_export": request.user.has_perm("console.export_ledger"),
    }
    return TemplateResponse(request, "console/dashboard.html", context)


def _chart_days(raw: str | None) -> int:
    return int(raw) if raw and raw.isdigit() and int(raw) in CHART_DAYS else 30


def _most_outstanding(backing) -> str | None:
    return max(backing, key=lambda row: (row.tokens_outstanding, row.shares_in_custody)).symbol if backing else None


@dataclass(frozen=True)
class BalanceRow:
    account: str
    asset: str
    balance: Decimal
    current: Decimal


def balances(site, request):
    if not request.user.has_perm("ledger.view_posting"):
        raise PermissionDenied
    form = BalancesForm(request.GET or None)
    rows: list[BalanceRow] = []
    truncated = False
    if form.is_valid():
        account, asset = form.cleaned_data["account"].strip(), form.cleaned_data["asset"].strip()
        as_of, known_at = form.cleaned_data["as_of"], form.cleaned_data["known_at"]
        accounts = AccountBalance.objects.order_by("account", "asset")
        accounts = accounts.filter(account__startswith=account) if account.endswith(":") else accounts.filter(account=account)
        if asset:
            accounts = accounts.filter(asset=asset)
        found = list(accounts.values_list("account", "asset", "balance")[: MAX_BALANCE_ROWS + 1])
        truncated = len(found) > MAX_BALANCE_ROWS
        for name, unit, current in found[:MAX_BALANCE_ROWS]:
            at = balance(name, unit, as_of=as_of, known_at=known_at) if (as_of or known_at) else current
            rows.append(BalanceRow(name, unit, normalize_decimal(at), normalize_decimal(current)))
    context = {
        **site.each_context(request),
        "title": "Balances",
        "form": form,
        "rows": rows,
        "truncated": truncated,
        "max_rows": MAX_BALANCE_ROWS,
    }
    return TemplateResponse(request, "console/balances.html", context)


def audit_export(site, request):
    """Auditors (and superusers) choose a period and download the export; others are refused."""
    if not request.user.has_perm("console.export_ledger"):
        raise PermissionDenied
    form = ExportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            produced = run_ledger_action(request.user, "console.export_ledger", produce_export,
                                         form.cleaned_data["date_from"], form.cleaned_data["date_to"])
        except DomainError as refusal:
            messages.error(request, refusal.message)
        else:
            response = FileResponse(produced.file, as_attachment=True, filename=produced.filename,
                                    content_type="application/x-ndjson")
            response["X-Export-SHA256"] = produced.sha256
            return response
    context = {
        **site.each_context(request),
        "title": "Audit export",
        "form": form,
        "verify_command": VERIFY_COMMAND,
    }
    return TemplateResponse(request, "console/audit_export.html", context)


def change_instrument_status(site, request, symbol: str, change: str):
    """Pause or resume an instrument (custody.services), recorded as an event naming the user."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not request.user.has_perm(INSTRUMENT_STATUS_PERMISSION):
        raise PermissionDenied
    service = {"pause": custody_services.pause_instrument, "resume": custody_services.resume_instrument}.get(change)
    if service is None:
        raise Http404(f"no instrument change {change!r}")
    form = InstrumentStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{symbol}: a reason is required to {change} an instrument.")
    else:
        try:
            run_ledger_action(request.user, INSTRUMENT_STATUS_PERMISSION, service, symbol,
                              reason=form.cleaned_data["reason"])
        except DomainError as refusal:
            messages.error(request, f"{symbol}: {refusal.message}")
        else:
            messages.success(request, f"{symbol}: {change}d; recorded as a ledger event by {request.user.get_username()}.")
    return HttpResponseRedirect(reverse("admin:index") + "?" + urlencode({"symbol": symbol}))


def anchor_check(site, request):
    """Compare the ledger with the latest on-chain anchor now (reads the chain; needs no key)."""
    if not request.user.has_perm("ledger.view_event"):
        raise PermissionDenied
    problem = None
    check = None
    try:
        check = check_configured_anchor()
    except ChainError as failure:
        problem = f"could not read the anchor contract: {failure}"
    context = {
        **site.each_context(request),
        "title": "Ledger anchor check",
        "check": check,
        "problem": problem,
        "anchor": latest_anchor_record(),
        "checked_at": datetime.now(UTC),
    }
    return TemplateResponse(request, "console/anchor_check.html", context)
