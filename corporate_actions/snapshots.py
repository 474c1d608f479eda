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

Splits in force at the cutoff (effective on or before the record date; for a split's own snapshot, effective
before its effective date) must be applied first. Until one is, the snapshot cannot know the ratio or the tokens
that split brings, so it is refused (SplitNotApplied, naming the split and its effective date) and nothing is
recorded; taken again once the split is applied, it goes ahead. Applying a split waits the same way for every
split effective before it (splits.apply_split), so splits are applied in the order they take effect.

Each network records the tokens per share in force at the cutoff, which turns its balances into shares. Only a
reverse split changes that ratio (splits.apply_split), and it is often applied days after it took effect, so the
instrument's current ratio, or the ratio by the time its change was recorded, can be one the record date never
saw: the ratio at the cutoff is the one before the first reverse split taking effect at or after it (its
split_applied event keeps the ratio it replaced), else the current one (every reverse split before the cutoff is
applied, and applied before any later one).

A split (r > 1) pays in tokens minted to the holders at its effective time, often after a later cutoff. The ledger
counts those tokens as owed from the moment the split is applied (custody already moved; the tokens wait in
corporate-actions:<id>:<SYM>), and so does the snapshot: a holder's balance is its balance at the snapshot block
plus the tokens of every split in force at the cutoff still owed to it at that block (its split mint run's lines
whose mint transactions left no Transfer in the logs up to the block), listed apart as split_tokens_owed. Without
them, holders whose new tokens came after the cutoff would be counted with their shares from before the split.
The cross-check compares the chain with the balances at the block alone.

The holder list hash, recomputable by anyone from the event: sha256 over the canonical JSON (sorted keys, no
spaces) of [[network, address, balance base units as a decimal string], ...] for the included holders, sorted
by network then address; the balance includes the split tokens owed.

A snapshot taken again with the same holders, balances and ratios records nothing new.
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
from chain.reads import TransferLog, balances_of, transfer_logs
from chain.rpc import unreachable_as_chain_unavailable
from chain.tx import selector
from issuance import chain_client
from custody.models import Instrument
from issuance.models import TokenDeployment
from ledger import canonical, store
from ledger.canonical import normalize_decimal
from ledger.store import NewEvent
from partners.addresses import ZERO_ADDRESS
from reconciliation.aggregators import aggregator_address

from . import streams
from .errors import RecordDateNotClosed, SnapshotInconsistent, SplitNotApplied
from .instruments import active_deployments, instrument_by_isin
from .models import CorporateAction, PayoutRun

TOTAL_SUPPLY = selector("totalSupply()")
SPLIT_KINDS = (CorporateAction.Kind.STOCK_SPLIT, CorporateAction.Kind.REVERSE_SPLIT)
UNAPPLIED = (CorporateAction.Status.ANNOUNCED, CorporateAction.Status.SNAPSHOTTED)


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


def splits_in_force(isin: str, cutoff: datetime) -> list[CorporateAction]:
    """The instrument's splits and reverse splits (cancelled ones aside) that took effect before `cutoff`, in the
    order they took effect. One effective on the day the cutoff opens counts as later (see tokens_per_share_at)."""
    splits = (CorporateAction.objects.filter(isin=isin, kind__in=SPLIT_KINDS)
              .exclude(status=CorporateAction.Status.CANCELLED).order_by("effective_date", "announced_at"))
    return [split for split in splits if effective_cutoff(split.effective_date) < cutoff]


def refuse_unapplied_splits(action: CorporateAction, cutoff: datetime) -> None:
    """SplitNotApplied if a split in force at `cutoff`, other than `action` itself, is not applied yet: the ratio
    or the tokens it brings are not known, so holders at `cutoff` cannot be counted in shares (module docstring)."""
    for split in splits_in_force(action.isin, cutoff):
        if split.id != action.id and split.status in UNAPPLIED:
            raise SplitNotApplied(
                f"{split.kind.replace('_', ' ')} {split.id} of {split.symbol} ({normalize_decimal(split.old_rate)} "
                f"old shares become {normalize_decimal(split.new_rate)}) took effect on {split.effective_date} and "
                f"is not applied yet, so {action.id} cannot count holders at {cutoff.isoformat()}: apply "
                f"{split.id} first, then try again")


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
    logs: list[TransferLog] = []
    if block is not None and block.number >= deployment.deploy_tx_block:
        logs = transfer_logs(w3, deployment.contract_address, deployment.deploy_tx_block, block.number)
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
    owed = split_tokens_owed(deployment.instrument.isin, net.name, cutoff, logs)
    counted = {address: held.get(address, 0) + owed.get(address, 0) for address in held.keys() | owed.keys()}
    holders = sorted([address, str(units)] for address, units in counted.items() if address not in excluded_wallets)
    excluded = sorted([address, str(units)] for address, units in counted.items() if address in excluded_wallets)
    return {
        "network": net.name, "deployment_id": deployment.id, "token_address": deployment.contract_address,
        "decimals": deployment.decimals, "tokens_per_share": tokens_per_share_at(deployment.instrument, cutoff),
        "block_number": block.number if block else None, "block_hash": block.hash if block else None,
        "block_timestamp": block.timestamp if block else None, "from_block": deployment.deploy_tx_block,
        "transfer_logs": len(logs), "total_units": str(sum(held.values())),
        "eligible_units": str(sum(int(units) for _, units in holders)), "holder_count": len(holders),
        "holders_sha256": holders_sha256([[net.name, address, units] for address, units in holders]),
        "cross_check": cross_check, "holders": holders, "excluded": excluded,
        "split_tokens_owed": sorted([address, str(units)] for address, units in owed.items()),
    }


def split_tokens_owed(isin: str, network: str, cutoff: datetime, logs: list[TransferLog]) -> dict[str, int]:
    """Base units of new tokens that the splits in force at `cutoff` owe each holder on `network` and had not
    minted by the snapshot block (`logs`: the token's Transfer logs up to it). See the module docstring."""
    split_ids = [split.id for split in splits_in_force(isin, cutoff) if split.kind == CorporateAction.Kind.STOCK_SPLIT]
    if not split_ids:
        return {}
    minted_in = {log.tx_hash.lower() for log in logs if log.from_address == ZERO_ADDRESS}
    owed: dict[str, int] = {}
    for run in PayoutRun.objects.filter(action_id__in=split_ids, kind=PayoutRun.Kind.SPLIT_MINT):
        minted = _lines_minted(run.id, network, minted_in)
        for line in run.lines.filter(network=network, units__gt=0):
            if line.line_no not in minted:
                owed[line.address] = owed.get(line.address, 0) + int(line.units)
    return owed


def _lines_minted(run_id: str, network: str, minted_in: set[str]) -> set[int]:
    """The lines of a split mint run on `network` whose mint is among `minted_in` (transaction hashes). Every
    attempt counts, re-signed ones included: the run's tx_signed events keep each hash, and the token's request
    id lets only one of them mint."""
    return {line_no for event in store.read_stream(streams.PAYOUT_RUN, run_id)
            if event.event_type == "tx_signed" and event.payload["network"] == network
            and event.payload["tx_hash"].lower() in minted_in for line_no in event.payload["line_nos"]}


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
    Refused with nothing recorded (SplitNotApplied) while a split in force at `cutoff` is not applied. Taking it
    again with the same holders, balances and ratios records nothing (the chain below a closed cutoff does not
    change; applying a split in force at it changes the ratio or the tokens owed, and so the record)."""
    refuse_unapplied_splits(action, cutoff)
    deployments = active_deployments(instrument_by_isin(action.isin))
    excluded_wallets = issuer_wallets() if exclude_issuer_wallets else set()
    networks = [network_snapshot(deployment, cutoff, excluded_wallets) for deployment in deployments]
    rows = [[n["network"], address, units] for n in networks for address, units in n["holders"]]
    payload = {"action_id": action.id, "symbol": action.symbol, "cutoff": cutoff,
               "record_date": action.record_date.isoformat() if action.record_date else None,
               "holders_sha256": holders_sha256(rows), "holder_count": len(rows),
               "issuer_wallets_excluded": exclude_issuer_wallets, "networks": networks}
    earlier = store.read_stream(streams.DIVIDEND_SNAPSHOT, action.id)
    if earlier and _same_count(earlier[-1].payload, canonical.normalize_json(payload)):
        return earlier[-1].payload
    store.append(streams.DIVIDEND_SNAPSHOT, action.id, [NewEvent("holders_snapshotted", payload)],
                 metadata={"actor": actor}, expected_version=earlier[-1].version if earlier else store.NO_STREAM)
    return canonical.normalize_json(payload)


def _same_count(recorded: dict, taken: dict) -> bool:
    """Whether two snapshots count the same: cutoff, holders with their balances, and each network's ratio."""
    def ratios(payload: dict) -> list[list[str]]:
        return [[network["network"], network["tokens_per_share"]] for network in payload["networks"]]

    return (recorded["cutoff"], recorded["holders_sha256"], ratios(recorded)) == (
        taken["cutoff"], taken["holders_sha256"], ratios(taken))
