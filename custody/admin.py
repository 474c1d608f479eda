"""Custody in the console: instruments, custody accounts, and what the broker and custodians reported.

Instruments are event-sourced (instrument/<ISIN>): their forms are read-only, the add page creates one through
`create_instrument`, and pause/resume are list actions (the reason typed next to the action menu), all run as
the signed-in user through console.actions. Broker orders, positions observations and statement imports are
read models of custody events: read-only.

Custody accounts are shown read-only too: custody has no service that records creating or editing one as an
event, and the console changes nothing without an event. "Sync now" queues custody's Celery task for the
selected broker accounts; sync_account takes no actor, so what it records carries system:custody.sync.
"""
from __future__ import annotations

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from console.actions import actor_for, ledger_action, run_ledger_action
from console.admin_base import EventSourcedAdmin, LargeTableAdmin
from console.requests import record_request
from ledger.errors import DomainError

from . import services, tasks
from .models import BrokerOrder, CustodyAccount, Instrument, PositionsObservation, StatementImport

ADD_INSTRUMENT = "custody.add_instrument"
CHANGE_INSTRUMENT = "custody.change_instrument"
START_SYNC = "custody.start_custody_sync"


class CreateInstrumentForm(forms.Form):
    symbol = forms.CharField(max_length=16)
    name = forms.CharField(max_length=200)
    isin = forms.CharField(max_length=12, label="ISIN",
                           help_text="Check digit verified; a US ISIN must embed the CUSIP.")
    cusip = forms.CharField(max_length=9, required=False, label="CUSIP")
    exchange = forms.CharField(max_length=16, required=False)
    tokens_per_share = forms.DecimalField(min_value=Decimal("0.000000000000000001"), max_digits=38,
                                          decimal_places=18, initial=Decimal(1),
                                          help_text="Tokens per share in custody (1 = one for one).")


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, label="Reason (pause, resume):")


@admin.action(description="Pause selected instruments (reason)")
def pause(modeladmin, request, queryset) -> None:
    reason = str(request.POST.get("reason", "")).strip()
    if not reason:
        modeladmin.message_user(request, "Pausing needs a reason, typed next to the action menu; nothing was done.",
                                messages.ERROR)
        return

    def pause_instrument(instrument: Instrument, *, actor: str) -> None:
        services.pause_instrument(instrument.symbol, actor, reason)

    ledger_action(permission=CHANGE_INSTRUMENT, description="Pause selected instruments")(pause_instrument)(
        modeladmin, request, queryset)


pause.ledger_permission = CHANGE_INSTRUMENT


@admin.action(description="Resume selected instruments")
def resume(modeladmin, request, queryset) -> None:
    reason = str(request.POST.get("reason", "")).strip()

    def resume_instrument(instrument: Instrument, *, actor: str) -> None:
        services.resume_instrument(instrument.symbol, actor, reason)

    ledger_action(permission=CHANGE_INSTRUMENT, description="Resume selected instruments")(resume_instrument)(
        modeladmin, request, queryset)


resume.ledger_permission = CHANGE_INSTRUMENT


@admin.register(Instrument)
class InstrumentAdmin(EventSourcedAdmin):
    list_display = ("symbol", "name", "isin", "cusip", "exchange", "status", "tokens_per_share",
                    "reconciliation_tolerance", "created_at")
    list_filter = ("status",)
    search_fields = ("symbol", "name", "=isin", "=cusip")
    action_form = ReasonActionForm
    actions = [pause, resume]

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(ADD_INSTRUMENT)

    def add_view(self, request, form_url="", extra_context=None):
        """Create an instrument through `create_instrument`; no model form ever saves one."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CreateInstrumentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                instrument = run_ledger_action(
                    request.user, ADD_INSTRUMENT, services.create_instrument, data["symbol"].strip().upper(),
                    data["name"], data["isin"].strip().upper(), cusip=data["cusip"].strip().upper(),
                    exchange=data["exchange"].strip(), tokens_per_share=data["tokens_per_share"])
            except DomainError as refusal:
                form.add_error(None, refusal.message)
            else:
                self.message_user(request, f"Instrument {instrument.symbol} created; recorded as a ledger event by "
                                           f"{request.user.get_username()}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:custody_instrument_changelist"))
        return TemplateResponse(request, "console/service_form.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": "New instrument", "submit_label": "Create instrument",
            "intro": "Records instrument_created on instrument/<ISIN> with your name. Deploy its token from "
                     "Token deployments once it exists.",
        })


@admin.action(description="Sync selected broker accounts now (queued for a worker)")
def sync_now(modeladmin, request, queryset) -> None:
    if not request.user.has_perm(START_SYNC):
        raise PermissionDenied
    queued = []
    for account in queryset:
        if account.kind != CustodyAccount.Kind.ALPACA:
            modeladmin.message_user(request, f"{account.name} receives statements: import them; there is no broker "
                                             f"to sync.", messages.WARNING)
            continue
        record_request("custody_sync", actor_for(request.user), account=account.name)
        transaction.on_commit(lambda name=account.name: tasks.sync_custody_accounts.delay(name))
        queued.append(account.name)
    if queued:
        modeladmin.message_user(request, f"Sync queued for {', '.join(queued)}; what it finds is recorded as "
                                         f"system:custody.sync.", messages.SUCCESS)


sync_now.ledger_permission = START_SYNC


@admin.register(CustodyAccount)
class CustodyAccountAdmin(EventSourcedAdmin):
    list_display = ("name", "kind", "description", "base_url", "paper", "statement_account_ref", "created_at")
    list_filter = ("kind",)
    actions = [sync_now]


@admin.register(BrokerOrder)
class BrokerOrderAdmin(EventSourcedAdmin, LargeTableAdmin):
    list_display = ("submitted_at", "account_name", "symbol", "side", "qty", "status", "filled_qty",
                    "filled_avg_price", "request_id", "broker_order_id")
    list_filter = ("side", "status")
    search_fields = ("=request_id", "=broker_order_id", "=client_order_id", "=symbol")


@admin.register(PositionsObservation)
class PositionsObservationAdmin(EventSourcedAdmin, LargeTableAdmin):
    list_display = ("observed_at", "account_name", "event_position", "raw_sha256")
    search_fields = ("=account_name",)


@admin.register(StatementImport)
class StatementImportAdmin(EventSourcedAdmin):
    list_display = ("statement_date", "account_name", "format", "filename", "imported_at", "file_sha256")
    search_fields = ("=account_name", "=file_sha256")
