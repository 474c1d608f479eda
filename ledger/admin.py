"""Event browser: the ledger's events and postings, read-only for everyone.

The events table may hold millions of rows, so lists never count or sort beyond the primary key (see
console.admin_base.LargeTableAdmin) and filters take typed values instead of listing DISTINCT choices.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html

from console.admin_base import EventSourcedAdmin, LargeTableAdmin
from console.chain_status import verify_through
from console.filters import TextInputFilter

from .canonical import decimal_str
from .models import Event, Posting
from .streams import stream_types


class StreamTypeFilter(admin.SimpleListFilter):
    title = "stream type"
    parameter_name = "stream_type"

    def lookups(self, request, model_admin):
        return [(name, name) for name in sorted(stream_types())]

    def queryset(self, request, queryset):
        return queryset.filter(stream_type=self.value()) if self.value() else queryset


class EventTypeFilter(TextInputFilter):
    title = "event type"
    parameter_name = "event_type"
    placeholder = "e.g. mint_confirmed"

    def filter(self, queryset, value):
        return queryset.filter(event_type=value)


class ActorFilter(TextInputFilter):
    title = "actor"
    parameter_name = "actor"
    placeholder = "user:alice, system:…, partner:…"

    def filter(self, queryset, value):
        return queryset.filter(metadata__actor=value)


class AccountFilter(TextInputFilter):
    title = "account"
    parameter_name = "account"
    placeholder = "custody:alpaca-main:AAPL"

    def filter(self, queryset, value):
        return queryset.filter(account=value)


class AssetFilter(TextInputFilter):
    title = "asset"
    parameter_name = "asset"
    placeholder = "AAPL, USD"

    def filter(self, queryset, value):
        return queryset.filter(asset=value)


def stream_history_url(stream_type: str, stream_id: str) -> str:
    return reverse("admin:ledger_event_changelist") + "?" + urlencode({"stream_type": stream_type, "stream_id": stream_id})


def utc_timestamp(moment: datetime) -> str:
    """The ledger's own timestamp form, exact to the microsecond (paste it into "as known at")."""
    return f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%S.%fZ}"


def pretty_json(value) -> str:
    return format_html('<pre class="console-json">{}</pre>', json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False))


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ("seq", "account", "asset", "amount_exact")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="amount")
    def amount_exact(self, posting: Posting) -> str:
        return decimal_str(posting.amount)


@admin.register(Event)
class EventAdmin(LargeTableAdmin, EventSourcedAdmin):
    list_display = ("position", "recorded", "stream", "version", "event_type", "actor", "short_hash")
    list_display_links = ("position",)
    list_filter = (StreamTypeFilter, EventTypeFilter, ActorFilter)
    date_hierarchy = "recorded_at"
    search_fields = ("stream_id",)
    search_help_text = "Exact stream id (e.g. a request id), or #position."
    ordering = ("-position",)
    actions = None
    inlines = (PostingInline,)
    fieldsets = (
        (None, {"fields": ("position", "stream", "version", "event_type", "schema_version", "actor",
                           "recorded_exactly", "effective_exactly")}),
        ("Content", {"fields": ("payload_json", "metadata_json")}),
        ("Hash chain", {"fields": ("prev_hash", "hash", "chain_status")}),
    )
    readonly_fields = ("position", "stream", "version", "event_type", "schema_version", "actor", "recorded_exactly",
                       "effective_exactly", "payload_json", "metadata_json", "prev_hash", "hash", "chain_status")

    class Media:
        css = {"all": ["console/console.css"]}

    def change_view(self, request, object_id, form_url="", extra_context=None):
        event = self.get_object(request, object_id)
        extra = {"stream_history_url": stream_history_url(event.stream_type, event.stream_id)} if event else {}
        first_posting = event.postings.order_by("seq").first() if event else None
        if first_posting is not None:  # time travel: what the ledger said about this account right after the event
            extra["balances_then_url"] = reverse("admin:console_balances") + "?" + urlencode({
                "account": first_posting.account, "known_at": utc_timestamp(event.recorded_at)})
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def get_search_results(self, request, queryset, search_term):
        """Exact matches that use indexes: stream id through (stream_type, stream_id, version) for every
        registered stream type; "#123" or "123" also by position."""
        term = search_term.strip()
        if not term:
            return queryset, False
        match = Q(stream_type__in=list(stream_types()), stream_id=term)
        digits = term.removeprefix("#")
        if digits.isdigit():
            match |= Q(position=int(digits))
        return queryset.filter(match), False

    @admin.display(description="stream")
    def stream(self, event: Event) -> str:
        return format_html('<a href="{}" title="full history of this stream">{}/{}</a>',
                           stream_history_url(event.stream_type, event.stream_id), event.stream_type, event.stream_id)

    @admin.display(description="recorded at (UTC)")
    def recorded(self, event: Event) -> str:
        return f"{event.recorded_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}"

    @admin.display(description="recorded at (transaction time, UTC)")
    def recorded_exactly(self, event: Event) -> str:
        return utc_timestamp(event.recorded_at)

    @admin.display(description="effective at (valid time, UTC)")
    def effective_exactly(self, event: Event) -> str:
        return utc_timestamp(event.effective_at)

    @admin.display(description="actor")
    def actor(self, event: Event) -> str:
        return event.metadata.get("actor", "")

    @admin.display(description="hash")
    def short_hash(self, event: Event) -> str:
        return format_html('<code title="{}">{}…</code>', event.hash, event.hash[:12])

    @admin.display(description="payload")
    def payload_json(self, event: Event) -> str:
        return pretty_json(event.payload)

    @admin.display(description="metadata")
    def metadata_json(self, event: Event) -> str:
        return pretty_json(event.metadata)

    @admin.display(description="chain verified up to here")
    def chain_status(self, event: Event) -> str:
        status = verify_through(event.position)
        if status.altered:
            return format_html('<strong class="console-bad" data-chain="altered">✘ altered since verified: position {}: '
                               '{}</strong>', status.broken_at, status.problem)
        if status.broken_at is not None and status.broken_at <= event.position:
            return format_html('<strong class="console-bad" data-chain="broken">✘ chain broken at position {}: {}</strong>',
                               status.broken_at, status.problem)
        if status.covers(event.position):
            return format_html('<strong class="console-ok" data-chain="verified">✔ verified: this event re-hashed just now '
                               'and links to the chain; positions 1..{} verified at {} UTC</strong>',
                               status.verified_through, f"{status.verified_at:%Y-%m-%d %H:%M:%S}")
        return format_html('<span data-chain="pending">not verified yet: verified through position {}; the periodic '
                           'verification or <code>manage.py verify_ledger</code> will reach this event</span>',
                           status.verified_through)


@admin.register(Posting)
class PostingAdmin(LargeTableAdmin, EventSourcedAdmin):
    list_display = ("event_link", "seq", "account", "asset", "amount_exact", "effective", "recorded")
    list_filter = (AccountFilter, AssetFilter)
    ordering = ("-event", "-seq")
    actions = None
    fields = ("event_link", "seq", "account", "asset", "amount_exact", "effective", "recorded")
    readonly_fields = fields

    @admin.display(description="amount")
    def amount_exact(self, posting: Posting) -> str:
        return decimal_str(posting.amount)

    @admin.display(description="effective at (UTC)")
    def effective(self, posting: Posting) -> str:
        return utc_timestamp(posting.effective_at)

    @admin.display(description="recorded at (UTC)")
    def recorded(self, posting: Posting) -> str:
        return utc_timestamp(posting.recorded_at)

    @admin.display(description="event")
    def event_link(self, posting: Posting) -> str:
        return format_html('<a href="{}">#{}</a>', reverse("admin:ledger_event_change", args=[posting.event_id]),
                           posting.event_id)
