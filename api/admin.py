"""Operations manage partner API keys and see webhook deliveries here.

Keys change only through api.keys (each change an event naming the user): the add form calls
`create_api_key` and shows the new key once; revoke and rotate are actions. Disabling an endpoint and
redelivering are actions too, each use recorded as a console request naming the user. Rows themselves are
read-only."""
from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models, transaction
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from console.requests import record_request
from ledger.errors import DomainError
from partners.models import Partner

from . import keys
from .models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .webhooks import delivery as webhook_delivery
from .webhooks import endpoints as webhook_endpoints


def _actor(request) -> str:
    return f"user:{request.user.get_username()}"


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ActionsOnlyAdmin(ReadOnlyAdmin):
    """Read-only rows with actions that need the model's change permission. Django asks for that permission
    without an object on the change list, where the actions run, and with one on a row's page: there the
    answer stays no, so the page never offers a save that would write back a row the deliverer may have
    moved on meanwhile."""

    def has_change_permission(self, request, obj=None) -> bool:
        opts = self.model._meta
        return obj is None and request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


class CreateApiKeyForm(forms.Form):
    partner = forms.ModelChoiceField(queryset=Partner.objects.all())
    scopes = forms.MultipleChoiceField(choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple,
                                       initial=["read"])
    expires_in_days = forms.IntegerField(min_value=1, required=False, help_text="Empty: never expires.")


@admin.register(ApiKey)
class ApiKeyAdmin(ReadOnlyAdmin):
    list_display = ["prefix", "partner", "scopes", "created_at", "created_by", "expires_at", "revoked_at",
                    "last_used_at"]
    list_filter = ["revoked_at"]
    search_fields = ["prefix", "partner__id", "partner__name"]
    exclude = ["secret_sha256"]
    actions = ["revoke", "rotate"]
    change_list_template = "admin/api/apikey/change_list.html"

    def get_urls(self):
        return [path("create/", self.admin_site.admin_view(self.create_view), name="api_apikey_create"),
                *super().get_urls()]

    def create_view(self, request):
        if not request.user.has_perm("api.add_apikey"):
            raise PermissionDenied
        form = CreateApiKeyForm(request.POST or None)
        issued = None
        if request.method == "POST" and form.is_valid():
            days = form.cleaned_data["expires_in_days"]
            try:
                issued = keys.create_api_key(
                    form.cleaned_data["partner"].id, scopes=form.cleaned_data["scopes"], actor=_actor(request),
                    expires_at=timezone.now() + timedelta(days=days) if days else None)
            except DomainError as refusal:
                form.add_error(None, refusal.message)
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "form": form,
                   "issued": issued, "title": "Create an API key"}
        return TemplateResponse(request, "admin/api/apikey/create.html", context)

    @admin.action(description="Revoke selected keys now", permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset:
            try:
                keys.revoke_api_key(api_key.prefix, actor=_actor(request), reason="revoked in the admin")
                self.message_user(request, f"{api_key.prefix} revoked")
            except DomainError as refusal:
                self.message_user(request, f"{api_key.prefix}: {refusal.message}", messages.ERROR)

    @admin.action(description="Rotate selected keys (old key valid 24 h)", permissions=["change"])
    def rotate(self, request, queryset):
        for api_key in queryset:
            try:
                issued = keys.rotate_api_key(api_key.prefix, actor=_actor(request))
                self.message_user(request, f"{api_key.prefix} replaced; copy the new key now, it is not shown "
                                           f"again: {issued.token}", messages.WARNING)
            except DomainError as refusal:
                self.message_user(request, f"{api_key.prefix}: {refusal.message}", messages.ERROR)

    def has_change_permission(self, request, obj=None) -> bool:
        # Needed for the actions; the form itself stays read-only (every field is read-only below).
        return request.user.has_perm("api.change_apikey")

    def get_readonly_fields(self, request, obj=None):
        return [field.name for field in self.model._meta.fields if field.name != "secret_sha256"]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "create_url": reverse("admin:api_apikey_create")}
        return super().changelist_view(request, extra_context)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(ActionsOnlyAdmin):
    list_display = ["id", "partner", "url", "active", "created_at", "disabled_at"]
    list_filter = ["active"]
    search_fields = ["partner__id", "url"]
    exclude = ["secret"]
    actions = ["disable"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # webhook URLs are https in production

    @admin.action(description="Disable selected endpoints", permissions=["change"])
    def disable(self, request, queryset):
        for endpoint in queryset:
            with transaction.atomic():
                record_request("webhook_endpoint_disable", _actor(request), endpoint=endpoint.pk,
                               partner=endpoint.partner_id)
                webhook_endpoints.disable_endpoint(endpoint)
        self.message_user(request, f"{queryset.count()} endpoint(s) disabled")


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    readonly_fields = ["number", "attempted_at", "status_code", "error", "duration_ms"]

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ActionsOnlyAdmin):
    list_display = ["event_id", "event_type", "endpoint", "status", "attempts", "last_status_code", "next_attempt_at",
                    "created_at"]
    list_filter = ["status", "event_type"]
    search_fields = ["event_id", "endpoint__partner__id"]
    inlines = [WebhookAttemptInline]
    actions = ["redeliver"]

    @admin.action(description="Redeliver selected (fresh attempts, same event id)", permissions=["change"])
    def redeliver(self, request, queryset):
        from .tasks import deliver_webhook

        for item in queryset:
            with transaction.atomic():
                record_request("webhook_redelivery", _actor(request), delivery=item.pk, event_id=item.event_id,
                               endpoint=item.endpoint_id)
                webhook_delivery.redeliver(item)
            deliver_webhook.delay(item.pk)
        self.message_user(request, f"{queryset.count()} delivery(ies) queued again")
