from django.apps import AppConfig


class ReconciliationConfig(AppConfig):
    name = "reconciliation"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from console.dashboard import fill_slot
        from ops.metrics import register_gauges
        from ledger import projections
        from ledger.streams import register_stream_type

        from . import streams
        from .dashboard import freshness_panel, open_breaks_panel
        from .projections import ReconciliationProjector

        for stream_type, description in streams.DESCRIPTIONS.items():
            register_stream_type(stream_type, description)
        projections.register(ReconciliationProjector())
        fill_slot("open_breaks", open_breaks_panel)
        fill_slot("freshness", freshness_panel)

        from . import metrics

        register_gauges(metrics.gauges)
