"""The chain watcher: follows the Transfer logs of every deployment (retired ones too: their tokens still move) from
a stored cursor, only as far as blocks with enough confirmations, and records what the 1:1 promise depends on
(stream chain_watch/<id>):

- a mint or burn no request of ours made: `unexplained_*_observed`, a critical alert, and postings that keep
  the ledger's supply equal to the chain's (against suspense:unknown-transfer:<network>:<SYMBOL>);
- tokens arriving at the redemption wallet: a redemption (held for ops when the sender is no partner's
  allowlisted wallet or the tokens are not an exact number of shares);
- the cursor (`chain_scanned`), at least every CHAIN_CURSOR_CHECKPOINT_BLOCKS blocks and with every finding.

An RPC outage leaves the cursor where it was; the next run resumes from it. If the block under the cursor
changed (a reorg deeper than the confirmations), the cursor is rewound by the network's reorg window and the
range is read again; findings are de-duplicated by (tx hash, ordinal of the finding among those of its kind in the
transaction), never by the block-wide log index, which changes when a reorg re-includes a transaction elsewhere.
It also re-checks recently confirmed mints and burns: one that left the chain is reversed (`mint_reorged`,
`burn_reorged`) and rebroadcast.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import QuerySet

from chain.errors import ChainError
from chain.reads import transfer_logs
from chain.rpc import UNREACHABLE_ERRORS
from chain.tx import TxState, TxStatus, receipt_status
from ledger import store
from ledger.errors import ConcurrencyError
from ledger.store import NewEvent, Posting, StreamAppend
from partners.addresses import ZERO_ADDRESS, checksum_address
from partners.services import allowlisted_wallet_owner

from . import chain_client
from .models import ChainAlert, ChainCursor, MintRequest, RedeemRequest, TokenDeployment
from .errors import InvalidQuantity
from .quantities import from_base_units, shares_rounded_down
from .redemptions import deposit_event, reverse_burn
from .services import SYSTEM_ACTOR, _move, pending_mint_account, supply_account

WATCHER_ACTOR = "system:chain-watcher"


@dataclass
class WatchSummary:
    deployments_scanned: int = 0
    unexplained: int = 0
    deposits: int = 0
    reorged_mints: list[str] = field(default_factory=list)
    reorged_burns: list[str] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)  # network -> why


_mint_explainers: list[Callable[[str, set[str]], set[str]]] = []


def register_mint_explainer(explain: Callable[[str, set[str]], set[str]]) -> None:
    """Other apps that mint through their own requests (dividend reinvestment, splits) register
    explain(network, tx_hashes) -> the hashes that are theirs, so the watcher does not report their mints
    as unexplained (they book their own supply postings)."""
    _mint_explainers.append(explain)


def suspense_account(network: str, symbol: str) -> str:
    return f"suspense:unknown-transfer:{network}:{symbol}"


def watch_chains() -> WatchSummary:
    summary = WatchSummary()
    for deployment in TokenDeployment.objects.select_related("instrument"):
        if deployment.network in summary.unavailable:
            continue
        # A node that stops answering after its client was made fails reads not wrapped as ChainUnavailable.
        try:
            try:
                watch_deployment(deployment, summary)
            except ConcurrencyError:  # a partner filed a deposit in this range meanwhile: read the range again
                watch_deployment(deployment, summary)
            summary.deployments_scanned += 1
        except (ChainError, *UNREACHABLE_ERRORS) as failure:  # resume from the stored cursor next time
            summary.unavailable[deployment.network] = str(failure)
    for network in chain_client.networks():
        if network.name not in summary.unavailable:
            try:
                summary.reorged_mints += recheck_recent_mints(network)
                summary.reorged_burns += recheck_recent_burns(network)
            except (ChainError, *UNREACHABLE_ERRORS) as failure:
                summary.unavailable[network.name] = str(failure)
    return summary


def watch_deployment(deployment: TokenDeployment, summary: WatchSummary | None = None) -> None:
    summary = summary or WatchSummary()
    network = chain_client.network(deployment.network)
    w3 = chain_client.web3_for(network)
    safe_head = w3.eth.block_number - network.confirmations + 1
    cursor = ChainCursor.objects.filter(deployment=deployment).first()
    version = cursor.stream_version if cursor else 0
    watch_events: list[NewEvent] = []
    start = cursor.block_number + 1 if cursor else deployment.deploy_tx_block
    if cursor is not None:
        found_hash = _block_hash(w3, cursor.block_number)
        if found_hash != cursor.block_hash:
            rewind_to = max(chain_client.reorg_window_start(network, cursor.block_number),
                            deployment.deploy_tx_block - 1)
            watch_events.append(NewEvent("reorg_below_cursor", {
                "network": network.name, "block_number": cursor.block_number, "expected_hash": cursor.block_hash,
                "found_hash": found_hash, "cursor_block": rewind_to, "cursor_hash": _block_hash(w3, rewind_to)}))
            start = rewind_to + 1
    if start > safe_head:
        _record(deployment, watch_events, [], version)
        return
    logs = transfer_logs(w3, deployment.contract_address, start, safe_head)
    tx_hashes = {log.tx_hash for log in logs}
    our_mints = set(MintRequest.objects.filter(deployment=deployment, tx_hash__in=tx_hashes).values_list("tx_hash", flat=True))
    for explain in _mint_explainers:
        our_mints |= explain(deployment.network, tx_hashes)
    our_burns = set(RedeemRequest.objects.filter(deployment=deployment, tx_hash__in=tx_hashes).values_list("tx_hash", flat=True))
    # How many findings of each kind each transaction already has. A transaction's findings are recorded together
    # (a partner files only its first deposit), so its n-th of a kind is known when n <= that count.
    recorded = Counter(ChainAlert.objects.filter(deployment=deployment, tx_hash__in=tx_hashes,
                                                 kind__in=("unexplained_mint", "unexplained_burn"))
                       .values_list("kind", "tx_hash"))
    recorded.update(("deposit", tx_hash) for tx_hash in RedeemRequest.objects.filter(
        deployment=deployment, deposit_tx_hash__in=tx_hashes).values_list("deposit_tx_hash", flat=True))
    found: Counter[tuple[str, str]] = Counter()
    redemption_wallet = checksum_address(settings.REDEMPTION_WALLET)
    symbol = deployment.instrument.symbol
    redeem_appends: list[StreamAppend] = []
    for log in logs:
        if log.from_address == ZERO_ADDRESS or log.to_address == ZERO_ADDRESS:
            minted = log.from_address == ZERO_ADDRESS
            key = ("unexplained_mint" if minted else "unexplained_burn", log.tx_hash)
            found[key] += 1
            if found[key] <= recorded[key] or log.tx_hash in (our_mints if minted else our_burns):
                continue
            qty = from_base_units(log.value, deployment.decimals)
            shares = shares_rounded_down(qty, deployment.instrument.tokens_per_share)
            legs = _move(suspense_account(network.name, symbol), supply_account(network.name, symbol), symbol, shares)
            watch_events.append(NewEvent(
                "unexplained_mint_observed" if minted else "unexplained_burn_observed",
                {"network": network.name, "tx_hash": log.tx_hash, "log_index": log.log_index,
                 "block_number": log.block_number, "holder": log.to_address if minted else log.from_address,
                 "qty": qty, "amount_base_units": str(log.value), "qty_shares": shares},
                postings=legs if minted else [Posting(p.account, p.asset, -p.amount) for p in legs]))
        elif log.to_address == redemption_wallet:
            key = ("deposit", log.tx_hash)
            found[key] += 1
            if found[key] <= recorded[key]:
                continue
            partner = allowlisted_wallet_owner(network.name, log.from_address)
            try:
                redeem_id, event = deposit_event(deployment, log, partner, "chain", ordinal=found[key] - 1)
            except InvalidQuantity as inexact:  # one odd deposit must not stop the scan: operations decide
                redeem_id, event = deposit_event(deployment, log, partner, "chain", ordinal=found[key] - 1,
                                                 held_because=str(inexact))
            redeem_appends.append(StreamAppend("redeem_request", redeem_id, [event], expected_version=0))
    checkpoint_due = cursor is None or safe_head - cursor.block_number >= settings.CHAIN_CURSOR_CHECKPOINT_BLOCKS
    if watch_events or redeem_appends or checkpoint_due:
        watch_events.append(NewEvent("chain_scanned", {"network": network.name, "from_block": start,
                                                       "cursor_block": safe_head,
                                                       "cursor_hash": _block_hash(w3, safe_head)}))
    _record(deployment, watch_events, redeem_appends, version)
    summary.unexplained += sum(event.event_type.startswith("unexplained_") for event in watch_events)
    summary.deposits += len(redeem_appends)


def _record(deployment: TokenDeployment, watch_events: list[NewEvent], redeem_appends: list[StreamAppend],
            version: int) -> None:
    if not watch_events and not redeem_appends:
        return
    appends = list(redeem_appends)
    if watch_events:
        appends.insert(0, StreamAppend("chain_watch", deployment.id, watch_events, expected_version=version))
    store.append_many(appends, metadata={"actor": WATCHER_ACTOR})


def _block_hash(w3, number: int) -> str:
    return "0x" + bytes(w3.eth.get_block(number)["hash"]).hex()


def recheck_recent_mints(network: chain_client.Network) -> list[str]:
    """Mints confirmed within the network's reorg window whose transaction left the chain are reversed and
    put back in flight (process_mint rebroadcasts the same bytes). Returns their ids."""
    recent = MintRequest.objects.filter(status__in=(MintRequest.Status.CONFIRMED, MintRequest.Status.COMPLETED))
    reorged = []
    for mint, status in _within_reorg_window(recent, network):
        if status.state == TxState.NOT_FOUND:
            symbol = mint.instrument.symbol
            store.append("mint_request", mint.id, [NewEvent("mint_reorged", {
                "tx_hash": mint.tx_hash, "block_number": mint.block_number, "block_hash": mint.block_hash,
                "network": network.name, "deployment_id": mint.deployment_id, "qty_shares": mint.qty_shares},
                postings=_move(supply_account(network.name, symbol), pending_mint_account(mint.partner_id, symbol),
                               symbol, mint.qty_shares))],
                metadata={"actor": WATCHER_ACTOR, "partner": mint.partner_id}, expected_version=mint.stream_version)
            reorged.append(mint.id)
        elif status.block_hash and status.block_hash != mint.block_hash:
            store.append("mint_request", mint.id, [NewEvent("mint_reincluded", {
                "tx_hash": mint.tx_hash, "block_number": status.block_number, "block_hash": status.block_hash,
                "previous_block_hash": mint.block_hash})],
                metadata={"actor": SYSTEM_ACTOR, "partner": mint.partner_id}, expected_version=mint.stream_version)
    return reorged


def recheck_recent_burns(network: chain_client.Network) -> list[str]:
    """Burns confirmed within the network's reorg window whose transaction left the chain are reversed and put
    back in flight (reverse_burn). An older one is final_burn's to catch. Returns their ids."""
    recent = RedeemRequest.objects.filter(status=RedeemRequest.Status.BURNED)
    reorged = []
    for redeem, status in _within_reorg_window(recent, network):
        if status.state == TxState.NOT_FOUND:
            reverse_burn(redeem, WATCHER_ACTOR)
            reorged.append(redeem.id)
    return reorged


def _within_reorg_window(requests: QuerySet, network: chain_client.Network) -> Iterator[tuple[Any, TxStatus]]:
    """The mint or redeem `requests` on `network` whose transaction was confirmed within the reorg window, each
    with where that transaction stands now."""
    w3 = chain_client.web3_for(network)
    window_start = chain_client.reorg_window_start(network, chain_client.head_block(w3))
    for request in requests.select_related("instrument").filter(network=network.name,
                                                                block_number__gte=window_start):
        yield request, receipt_status(w3, request.tx_hash, 1)
