"""Corporate actions in the console: announcements, snapshots, payout runs, their holders and transactions.

Everything shown is event-sourced, so read-only. Changes go through forms and actions that call
corporate_actions.services with actor "user:<username>" (console.actions): announce (a form), cancel (with a
reason), snapshot holders, create a payout run, approve it (never one's own: the service refuses), apply a split,
symbol change or delisting. "Start payout" records the user's request (payout_requested on console_request/<id>)
and queues the worker (corporate_actions.tasks.run_payout), which records every step as system:corporate-actions.
"""
from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from console.actions import actor_for, ledger_action, run_ledger_action
from console.admin_base import EventSourcedAdmin, LargeTableAdmin
from console.requests import record_request
from ledger.errors import DomainError

from . import services, tasks
from .announcements import FIELDS
from .models import CorporateAction, HolderSnapshot, HolderTaxProfile, PayoutLine, PayoutPolicy, PayoutRun, PayoutTx

OPERATE = "corporate_actions.change_corporateaction"
ANNOUNCE = "corporate_actions.add_corporateaction"
APPROVE = "corporate_actions.approve_payout_run"


class AnnounceForm(forms.Form):
    kind = forms.ChoiceField(choices=CorporateAction.Kind.choices)
    symbol = forms.CharField(max_length=16)
    ex_date = forms.DateField(required=False, help_text="YYYY-MM-DD")
    record_date = forms.DateField(required=False)
    pay_date = forms.DateField(required=False)
    rate = forms.DecimalField(required=False, max_digits=30, decimal_places=10, help_text="Gross per share.")
    currency = forms.CharField(required=False, initial="USD", max_length=3)
    effective_date = forms.DateField(required=False)
    old_rate = forms.DecimalField(required=False, max_digits=30, decimal_places=10)
    new_rate = forms.DecimalField(required=False, max_digits=30, decimal_places=10)
    new_symbol = forms.CharField(required=False, max_length=16)

    def terms(self) -> dict:
        return {name: self.cleaned_data[name] for name in FIELDS[self.cleaned_data["kind"]]}


class CancelForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why the announcement is void.")


def cancel(modeladmin, request, queryset):
    """Ask for the reason, then cancel each selected announcement as the signed-in user."""
    form = CancelForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        for action in queryset:
            try:
                run_ledger_action(request.user, OPERATE, services.cancel_action, action.id,
                                  reason=form.cleaned_data["reason"])
            except DomainError as refusal:
                modeladmin.message_user(request, f"{action}: {refusal.message}", messages.ERROR)
            else:
                modeladmin.message_user(request, f"{action}: cancelled", messages.SUCCESS)
        return None
    return TemplateResponse(request, "admin/corporate_actions/corporateaction/cancel.html", {
        **modeladmin.admin_site.each_context(request), "title": "Cancel announcements", "form": form,
        "actions": queryset, "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        "opts": modeladmin.model._meta,
    })


cancel.short_description = "Cancel selected announcements (with a reason)"
cancel.ledger_permission = OPERATE


@ledger_action(permission=OPERATE, description="Snapshot holders at the record date")
def snapshot_holders(action: CorporateAction, *, actor: str) -> None:
    services.snapshot_holders(action.id, actor=actor)


@ledger_action(permission=OPERATE, description="Compute entitlements (airdrop dividends)")
def create_payout_run(action: CorporateAction, *, actor: str) -> None:
    services.create_dividend_run(action.id, actor=actor)


@ledger_action(permission=OPERATE, description="Apply split, symbol change or delisting")
def apply_action(action: CorporateAction, *, actor: str) -> None:
    services.apply_action(action.id, actor=actor)


@admin.register(CorporateAction)
class CorporateActionAdmin(EventSourcedAdmin):
    list_display = ("id", "kind", "symbol", "status", "record_date", "pay_date", "effective_date", "rate", "currency",
                    "old_rate", "new_rate", "source", "announced_by", "report")
    list_filter = ("kind", "status", "source")
    search_fields = ("id", "symbol", "isin", "source_id")
    readonly_fields = [field.name for field in CorporateAction._meta.fields]
    actions = [snapshot_holders, create_payout_run, apply_action, cancel]
    change_list_template = "admin/corporate_actions/corporateaction/change_list.html"

    @admin.display(description="Report")
    def report(self, action: CorporateAction) -> str:
        if not action.payout_runs.filter(kind__in=(PayoutRun.Kind.AIRDROP, PayoutRun.Kind.REINVEST)).exists():
            return ""
        return format_html('<a href="{}">CSV</a>', reverse("admin:corporate_actions_dividend_report", args=[action.id]))

    def get_urls(self):
        return [path("announce/", self.admin_site.admin_view(self.announce), name="corporate_actions_announce"),
                path("<str:action_id>/report.csv", self.admin_site.admin_view(self.report_csv),
                     name="corporate_actions_dividend_report"), *super().get_urls()]

    def announce(self, request) -> HttpResponse:
        """The announcement form: the service validates every term and records it with the user's name."""
        if not request.user.has_perm(ANNOUNCE):
            raise PermissionDenied
        form = AnnounceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                action = run_ledger_action(request.user, ANNOUNCE, services.announce, form.cleaned_data["kind"],
                                           form.cleaned_data["symbol"], form.terms())
            except DomainError as refusal:
                form.add_error(None, f"{refusal.code}: {refusal.message}")
            else:
                self.message_user(request, f"Announced {action} (recorded as a ledger event).", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:corporate_actions_corporateaction_changelist"))
        return TemplateResponse(request, "admin/corporate_actions/corporateaction/announce.html", {
            **self.admin_site.each_context(request), "title": "Announce a corporate action", "form": form,
            "opts": self.model._meta})

    def report_csv(self, request, action_id: str) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        action = get_object_or_404(CorporateAction, id=action_id)
        response = HttpResponse(services.render_dividend_csv(action.id), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="dividend-{action.id}.csv"'
        return response


@ledger_action(permission=APPROVE, description="Approve selected payout runs")
def approve(run: PayoutRun, *, actor: str) -> None:
    services.approve_run(run.id, actor)


@admin.action(description="Start payout (queue the worker)")
def start_payout(modeladmin, request, queryset) -> None:
    if not request.user.has_perm(OPERATE):
        raise PermissionDenied
    run_ids = [run.id for run in queryset.filter(status__in=(PayoutRun.Status.APPROVED, PayoutRun.Status.PAYING))]
    for run_id in run_ids:
        record_request("payout", actor_for(request.user), run_id=run_id)
        transaction.on_commit(lambda run_id=run_id: tasks.run_payout.delay(run_id))
    modeladmin.message_user(request, f"Queued {len(run_ids)} approved run(s); the worker records each step.",
                            messages.SUCCESS if run_ids else messages.WARNING)


start_payout.ledger_permission = OPERATE


@admin.register(PayoutRun)
class PayoutRunAdmin(EventSourcedAdmin):
    list_display = ("id", "kind", "symbol", "status", "created_by", "approved_by", "shares_secured", "created_at",
                    "completed_at")
    list_filter = ("kind", "status")
    search_fields = ("id", "symbol", "action__id")
    readonly_fields = [field.name for field in PayoutRun._meta.fields]
    actions = [approve, start_payout]


@admin.register(PayoutLine)
class PayoutLineAdmin(EventSourcedAdmin, LargeTableAdmin):
    list_display = ("run", "line_no", "network", "address", "shares", "tax_category", "gross", "tax", "fee", "net",
                    "outcome", "amount", "units", "paid", "tx_hash")
    list_filter = ("outcome", "paid")
    search_fields = ("=address", "=run__id", "=tx_hash")
    list_select_related = ("run",)
    readonly_fields = [field.name for field in PayoutLine._meta.fields]


@admin.register(PayoutTx)
class PayoutTxAdmin(EventSourcedAdmin, LargeTableAdmin):
    list_display = ("run", "tx_key", "kind", "network", "attempt", "nonce", "status", "tx_hash", "block_number")
    list_filter = ("kind", "status")
    search_fields = ("=run__id", "=tx_hash")
    list_select_related = ("run",)
    readonly_fields = [field.name for field in PayoutTx._meta.fields]


@admin.register(HolderSnapshot)
class HolderSnapshotAdmin(EventSourcedAdmin):
    list_display = ("action", "cutoff", "holder_count", "holders_sha256", "taken_at")
    readonly_fields = [field.name for field in HolderSnapshot._meta.fields]


@admin.register(PayoutPolicy)
class PayoutPolicyAdmin(EventSourcedAdmin):
    list_display = ("isin", "mode", "minimum_payout", "below_minimum", "fee_rate", "set_by")
    readonly_fields = [field.name for field in PayoutPolicy._meta.fields]


@admin.register(HolderTaxProfile)
class HolderTaxProfileAdmin(EventSourcedAdmin, LargeTableAdmin):
    list_display = ("address", "category", "set_by")
    search_fields = ("=address",)
    readonly_fields = [field.name for field in HolderTaxProfile._meta.fields]
