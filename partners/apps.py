from django.apps import AppConfig


class PartnersConfig(AppConfig):
    name = "partners"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ledger import projections
        from ledger.streams import register_stream_type

        from .projections import PartnerProjector

        register_stream_type("partner", "authorized participants: onboarding, KYC, caps, allowed instruments, wallets")
        projections.register(PartnerProjector())
