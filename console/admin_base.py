"""Base admin for state that only events change (event log, and later mint requests, breaks, instruments' status).

Model forms can show such state but never save it: add, change and delete are refused for everyone, superusers
included, on the server (Django checks these on every view and POST, not only when drawing buttons).
Changes go through actions made with `console.actions.ledger_action`, shown only to users holding the
action's permission and checked again when run.
"""
from __future__ import annotations

from django.contrib import admin
from django.contrib.admin.views.main import ChangeList

from .paginator import LookaheadPaginator


class EventSourcedAdmin(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_actions(self, request):
        def allowed(action) -> bool:
            permission = getattr(action, "ledger_permission", None)
            return permission is None or request.user.has_perm(permission)

        return {name: entry for name, entry in super().get_actions(request).items() if allowed(entry[0])}


class LargeTableChangeList(ChangeList):
    def get_results(self, request):
        super().get_results(request)
        if not self.multi_page:  # Django would run the (maybe scanning) query again; reuse the keys already read
            self.result_list = self.paginator.page(1).object_list


class LargeTableAdmin(admin.ModelAdmin):
    """List settings for tables of millions of rows: no COUNT(*), no facet counts, no sorting by other columns,
    no "show all"."""

    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    sortable_by = ()
    list_per_page = 100
    list_max_show_all = 0

    def get_changelist(self, request, **kwargs):
        return LargeTableChangeList

    def get_paginator(self, request, queryset, per_page, orphans=0, allow_empty_first_page=True):
        try:
            page_number = int(request.GET.get("p", 1))
        except ValueError:
            page_number = 1
        return LookaheadPaginator(queryset, per_page, page_number=page_number, orphans=orphans,
                                  allow_empty_first_page=allow_empty_first_page)
