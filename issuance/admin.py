"""Issuance in the console: the mint and redeem queues, token deployments, chain alerts, signers and cursors.

All of it is event-sourced, so every form is read-only. Queue actions call issuance.services as the signed-in
user (console.actions): approving runs `approve_mint(id, "user:<name>")`, so the service's refusal to let
the requester approve their own mint applies and shows as an error message. A reason or reference the
service needs is typed in the box next to the action menu. "Deploy a token" is the add page of token
deployments: a small form calling `deploy_token`.

"Process now" runs the worker step at once (process_mint / process_redeem) instead of waiting for the next
beat. Those steps take no actor and record their events as system:issuance, so they run outside
run_ledger_action: the permission is checked here and the result shown, but no event names the user.
"""
from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from chain.errors import ChainError
from console.actions import actor_for, ledger_action, run_ledger_action
from console.admin_base import EventSourcedAdmin, LargeTableAdmin
from console.requests import record_request
from console.filters import TextInputFilter
from console.templatetags.console_format import age, amount
from ledger.errors import DomainError
from partners.models import Partner

from . import services
from .models import ChainAlert, ChainCursor, MintRequest, RedeemRequest, SignerNonce, TokenDeployment
from .queues import stuck_longer_than, with_stage_started_at

APPROVE_MINT = "issuance.approve_mint_request"
APPROVE_REDEEM = "issuance.approve_redeem_request"
DEPLOY = "issuance.add_tokendeployment"
RETIRE = "issuance.change_tokendeployment"
# How long "process now" follows a receipt before leaving the rest to the worker (it runs inside a web request).
PROCESS_NOW_WAIT_SECONDS = Decimal(2)


def ledger_action_with(field: str, *, permission: str, description: str):
    """console.actions.ledger_action for services that also need a value typed next to the action menu (a
    reason, a reference, a partner): `fn(obj, value, *, actor)`. Nothing runs when the value is empty."""

    def decorate(fn: Callable[..., object]):
        def action(modeladmin, request, queryset) -> None:
            value = str(request.POST.get(field, "")).strip()
            if not value:
                modeladmin.message_user(request, f"{description}: fill in “{field}” next to the action menu; "
                                                 f"nothing was done.", messages.ERROR)
                return

            def with_value(obj, *, actor: str):
                return fn(obj, value, actor=actor)

            with_value.__name__ = fn.__name__
            ledger_action(permission=permission, description=description)(with_value)(modeladmin, request, queryset)

        action.__name__ = fn.__name__
        action.ledger_permission = permission
        return admin.action(description=description)(action)

    return decorate


def worker_step(*, permission: str, description: str, process: Callable[..., object]):
    """An admin action running a worker step for each selected request now (see the module docstring)."""

    def action(modeladmin, request, queryset) -> None:
        if not request.user.has_perm(permission):
            raise PermissionDenied
        for item in queryset:
            record_request("processing", actor_for(request.user), step=process.__name__, request_id=item.id)
            try:
                advanced = process(item.id, wait_seconds=PROCESS_NOW_WAIT_SECONDS)
            except DomainError as refusal:
                modeladmin.message_user(request, f"{item}: {refusal.message}", messages.ERROR)
            except ChainError as failure:
                modeladmin.message_user(request, f"{item}: chain unavailable ({failure}); the worker retries.",
                                        messages.ERROR)
            else:
                modeladmin.message_user(request, f"Processed {item.id}: {item.status} → {advanced.status}",
                                        messages.SUCCESS)

    action.__name__ = f"process_now_{process.__name__}"
    action.ledger_permission = permission
    return admin.action(description=description)(action)


# --- list filters ---

class NetworkFilter(admin.SimpleListFilter):
    """Networks from settings: no SELECT DISTINCT over the requests."""

    title = "network"
    parameter_name = "network"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(settings.CHAIN_NETWORKS)]

    def queryset(self, request, queryset):
        return queryset.filter(network=self.value()) if self.value() else queryset


class InstrumentFilter(TextInputFilter):
    title = "instrument"
    parameter_name = "symbol"
    placeholder = "symbol, e.g. AAPL"

    def filter(self, queryset, value: str):
        return queryset.filter(instrument__symbol=value.upper())


class StuckFilter(admin.SimpleListFilter):
    """Unfinished requests in the same stage for longer than N minutes (any N works in the URL)."""

    title = "stuck in its stage"
    parameter_name = "stuck_minutes"

    def lookups(self, request, model_admin):
        return [("15", "over 15 min"), ("60", "over 1 hour"), ("240", "over 4 hours"), ("1440", "over 1 day")]

    def queryset(self, request, queryset):
        value = self.value()
        return stuck_longer_than(queryset, int(value)) if value and value.isdigit() else queryset


class QueueAdmin(EventSourcedAdmin, LargeTableAdmin):
    """What both queues share: filters, age columns, newest first."""

    list_filter = ("status", StuckFilter, NetworkFilter, InstrumentFilter, "partner")
    list_select_related = ("partner", "instrument")
    search_fields = ("=id", "=tx_hash")

    def get_queryset(self, request):
        return with_stage_started_at(super().get_queryset(request))

    @admin.display(description="Qty")
    def quantity(self, item) -> str:
        return amount(item.qty)

    @admin.display(description="Age")
    def request_age(self, item) -> str:
        return age(item.requested_at)

    @admin.display(description="In stage for")
    def in_stage_for(self, item) -> str:
        return age(item.stage_started_at)


# --- mints ---

class MintActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, label="Reason (reject, cancel):")
    reference = forms.CharField(required=False, max_length=200, label="Journal reference (secure shares):")


@ledger_action(permission=APPROVE_MINT, description="Approve selected mints (second approver)")
def approve(mint: MintRequest, *, actor: str) -> None:
    services.approve_mint(mint.id, actor)


@ledger_action_with("reason", permission=APPROVE_MINT, description="Reject selected mints (reason)")
def reject(mint: MintRequest, reason: str, *, actor: str) -> None:
    services.reject_mint(mint.id, actor, reason)


@ledger_action_with("reason", permission=APPROVE_MINT, description="Cancel selected mints (reason)")
def cancel(mint: MintRequest, reason: str, *, actor: str) -> None:
    services.cancel_mint(mint.id, actor, reason)


@ledger_action_with("reference", permission=APPROVE_MINT,
                    description="Secure shares: the partner journaled them (journal reference)")
def secure_shares(mint: MintRequest, reference: str, *, actor: str) -> None:
    services.secure_shares(mint.id, actor, via="journal", reference=reference)


@admin.register(MintRequest)
class MintRequestAdmin(QueueAdmin):
    list_display = ("id", "status", "partner", "instrument", "quantity", "request_age", "in_stage_for",
                    "requested_by", "approved_by")
    action_form = MintActionForm
    actions = [approve, reject, cancel, secure_shares,
               worker_step(permission=APPROVE_MINT, description="Process selected mints now",
                           process=services.process_mint)]


# --- redemptions ---

class RedeemActionForm(ActionForm):
    partner = forms.ModelChoiceField(queryset=Partner.objects.all(), required=False, label="Partner (assign held):")
    reference = forms.CharField(required=False, max_length=200, label="Reference (release shares):")


@ledger_action_with("partner", permission=APPROVE_REDEEM,
                    description="Assign selected held deposits to the partner chosen")
def assign_to_partner(redeem: RedeemRequest, partner_id: str, *, actor: str) -> None:
    services.assign_held_redeem(redeem.id, partner_id, actor)


RELEASE_SHARES = "Release shares: journaled back to the partner (reference)"


@admin.action(description=RELEASE_SHARES)
def release_shares(modeladmin, request, queryset) -> None:
    """Each burn's finality is read on chain (final_burn) before run_ledger_action's transaction, where no network
    call belongs; the release is then recorded naming the user like any other action."""
    if not request.user.has_perm(APPROVE_REDEEM):
        raise PermissionDenied
    final_burns = {}
    for redeem in queryset:
        try:
            final_burns[redeem.id] = services.final_burn(redeem.id)
        except DomainError as refusal:
            modeladmin.message_user(request, f"{redeem}: {refusal.message}", messages.ERROR)
        except ChainError as failure:
            modeladmin.message_user(request, f"{redeem}: chain unavailable ({failure}); nothing was done.",
                                    messages.ERROR)

    def record_release(redeem: RedeemRequest, reference: str, *, actor: str) -> None:
        services.release_shares(final_burns[redeem.id], actor, reference=reference)

    record_release.__name__ = "release_shares"
    ledger_action_with("reference", permission=APPROVE_REDEEM, description=RELEASE_SHARES)(record_release)(
        modeladmin, request, queryset.filter(id__in=final_burns))


release_shares.ledger_permission = APPROVE_REDEEM


@admin.register(RedeemRequest)
class RedeemRequestAdmin(QueueAdmin):
    list_display = ("id", "status", "partner", "instrument", "quantity", "request_age", "in_stage_for",
                    "from_address")
    search_fields = ("=id", "=tx_hash", "=deposit_tx_hash", "=from_address")
    action_form = RedeemActionForm
    actions = [assign_to_partner, release_shares,
               worker_step(permission=APPROVE_REDEEM, description="Process selected redemptions now",
                           process=services.process_redeem)]


# --- token deployments ---

class DeployTokenForm(forms.Form):
    symbol = forms.CharField(max_length=16, help_text="The instrument's symbol, e.g. AAPL.")
    network = forms.ChoiceField(choices=())
    decimals = forms.IntegerField(min_value=0, max_value=18, initial=18)
    token_symbol = forms.CharField(max_length=32, required=False, help_text="Empty: the symbol + “x” (AAPLx).")
    name = forms.CharField(max_length=200, required=False, help_text="Empty: “<instrument name> token”.")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["network"].choices = [(name, name) for name in sorted(settings.CHAIN_NETWORKS)]


@ledger_action_with("reason", permission=RETIRE, description="Retire selected deployments (reason)")
def retire(deployment: TokenDeployment, reason: str, *, actor: str) -> None:
    services.retire_deployment(deployment.id, actor=actor, reason=reason)


class ReasonActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, label="Reason:")


@admin.register(TokenDeployment)
class TokenDeploymentAdmin(EventSourcedAdmin):
    """The add page deploys a token through `deploy_token`; no model form ever saves a deployment."""

    list_display = ("id", "instrument", "network", "token_symbol", "contract_address", "decimals", "status",
                    "deploy_tx_block", "deployed_at")
    list_filter = ("status", NetworkFilter)
    search_fields = ("=instrument__symbol", "token_symbol", "=contract_address")
    action_form = ReasonActionForm
    actions = [retire]

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(DEPLOY)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = DeployTokenForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                deployment = run_ledger_action(request.user, DEPLOY, services.deploy_token, data["symbol"].upper(),
                                               data["network"], decimals=data["decimals"],
                                               token_symbol=data["token_symbol"] or None, name=data["name"] or None)
            except DomainError as refusal:
                form.add_error(None, refusal.message)
            except ChainError as failure:
                form.add_error(None, f"the chain did not take the deployment: {failure}")
            else:
                self.message_user(request, f"Deployed {deployment}; recorded as a ledger event by "
                                           f"{request.user.get_username()}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:issuance_tokendeployment_changelist"))
        return TemplateResponse(request, "console/service_form.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": "Deploy a token", "submit_label": "Deploy",
            "intro": "Deploys a ShareToken for the instrument on the chosen network (minter, burner and pauser "
                     "roles to the issuer's signers) and records token_deployed with your name.",
        })


@admin.register(ChainAlert)
class ChainAlertAdmin(EventSourcedAdmin, LargeTableAdmin):
    list_display = ("created_at", "severity", "kind", "network", "deployment", "tx_hash", "detail", "position")
    list_filter = ("severity", "kind", NetworkFilter)
    search_fields = ("=tx_hash",)


@admin.register(SignerNonce)
class SignerNonceAdmin(EventSourcedAdmin):
    list_display = ("id", "network", "address", "next_nonce")


@admin.register(ChainCursor)
class ChainCursorAdmin(EventSourcedAdmin):
    list_display = ("deployment", "block_number", "block_hash", "updated_at")
