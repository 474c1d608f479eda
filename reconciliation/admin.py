"""Reconciliation in the console: runs (with report downloads and "run now"), per-instrument results, breaks and
aggregator contracts. All of it is event-sourced, so read-only; breaks change only through the acknowledge and
resolve actions, which call the services with actor "user:<username>" through console.actions.
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
from django.utils.html import format_html_join

from console.actions import actor_for, ledger_action, run_ledger_action
from console.admin_base import EventSourcedAdmin, LargeTableAdmin
from console.requests import record_request
from ledger.errors import DomainError

from . import services
from .models import AggregatorContract, Break, InstrumentResult, ReconciliationRun

REPORT_FORMATS = {
    "json": (services.render_json, "application/json; charset=utf-8"),
    "csv": (services.render_csv, "text/csv; charset=utf-8"),
    "html": (services.render_html, "text/html; charset=utf-8"),
    "pdf": (services.render_pdf, "application/pdf"),
}


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(EventSourcedAdmin):
    list_display = ("run_id", "status", "scope", "actor", "started_at", "finished_at", "clean_count",
                    "with_breaks_count", "incomplete_count", "new_break_count", "closed_break_count")
    list_filter = ("status",)
    search_fields = ("run_id",)
    readonly_fields = [field.name for field in ReconciliationRun._meta.fields] + ["reports"]
    change_list_template = "admin/reconciliation/reconciliationrun/change_list.html"

    @admin.display(description="Reports")
    def reports(self, run: ReconciliationRun) -> str:
        return format_html_join(" · ", '<a href="{}">{}</a>', (
            (reverse("admin:reconciliation_run_report", args=[run.run_id, fmt]), fmt.upper()) for fmt in REPORT_FORMATS))

    def get_urls(self):
        return [
            path("run-now/", self.admin_site.admin_view(self.run_now), name="reconciliation_run_now"),
            path("<str:run_id>/report.<str:fmt>", self.admin_site.admin_view(self.report),
                 name="reconciliation_run_report"),
            *super().get_urls(),
        ]

    def report(self, request, run_id: str, fmt: str) -> HttpResponse:
        if not self.has_view_permission(request) or fmt not in REPORT_FORMATS:
            raise PermissionDenied
        run = get_object_or_404(ReconciliationRun, run_id=run_id)
        render, content_type = REPORT_FORMATS[fmt]
        response = HttpResponse(render(run.run_id), content_type=content_type)
        if fmt != "html":
            response["Content-Disposition"] = f'attachment; filename="reconciliation-{run.run_id}.{fmt}"'
        return response

    def run_now(self, request) -> HttpResponse:
        """POST: queue a run of all instruments on a worker, started by the signed-in user."""
        if request.method != "POST" or not request.user.has_perm("reconciliation.start_reconciliation"):
            raise PermissionDenied
        try:
            with transaction.atomic():
                record_request("reconciliation", actor_for(request.user), scope="all")
                task_id = services.start_reconciliation(actor=actor_for(request.user))
        except DomainError as refusal:
            self.message_user(request, refusal.message, messages.ERROR)
        else:
            self.message_user(request, f"Reconciliation queued (task {task_id}); it appears here when it starts.",
                              messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:reconciliation_reconciliationrun_changelist"))


@admin.register(InstrumentResult)
class InstrumentResultAdmin(EventSourcedAdmin, LargeTableAdmin):
    list_display = ("symbol", "status", "run", "shares_in_custody", "tokens_outstanding", "difference", "explanation")
    list_filter = ("status",)
    search_fields = ("symbol", "=run__run_id")
    list_select_related = ("run",)
    readonly_fields = [field.name for field in InstrumentResult._meta.fields]


@ledger_action(permission="reconciliation.acknowledge_break", description="Acknowledge selected breaks")
def acknowledge(break_row: Break, *, actor: str) -> None:
    services.acknowledge_break(break_row.break_id, actor)


class ResolveForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), help_text="Why the difference is resolved.")
    correcting_event_position = forms.IntegerField(
        min_value=1, help_text="Ledger position of the event that corrected the difference.")


def resolve(modeladmin, request, queryset):
    """Ask for the reason and the correcting event, then resolve each selected break as the signed-in user."""
    form = ResolveForm(request.POST if "apply" in request.POST else None)
    if "apply" in request.POST and form.is_valid():
        done = 0
        for break_row in queryset:
            try:
                run_ledger_action(request.user, "reconciliation.resolve_break", services.resolve_break,
                                  break_row.break_id, reason=form.cleaned_data["reason"],
                                  correcting_event_position=form.cleaned_data["correcting_event_position"])
            except DomainError as refusal:
                modeladmin.message_user(request, f"{break_row}: {refusal.message}", messages.ERROR)
            else:
                done += 1
        if done:
            modeladmin.message_user(request, f"Resolved {done} break(s), each recorded as a ledger event.",
                                    messages.SUCCESS)
        return None
    return TemplateResponse(request, "admin/reconciliation/break/resolve.html", {
        **modeladmin.admin_site.each_context(request), "title": "Resolve breaks", "form": form, "breaks": queryset,
        "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME, "opts": modeladmin.model._meta,
    })


resolve.short_description = "Resolve selected breaks (reason and correcting event)"
resolve.ledger_permission = "reconciliation.resolve_break"


@admin.register(Break)
class BreakAdmin(EventSourcedAdmin):
    list_display = ("break_id", "kind", "symbol", "subject", "severity", "status", "amount", "unit", "first_seen_at",
                    "last_seen_at", "times_seen", "acknowledged_by", "resolved_by")
    list_filter = ("status", "severity", "kind")
    search_fields = ("break_id", "symbol", "subject")
    readonly_fields = [field.name for field in Break._meta.fields]
    actions = [acknowledge, resolve]


@admin.register(AggregatorContract)
class AggregatorContractAdmin(EventSourcedAdmin):
    list_display = ("network", "chain_id", "address", "deployed_at")
    readonly_fields = [field.name for field in AggregatorContract._meta.fields]
