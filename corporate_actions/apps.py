from django.apps import AppConfig


class CorporateActionsConfig(AppConfig):
    name = "corporate_actions"
    verbose_name = "Corporate actions and dividends"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from ledger import projections
        from ledger.streams import register_stream_type

        from . import streams
        from .projections import CorporateActionsProjector

        for stream_type, description in streams.DESCRIPTIONS.items():
            register_stream_type(stream_type, description)
        projections.register(CorporateActionsProjector())

        from issuance.watcher import register_mint_explainer

        from .reports import explained_mint_tx_hashes

        register_mint_explainer(explained_mint_tx_hashes)  # reinvest and split mints are ours, not unexplained
