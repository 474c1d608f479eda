from django.apps import AppConfig


class IssuanceConfig(AppConfig):
    name = "issuance"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from console.dashboard import fill_slot
        from ops.metrics import register_gauges
        from ledger import projections
        from ledger.streams import register_stream_type

        from .dashboard import cycle_times_panel, pending_requests_panel
        from .projections import IssuanceProjector

        register_stream_type("token_deployment", "a token contract deployed for an instrument on a network")
        register_stream_type("mint_request", "one mint: request, approval, shares, signed tx, broadcast, confirmation")
        register_stream_type("redeem_request", "one redemption: deposit, burn, release of shares")
        register_stream_type("signer", "nonce allocations of one signer on one network (<network>:<address>)")
        register_stream_type("chain_watch", "the chain watcher's cursor and the transfers it could not explain")
        projections.register(IssuanceProjector())
        fill_slot("pending_requests", pending_requests_panel)
        fill_slot("cycle_times", cycle_times_panel)

        from . import metrics

        register_gauges(metrics.gauges)
