"""Public proof of reserves for one token, from the latest current run (not one as of a past time) that checked
its instrument.

What it shows is exactly what that run recorded (its `instrument_reconciled` event): supply per network at
the pinned blocks, shares held, the part of them that is not ours to back tokens (owed back to partners for
tokens burned, leaving by journal, journaled in and claimed by no request), the shares free to back tokens, the
backing ratio (free shares per token outstanding: shares that are not ours must not count as backing), the
as-of time of the oldest source behind the figures, the run id and the hash of the run's events. A run recorded
before runs split out the free shares has no free figure: its proof shows null for it and for the ratio rather
than a ratio over every share held. To check it against an exported ledger: take the events of
stream `reconciliation_run/<run_id>` in version order and fold their `hash` fields,
d = sha256_hex(d + hash) from d = 64 zeros; the result is `run_events_sha256`, and the last one's hash is
`run_last_event_hash` (which the ledger's hash chain links to every earlier event).
"""
from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from issuance.models import TokenDeployment
from ledger import store
from ledger.canonical import EXACT, normalize_json

from .errors import NoReconciliationYet, UnknownToken
from .models import InstrumentResult

RATIO_PLACES = Decimal("0.000001")
VERIFICATION = ("Fold the hashes of the events of stream reconciliation_run/<run_id> in version order: "
                "d = sha256_hex(d + event.hash), starting from 64 zeros; compare with run_events_sha256.")


def proof_of_reserves(token_symbol: str) -> dict:
    """JSON-safe proof for a token symbol (e.g. "AAPLx"): decimals and times are canonical strings."""
    deployment = (TokenDeployment.objects.filter(token_symbol=token_symbol).select_related("instrument").first()
                  or TokenDeployment.objects.filter(token_symbol__iexact=token_symbol).select_related("instrument").first())
    if deployment is None:
        raise UnknownToken(f"no token with symbol {token_symbol!r}")
    instrument = deployment.instrument
    # A run as of a past time describes the past: the proof is the latest run of the present.
    result = (InstrumentResult.objects.filter(symbol=instrument.symbol, status__in=["clean", "breaks"],
                                              run__requested_as_of__isnull=True)
              .select_related("run").order_by("-position").first())
    if result is None:
        raise NoReconciliationYet(f"no reconciliation has checked {instrument.symbol} yet")
    run = result.run
    deployments = {row.id: row for row in TokenDeployment.objects.filter(instrument=instrument)}
    recorded = _recorded_figures(result)
    not_ours = recorded.get("not_ours") or {}
    shares_free = recorded.get("shares_free")
    networks = []
    for network, supply in sorted(result.supply_by_network.items()):
        tokens = [{"token_symbol": deployments[deployment_id].token_symbol,
                   "contract_address": deployments[deployment_id].contract_address,
                   "chain_id": deployments[deployment_id].chain_id, "base_units": units,
                   "decimals": deployments[deployment_id].decimals}
                  for deployment_id, units in sorted(supply.get("base_units", {}).items()) if deployment_id in deployments]
        networks.append({"network": network, "tokens_outstanding": supply["tokens"],
                         "tokens_outstanding_in_shares": supply["shares"], "block_number": supply.get("block_number"),
                         "tokens": tokens})
    return normalize_json({
        "token_symbol": deployment.token_symbol, "instrument": instrument.symbol, "isin": instrument.isin,
        "tokens_per_share": instrument.tokens_per_share,
        "supply_by_network": networks,
        "tokens_outstanding_in_shares": result.tokens_outstanding,
        "shares_held": result.shares_in_custody,
        "shares_owed_back": not_ours.get("owed_back"), "shares_leaving": not_ours.get("leaving"),
        "shares_unclaimed": not_ours.get("unclaimed"), "shares_free": shares_free,
        "backing_ratio": backing_ratio(shares_free, result.tokens_outstanding),
        "status": result.status,
        "as_of": _oldest_source_time(run.sources, result),
        "run_id": run.run_id, "run_finished_at": run.finished_at,
        "run_events_sha256": run.events_sha256,
        "run_last_event_position": run.last_position, "run_last_event_hash": run.last_event_hash,
        "instrument_event_position": result.position,
        "verification": VERIFICATION,
    }, "proof")


def backing_ratio(shares_free: Decimal | str | None, tokens_in_shares: Decimal | None) -> Decimal | None:
    """Shares free to back tokens per token outstanding (share equivalents), rounded down: never overstates the
    backing. None when no tokens are outstanding or the free shares are unknown."""
    if not tokens_in_shares or shares_free is None:
        return None
    return EXACT.divide(Decimal(shares_free), tokens_in_shares).quantize(RATIO_PLACES, rounding=ROUND_DOWN)


def _recorded_figures(result: InstrumentResult) -> dict:
    """The payload of the result's `instrument_reconciled` event: what the run recorded beyond the projection's
    columns (the shares free to back tokens and the ones that are not ours), as canonical strings."""
    (event,) = store.read_all(after_position=result.position - 1, limit=1, event_types=["instrument_reconciled"])
    return event.payload


def _oldest_source_time(sources: list[dict], result: InstrumentResult) -> str | None:
    """The as-of of the oldest source the instrument's figures come from: the proof is no fresher than that."""
    used = {f"custody:{account}" for account in result.custody_by_account} | \
           {f"chain:{network}" for network in result.supply_by_network}
    times = [source["as_of"] for source in sources if source["source"] in used and source.get("as_of")]
    return min(times, key=datetime.fromisoformat) if times else None
