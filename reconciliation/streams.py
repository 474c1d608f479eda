"""The ledger streams reconciliation writes (registered in ReconciliationConfig.ready()).

- `reconciliation_run/<run id>`: run_started, source_fetched (one per custody account, network and the
  ledger: status, as-of, pinned block, sha256 of the data read), instrument_reconciled (one per instrument:
  every number compared and the verdict), break_detected, then run_completed or run_incomplete.
- `reconciliation_break/<break id>`: break_opened, break_seen_again, break_acknowledged, break_resolved,
  break_auto_closed. A break's id is new each time a difference opens; its `key` (kind:symbol:subject) says
  which difference it is, so a later run finds it again or closes it.
- `reconciliation_aggregator/<network>`: aggregator_deployed, the aggregate3 contract supply reads go through.
"""
RUN = "reconciliation_run"
BREAK = "reconciliation_break"
AGGREGATOR = "reconciliation_aggregator"

DESCRIPTIONS = {
    RUN: "one reconciliation run: what it read from every source, per-instrument verdicts, breaks found",
    BREAK: "lifecycle of one reconciliation break: opened, seen again, acknowledged, resolved or auto-closed",
    AGGREGATOR: "the aggregate3 contract reconciliation reads token supplies through, per network",
}
