from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "api"
    verbose_name = "Partner API"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.checks import register

        from ledger.streams import register_stream_type

        from . import checks
        from . import schema_extensions  # noqa: F401  (registers the bearer scheme and strict request bodies)

        register(checks.webhooks_do_not_use_environment_proxies)

        register_stream_type("api_key", "a partner API key: created, rotated, revoked (never the secret)")
