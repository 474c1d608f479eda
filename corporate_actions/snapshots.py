"""Who held the tokens at a record date (or a split's effective time), on every network.

The cutoff of a record date is midnight at its end in CORPORATE_ACTIONS_TIME_ZONE (the US market's day); a
split's cutoff is midnight at the start of its effective date. On each network the snapshot block is the last
block whose timestamp is before the cutoff, found by binary search on block timestamps. A network whose
newest block is still before the cutoff has not closed the day yet: RecordDateNotClosed.

Balances come from replaying the token's Transfer logs from its deployment block to the snapshot block: logs
stay readable for ever, while nodes (anvil with --prune-history among them) drop old state, so balanceOf at
an old block may be gone. When the state is still there, the replay is cross-checked against the chain:
totalSupply at that block must equal the sum of replayed balances, and (through the aggregator, when one is
recorded) each holder's balanceOf. A disagreement refuses the snapshot (SnapshotInconsistent).

Dividends exclude the issuer's own wallets (REDEMPTION_WALLET and DIVIDEND_EXCLUDED_WALLETS): their balances
are recorded apart, owed nothing. Splits include every holder: all tokens must follow the shares.

Each network records the tokens per share in force at the cutoff, which turns its balances into shares. Only a
reverse split changes that ratio (splits.apply_split), and it is often applied days after it took effect, so the
instrument's current ratio, or the ratio by the time its change was recorded, can be one the record date never
saw: the ratio at the cutoff is the one before the first reverse split taking effect at or after it (its
split_applied event keeps the ratio it replaced), else the current one.

The holder list hash, recomputable by anyone from the event: sha256 over the canonical JSON (sorted keys, no
spaces) of [[network, address, balance base units as a decimal string], ...] for the included holders,
sorted by network then address.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.conf import settings
from eth_abi import decode
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import Web3RPCError

from chain.errors import ChainReadFailed
from chain.reads import balances_of, transfer_logs
from chain.rpc import unreachable_as_chain_unavailable
from chain.tx import selector
from issuance import chain_client
from custody.models import Instrument
from issuance.models import TokenDeployment
from ledger import canonical, store
from ledger.store import NewEvent
from partners.addresses import ZERO_ADDRESS
from reconciliation.aggregators import aggregator_address

from . import streams
from .errors import RecordDateNotClosed, SnapshotInconsistent
from .instruments import active_deployments, instrument_by_isin
from .models import CorporateAction

TOTAL_SUPPLY = selector("totalSupply()")


@dataclass(frozen=True)
class BlockRef:
    number: int
    hash: str
    timestamp: int


def record_date_cutoff(record_date: date) -> datetime:
    """The end of the record date: midnight starting the next day, in the market's time zone."""
    return datetime.combine(record_date + timedelta(days=1), time(0), ZoneInfo(settings.CORPORATE_ACTIONS_TIME_ZONE))


def effective_cutoff(effective_date: date) -> datetime:
    """A split takes effect before the market opens on its effective date: holders at the start of that day."""
    return datetime.combine(effective_date, time(0), ZoneInfo(settings.CORPORATE_ACTIONS_TIME_ZONE))


def closing_block(w3: Web3, cutoff: datetime, network: str) -> BlockRef | None:
    """The last block with a timestamp before `cutoff`; None if the chain began after it."""
    limit = int(cutoff.timestamp())
    with unreachable_as_chain_unavailable(w3):
        head = w3.eth.get_block("latest")
        if head["timestamp"] < limit:
            raise RecordDateNotClosed(
                f"{network}: newest block {head['number']} is at {datetime.fromtimestamp(head['timestamp'], cutoff.tzinfo)}, "
                f"before the cutoff {cutoff.isoformat()}; snapshot once a later block exists")
        low, high = 0, head["number"]  # invariant: block(high) is at or after the cutoff
        if w3.eth.get_block(low)["timestamp"] >= limit:
            return None
        while high - low > 1:
            middle = (low + high) // 2
            if w3.eth.get_block(middle)["timestamp"] < limit:
                low = middle
            else:
                high = middle
        block = w3.eth.get_block(low)
    return BlockRef(low, "0x" + bytes(block["hash"]).hex(), block["timestamp"])


def tokens_per_share_at(instrument: Instrument, cutoff: datetime) -> Decimal:
    """The instrument's tokens per share at `cutoff` (see the module docstring). A reverse split effective on the
    day the cutoff opens counts as later: the holders at the cutoff are those of the day before."""
    reverse_splits = CorporateAction.objects.filter(isin=instrument.isin, kind=CorporateAction.Kind.REVERSE_SPLIT,
                                                    status=CorporateAction.Status.APPLIED).order_by("effective_date")
    for split in reverse_splits:
        if effective_cutoff(split.effective_date) >= cutoff:
            (applied,) = [event for event in store.read_stream(streams.CORPORATE_ACTION, split.id)
                          if event.event_type == "split_applied"]
            return Decimal(applied.payload["old_tokens_per_share"])
    return instrument.tokens_per_share


def issuer_wallets() -> set[str]:
    wallets = {to_checksum_address(address) for address in settings.DIVIDEND_EXCLUDED_WALLETS}
    if settings.REDEMPTION_WALLET:
        wallets.add(to_checksum_address(settings.REDEMPTION_WALLET))
    return wallets


def holders_sha256(rows: list[list[str]]) -> str:
    return canonical.sha256_hex(canonical.dumps(sorted(rows)))


def network_snapshot(deployment: TokenDeployment, cutoff: datetime, excluded_wallets: set[str]) -> dict:
    """Holders of one token at the block closing `cutoff`, as the snapshot event records them."""
    net = chain_client.network(deployment.network)
    w3 = chain_client.web3_for(net)
    block = closing_block(w3, cutoff, net.name)
    balances: dict[str, int] = {}
    log_count = 0
    if block is not None and block.number >= deployment.deploy_tx_block:
        logs = transfer_logs(w3, deployment.contract_address, deployment.deploy_tx_block, block.number)
        log_count = len(logs)
        for log in logs:
            if log.from_address != ZERO_ADDRESS:
                balances[log.from_address] = balances.get(log.from_address, 0) - log.value
            if log.to_address != ZERO_ADDRESS:
                balances[log.to_address] = balances.get(log.to_address, 0) + log.value
    negative = [address for address, units in balances.items() if units < 0]
    if negative:
        raise SnapshotInconsistent(f"{net.name}: replayed Transfer logs leave {negative[0]} with a negative balance")
    held = {address: units for address, units in balances.items() if units > 0}
    cross_check = _cross_check(w3, net, deployment, block, held) if block is not None else "no block before cutoff"
    holders = sorted([address, str(units)] for address, units in held.items() if address not in excluded_wallets)
    excluded = sorted([address, str(units)] for address, units in held.items() if address in excluded_wallets)
    return {
        "network": net.name, "deployment_id": deployment.id, "token_address": deployment.contract_address,
        "decimals": deployment.decimals, "tokens_per_share": tokens_per_share_at(deployment.instrument, cutoff),
        "block_number": block.number if block else None, "block_hash": block.hash if block else None,
        "block_timestamp": block.timestamp if block else None, "from_block": deployment.deploy_tx_block,
        "transfer_logs": log_count, "total_units": str(sum(held.values())),
        "eligible_units": str(sum(int(units) for _, units in holders)), "holder_count": len(holders),
        "holders_sha256": holders_sha256([[net.name, address, units] for address, units in holders]),
        "cross_check": cross_check, "holders": holders, "excluded": excluded,
    }


def _cross_check(w3: Web3, net: chain_client.Network, deployment: TokenDeployment, block: BlockRef,
                 held: dict[str, int]) -> str:
    """Compare the replay with the chain's state at the block, while the node still has that state."""
    replayed_supply = sum(held.values())
    try:
        with unreachable_as_chain_unavailable(w3):
            answer = w3.eth.call({"to": deployment.contract_address, "data": TOTAL_SUPPLY},
                                 block_identifier=block.number)
    except Web3RPCError:
        return "state at the block no longer available: logs only"
    (supply,) = decode(["uint256"], answer)
    if supply != replayed_supply:
        raise SnapshotInconsistent(f"{net.name}: Transfer logs sum to {replayed_supply} base units at block "
                                   f"{block.number}, totalSupply says {supply}")
    aggregator = aggregator_address(net)
    if aggregator is None or not held:
        return "totalSupply matches"
    try:
        on_chain = balances_of(w3, aggregator, deployment.contract_address, list(held), block.number)
    except ChainReadFailed:
        return "totalSupply matches; balances no longer available"
    differing = [address for address, units in held.items() if on_chain[address] != units]
    if differing:
        raise SnapshotInconsistent(f"{net.name}: {len(differing)} replayed balances differ from balanceOf at block "
                                   f"{block.number}, e.g. {differing[0]}")
    return "totalSupply and every balanceOf match"


def take_snapshot(action: CorporateAction, cutoff: datetime, *, exclude_issuer_wallets: bool, actor: str) -> dict:
    """Snapshot every network of the action's instrument and record it on dividend_snapshot/<action id>.
    Taking it again with the same result records nothing (the chain below a closed cutoff does not change)."""
    deployments = active_deployments(instrument_by_isin(action.isin))
    excluded_wallets = issuer_wallets() if exclude_issuer_wallets else set()
    networks = [network_snapshot(deployment, cutoff, excluded_wallets) for deployment in deployments]
    rows = [[n["network"], address, units] for n in networks for address, units in n["holders"]]
    payload = {"action_id": action.id, "symbol": action.symbol, "cutoff": cutoff,
               "record_date": action.record_date.isoformat() if action.record_date else None,
               "holders_sha256": holders_sha256(rows), "holder_count": len(rows),
               "issuer_wallets_excluded": exclude_issuer_wallets, "networks": networks}
    earlier = store.read_stream(streams.DIVIDEND_SNAPSHOT, action.id)
    if earlier and earlier[-1].payload["holders_sha256"] == payload["holders_sha256"] \
            and earlier[-1].payload["cutoff"] == canonical.timestamp_str(cutoff):
        return earlier[-1].payload
    store.append(streams.DIVIDEND_SNAPSHOT, action.id, [NewEvent("holders_snapshotted", payload)],
                 metadata={"actor": actor}, expected_version=earlier[-1].version if earlier else store.NO_STREAM)
    return canonical.normalize_json(payload)

