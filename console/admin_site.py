"""The admin site of the console: the dashboard is its index, plus balances, audit export and anchor pages.

Installed as `django.contrib.admin.site` through console.apps.ConsoleAdminConfig, so every app's
`@admin.register` lands here and config/urls.py keeps `admin.site.urls`.
"""
from __future__ import annotations

from functools import partial

from django.contrib import admin
from django.urls import path

from . import views


class ConsoleAdminSite(admin.AdminSite):
    site_header = "shareledger operations"
    site_title = "shareledger console"
    index_title = "Operations dashboard"

    def index(self, request, extra_context=None):
        return views.dashboard(self, request)

    def get_urls(self):
        def page(view, **kwargs):
            return self.admin_view(partial(view, self, **kwargs))

        return [
            path("console/balances/", page(views.balances), name="console_balances"),
            path("console/export/", page(views.audit_export), name="console_export"),
            path("console/anchor/", page(views.anchor_check), name="console_anchor"),
            path("console/instruments/<str:symbol>/<str:change>/", page(views.change_instrument_status),
                 name="console_instrument_status"),
            *super().get_urls(),
        ]
