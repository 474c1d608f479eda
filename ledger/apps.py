from django.apps import AppConfig


class LedgerConfig(AppConfig):
    name = "ledger"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .streams import register_stream_type

        register_stream_type("journal", "manual journal entries and corrections posted by operations")
