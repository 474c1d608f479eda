"""Partners and their wallets in the console.

Partners are event-sourced (partner/<id>), so their model forms are read-only. Changes go through small
forms that call partners.services as the signed-in user (console.actions.run_ledger_action): the add page
creates a partner (KYC pending), the "manage" page sets KYC, caps, allowed instruments and the broker link,
the wallet add page registers a wallet, and list actions allowlist or revoke wallets.
"""
from __future__ import annotations

from collections.abc import Callable

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from console.actions import ledger_action, run_ledger_action
from console.admin_base import EventSourcedAdmin
from ledger.errors import DomainError

from . import services
from .models import Partner, Wallet

ADD_PARTNER = "partners.add_partner"
CHANGE_PARTNER = "partners.change_partner"
ADD_WALLET = "partners.add_wallet"
CHANGE_WALLET = "partners.change_wallet"


def _symbols(text: str) -> list[str]:
    return [symbol for symbol in text.replace(",", " ").split() if symbol]


def _network_choices() -> list[tuple[str, str]]:
    return [(name, name) for name in sorted(settings.CHAIN_NETWORKS)]


class CapsFields(forms.Form):
    per_request_cap = forms.DecimalField(required=False, min_value=0, decimal_places=18, max_digits=38,
                                         help_text="Most tokens one mint request may ask for. Empty: no cap.")
    daily_cap = forms.DecimalField(required=False, min_value=0, decimal_places=18, max_digits=38,
                                   help_text="Most tokens requested per UTC day, all instruments. Empty: no cap.")


class BrokerLinkFields(forms.Form):
    broker_client_id = forms.CharField(max_length=64, required=False,
                                       help_text="The partner's account id at the broker (ITN client_id).")
    custody_account = forms.CharField(max_length=50, required=False,
                                      help_text="Custody account its shares are journaled into and out of.")


class CreatePartnerForm(CapsFields, BrokerLinkFields):
    partner_id = forms.CharField(max_length=64, help_text="Lowercase letters, digits and dashes; used in ledger "
                                                          "accounts (partner:<id>:...). Cannot change later.")
    name = forms.CharField(max_length=200)
    allowed_symbols = forms.CharField(required=False, help_text="Instrument symbols, separated by spaces or commas.")

    field_order = ["partner_id", "name", "allowed_symbols", "per_request_cap", "daily_cap", "broker_client_id",
                   "custody_account"]


class KycForm(forms.Form):
    kyc_status = forms.ChoiceField(choices=Partner.KycStatus.choices)
    reason = forms.CharField(max_length=500, required=False)


class AllowedInstrumentsForm(forms.Form):
    allowed_symbols = forms.CharField(required=False, help_text="Instrument symbols, separated by spaces or commas. "
                                                                "Empty: none.")


class CapsForm(CapsFields):
    pass


class BrokerLinkForm(BrokerLinkFields):
    pass


def _set_kyc_status(partner_id: str, data: dict, *, actor: str) -> Partner:
    return services.set_kyc_status(partner_id, data["kyc_status"], actor=actor, reason=data["reason"])


def _set_allowed_instruments(partner_id: str, data: dict, *, actor: str) -> Partner:
    return services.set_allowed_instruments(partner_id, _symbols(data["allowed_symbols"]), actor=actor)


def _set_caps(partner_id: str, data: dict, *, actor: str) -> Partner:
    return services.set_caps(partner_id, per_request_cap=data["per_request_cap"], daily_cap=data["daily_cap"],
                             actor=actor)


def _set_broker_link(partner_id: str, data: dict, *, actor: str) -> Partner:
    return services.set_broker_link(partner_id, broker_client_id=data["broker_client_id"],
                                    custody_account=data["custody_account"], actor=actor)


# One form per change on the manage page: (form, service call, what the success message says was changed).
MANAGE_FORMS: dict[str, tuple[type[forms.Form], Callable[..., Partner], str]] = {
    "kyc": (KycForm, _set_kyc_status, "KYC status"),
    "instruments": (AllowedInstrumentsForm, _set_allowed_instruments, "allowed instruments"),
    "caps": (CapsForm, _set_caps, "caps"),
    "broker": (BrokerLinkForm, _set_broker_link, "broker link"),
}


def _initial(partner: Partner) -> dict[str, dict]:
    return {
        "kyc": {"kyc_status": partner.kyc_status},
        "instruments": {"allowed_symbols": " ".join(partner.allowed_symbols)},
        "caps": {"per_request_cap": partner.per_request_cap, "daily_cap": partner.daily_cap},
        "broker": {"broker_client_id": partner.broker_client_id, "custody_account": partner.custody_account},
    }


class WalletInline(admin.TabularInline):
    model = Wallet
    extra = 0
    can_delete = False
    fields = readonly_fields = ("network", "address", "status", "label", "allowlisted_by", "registered_at")

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Partner)
class PartnerAdmin(EventSourcedAdmin):
    list_display = ("id", "name", "kyc_status", "allowed_symbols", "per_request_cap", "daily_cap", "broker_client_id",
                    "custody_account", "updated_at")
    list_filter = ("kyc_status",)
    search_fields = ("id", "name")
    inlines = [WalletInline]

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        return (*shown, "manage") if request.user.has_perm(CHANGE_PARTNER) else shown

    @admin.display(description="Change")
    def manage(self, partner: Partner) -> str:
        return format_html('<a href="{}">manage</a>', reverse("admin:partners_partner_manage", args=[partner.id]))

    def get_urls(self):
        return [path("<str:partner_id>/manage/", self.admin_site.admin_view(self.manage_view),
                     name="partners_partner_manage"), *super().get_urls()]

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(ADD_PARTNER)

    def add_view(self, request, form_url="", extra_context=None):
        """Create a partner through `create_partner` (KYC pending); no model form ever saves one."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = CreatePartnerForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                partner = run_ledger_action(
                    request.user, ADD_PARTNER, services.create_partner, data["partner_id"], data["name"],
                    allowed_symbols=_symbols(data["allowed_symbols"]), per_request_cap=data["per_request_cap"],
                    daily_cap=data["daily_cap"], broker_client_id=data["broker_client_id"],
                    custody_account=data["custody_account"])
            except DomainError as refusal:
                form.add_error(None, refusal.message)
            else:
                self.message_user(request, f"Partner {partner.id} created (KYC pending); recorded as a ledger event "
                                           f"by {request.user.get_username()}.", messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:partners_partner_manage", args=[partner.id]))
        return TemplateResponse(request, "console/service_form.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": "New partner", "submit_label": "Create partner",
            "intro": "Creates the partner with KYC pending: it can mint or redeem nothing until its KYC is approved "
                     "and a wallet is allowlisted.",
        })

    def manage_view(self, request, partner_id: str):
        """KYC, allowed instruments, caps and broker link: one small form per change, each a ledger event."""
        if not request.user.has_perm(CHANGE_PARTNER):
            raise PermissionDenied
        partner = get_object_or_404(Partner, id=partner_id)
        posted = request.POST.get("form") if request.method == "POST" else None
        forms_shown = {}
        for key, (form_class, call, what) in MANAGE_FORMS.items():
            form = form_class(request.POST if key == posted else None, initial=_initial(partner)[key], prefix=key)
            if key == posted and form.is_valid():
                try:
                    run_ledger_action(request.user, CHANGE_PARTNER, call, partner.id, form.cleaned_data)
                except DomainError as refusal:
                    form.add_error(None, refusal.message)
                else:
                    self.message_user(request, f"{partner.id}: {what} changed; recorded as a ledger event by "
                                               f"{request.user.get_username()}.", messages.SUCCESS)
                    return HttpResponseRedirect(request.path)
            forms_shown[key] = form
        return TemplateResponse(request, "admin/partners/partner/manage.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "partner": partner,
            "title": f"Manage partner {partner.id}", "forms": forms_shown,
            "wallets": partner.wallets.all(),
        })


# --- wallets ---

class RegisterWalletForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=Partner.objects.all())
    network = forms.ChoiceField(choices=())
    address = forms.CharField(max_length=42, help_text="0x… address the partner controls.")
    label = forms.CharField(max_length=100, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["network"].choices = _network_choices()


class WalletActionForm(ActionForm):
    reason = forms.CharField(required=False, max_length=500, label="Reason (revoke):")


@ledger_action(permission=CHANGE_WALLET, description="Allowlist selected wallets (they may receive mints)")
def allowlist(wallet: Wallet, *, actor: str) -> None:
    services.allowlist_wallet(wallet.partner_id, wallet.network, wallet.address, actor=actor)


@admin.action(description="Revoke selected wallets (reason)")
def revoke(modeladmin, request, queryset) -> None:
    reason = str(request.POST.get("reason", "")).strip()

    def revoke_wallet(wallet: Wallet, *, actor: str) -> None:
        services.revoke_wallet(wallet.partner_id, wallet.network, wallet.address, actor=actor, reason=reason)

    ledger_action(permission=CHANGE_WALLET, description="Revoke selected wallets")(revoke_wallet)(
        modeladmin, request, queryset)


revoke.ledger_permission = CHANGE_WALLET


@admin.register(Wallet)
class WalletAdmin(EventSourcedAdmin):
    """The add page registers a wallet through `register_wallet`; allowlisting is a separate decision."""

    list_display = ("address", "network", "partner", "status", "label", "allowlisted_by", "registered_at", "updated_at")
    list_filter = ("status", "network")
    search_fields = ("=address", "partner__id", "label")
    list_select_related = ("partner",)
    action_form = WalletActionForm
    actions = [allowlist, revoke]

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.has_perm(ADD_WALLET)

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = RegisterWalletForm(request.POST or None, initial={"partner": request.GET.get("partner")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                wallet = run_ledger_action(request.user, ADD_WALLET, services.register_wallet, data["partner"].id,
                                           data["network"], data["address"], label=data["label"])
            except DomainError as refusal:
                form.add_error(None, refusal.message)
            else:
                self.message_user(request, f"{wallet} registered; allowlist it to let it receive mints.",
                                  messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:partners_wallet_changelist"))
        return TemplateResponse(request, "console/service_form.html", {
            **self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
            "title": "Register a wallet", "submit_label": "Register wallet",
            "intro": "Records a wallet the partner says it controls. It receives nothing until it is allowlisted.",
        })
