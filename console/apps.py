from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.db.models.signals import post_migrate


class ConsoleConfig(AppConfig):
    """Operations and compliance console: roles, dashboard, event browser, audit export, ledger anchoring."""

    name = "console"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ledger.anchor import ANCHOR_STREAM_TYPE
        from ledger.streams import register_stream_type

        from .audit_export import EXPORT_STREAM_TYPE
        from .roles import sync_roles_after_migrate

        register_stream_type(ANCHOR_STREAM_TYPE, "head of the ledger hash chain anchored on chain (one stream per anchor contract)")
        register_stream_type(EXPORT_STREAM_TYPE, "audit exports downloaded from the console: who, which period, file hash")
        register_stream_type("console_request", "work started from the console (process now, sync now, run now): who asked")
        # Apps added later bring new permissions: re-derive the role groups after every migrate.
        post_migrate.connect(sync_roles_after_migrate, sender=self, dispatch_uid="console.sync_roles")


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin with the console's AdminSite (dashboard as index, extra views) as `admin.site`."""

    default = False  # AdminConfig says True; "console" alone must mean ConsoleConfig
    default_site = "console.admin_site.ConsoleAdminSite"
