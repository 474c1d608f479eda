"""Prometheus gauges of issuance: mint cycle time percentiles per stage (registered with ops.metrics)."""
from __future__ import annotations

from .stats import cycle_time_stats


def gauges() -> list[str]:
    stats = cycle_time_stats()
    lines = ["# HELP shareledger_mint_cycle_seconds Mint cycle time over completed mints, by stage and quantile.",
             "# TYPE shareledger_mint_cycle_seconds gauge"]
    for stage, figures in stats.items():
        if not isinstance(figures, dict):
            continue
        for quantile, key in (("0.5", "p50"), ("0.95", "p95")):
            if figures[key] is not None:
                lines.append(f'shareledger_mint_cycle_seconds{{stage="{stage}",quantile="{quantile}"}} {figures[key]}')
    lines += ["# HELP shareledger_mints_completed Completed mints the cycle times are computed over.",
              "# TYPE shareledger_mints_completed gauge", f"shareledger_mints_completed {stats['count']}"]
    return lines
