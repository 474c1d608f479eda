"""Reconciliation at scale: 5,000 instruments x 3 networks in one run, against the naive read in the same run.

Set-up (not timed in the figures): three anvil nodes (chain ids 31337-31339, one per network), an Aggregator
recorded on each (`deploy_aggregator`), N instruments (custody's create_instrument), N ShareTokens per network
deployed and minted with automine off in JSON-RPC batches (token i holds i+1 shares on every network), their
`token_deployed` events, one ledger entry per instrument (custody +3(i+1), each network's supply -(i+1)) and
one custodian statement holding all N instruments. Then:

  (a) run_reconciliation() over all instruments, timed end to end: custody statement, one ledger snapshot,
      supplies of 3N tokens at a pinned block per network through aggregate3, N verdicts, every event appended;
  (b) the naive read: one `totalSupply()` eth_call per token per network (web3 contract .call()), timed alone.

(b) covers only the chain reads a naive run would make, so the ratio (b)/(a) understates the gain. The run must
find every instrument clean and the two reads must agree. Runs in a throwaway database (bench/_benchdb.py).

    .venv/bin/python bench/reconciliation_scale.py [--instruments 5000] [--quick]
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import sys
import tempfile
import time
import uuid
import multiprocessing
from concurrent.futures import ProcessPoolExecutor
from contextlib import ExitStack
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _benchdb import bench_database  # noqa: E402

from chain.anvil import DEV_ACCOUNT_KEYS, free_port, start_anvil  # noqa: E402

NETWORKS = {"net-a": 31337, "net-b": 31338, "net-c": 31339}
ACTOR = "system:bench"
QUICK_INSTRUMENTS = 300


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instruments", type=int, default=5000)
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_INSTRUMENTS} instruments")
    args = parser.parse_args()
    count = QUICK_INSTRUMENTS if args.quick else args.instruments
    with tempfile.TemporaryDirectory(prefix="bench-recon-") as run_dir, ExitStack() as nodes:
        urls = {name: nodes.enter_context(start_anvil(free_port(), Path(run_dir) / name, chain_id=chain_id)).url
                for name, chain_id in NETWORKS.items()}
        os.environ.update({
            "SHARELEDGER_NETWORKS": json.dumps({name: {"chain_id": NETWORKS[name], "rpc_url": url, "confirmations": 1}
                                                for name, url in urls.items()}),
            "ISSUER_DEPLOYER_KEY": DEV_ACCOUNT_KEYS[0],
        })
        with bench_database(f"bench_reconciliation_{uuid.uuid4().hex[:8]}"):
            return run(count, urls)


def run(count: int, urls: dict[str, str]) -> int:
    from django.utils import timezone

    from reconciliation.aggregators import deploy_aggregator
    from reconciliation.services import run_reconciliation

    started = time.perf_counter()
    for network in NETWORKS:
        deploy_aggregator(network, actor=ACTOR)
    symbols = create_instruments(count)
    # Signing a deployment costs ~7 ms of Python: one process per network uses every core.
    with ProcessPoolExecutor(len(NETWORKS), mp_context=multiprocessing.get_context("spawn")) as pool:
        tokens = dict(zip(NETWORKS, pool.map(deploy_tokens, [urls[network] for network in NETWORKS],
                                             [count] * len(NETWORKS))))
    record_deployments(symbols, tokens)
    book_ledger(symbols)
    import_custodian_statement(symbols, timezone.now().date())
    print(f"set-up: {count} instruments x {len(NETWORKS)} networks = {count * len(NETWORKS)} tokens, "
          f"{time.perf_counter() - started:.1f} s")

    started = time.perf_counter()
    result = run_reconciliation(actor=ACTOR)
    batched_seconds = time.perf_counter() - started
    statuses = {line.status for line in result.instruments}
    print(f"(a) run_reconciliation, all instruments: {batched_seconds:.2f} s "
          f"(run {result.run_id}: {result.status}, {len(result.instruments)} instruments {sorted(statuses)}, "
          f"{len(result.breaks)} breaks)")

    naive_seconds, naive_supplies = naive_reads(tokens, urls, result.run_id)
    print(f"(b) naive, one eth_call per token per network: {naive_seconds:.2f} s "
          f"({count * len(NETWORKS) / naive_seconds:,.0f} reads/s)")
    print(f"ratio (b)/(a): {naive_seconds / batched_seconds:.1f}x (whole batched run vs naive chain reads alone)")

    expected = {symbol: 3 * (index + 1) for index, symbol in enumerate(symbols)}
    found = {line.symbol: line.tokens_outstanding for line in result.instruments}
    if result.status != "completed" or statuses != {"clean"} or found != expected or naive_supplies != expected:
        print("MISMATCH: the run is not clean, or the two reads disagree with what was minted", file=sys.stderr)
        return 1
    if batched_seconds >= 60 or naive_seconds / batched_seconds < 10:
        print("TARGET MISSED: under 60 s and at least 10x the naive approach", file=sys.stderr)
        return 1
    return 0


def create_instruments(count: int) -> list[str]:
    from custody.identifiers import InvalidIdentifier, validate_isin
    from custody.services import create_instrument

    symbols = []
    for index in range(count):
        symbol = f"B{index:05d}"
        for digit in "0123456789":
            try:
                isin = validate_isin(f"XS{index:09d}{digit}")
                break
            except InvalidIdentifier:
                continue
        create_instrument(symbol, f"Bench {symbol}", isin, actor=ACTOR)
        symbols.append(symbol)
    return symbols


def deploy_tokens(rpc_url: str, count: int) -> list[str]:
    """`count` ShareTokens, token i minted (i + 1) shares (bench/chain_supply.py's batched set-up)."""
    from eth_account import Account

    from chain.rpc import connect
    from chain_supply import deploy_tokens_with_supply

    w3 = connect(rpc_url, timeout_seconds=120)
    addresses, _, _ = deploy_tokens_with_supply(w3, rpc_url, Account.from_key(DEV_ACCOUNT_KEYS[0]), count)
    return addresses


def record_deployments(symbols: list[str], tokens: dict[str, list[str]]) -> None:
    """The `token_deployed` events issuance's deploy_token writes, for the tokens deployed in bulk above."""
    from eth_account import Account

    from ledger import store
    from ledger.store import NewEvent, StreamAppend

    admin = Account.from_key(DEV_ACCOUNT_KEYS[0]).address
    for network, addresses in tokens.items():
        appends = [StreamAppend("token_deployment", f"{network}:{address}", [NewEvent("token_deployed", {
            "symbol": symbol, "network": network, "chain_id": NETWORKS[network], "contract_address": address,
            "token_symbol": f"{symbol}x", "decimals": 18, "deploy_block": 1, "minter": admin, "burner": admin,
            "pauser": admin, "redemption_wallet": admin, "admin": admin,
        })], 0) for symbol, address in zip(symbols, addresses)]
        for offset in range(0, len(appends), 2000):
            store.append_many(appends[offset:offset + 2000], metadata={"actor": ACTOR})


def book_ledger(symbols: list[str]) -> None:
    from decimal import Decimal

    from ledger import store
    from ledger.store import NewEvent, Posting, StreamAppend

    appends = []
    for index, symbol in enumerate(symbols):
        per_network = Decimal(index + 1)
        legs = [Posting(f"custody:bench-bank:{symbol}", symbol, per_network * len(NETWORKS))]
        legs += [Posting(f"chain:{network}:{symbol}:supply", symbol, -per_network) for network in NETWORKS]
        appends.append(StreamAppend("journal", f"bench-{symbol}", [NewEvent("bench_opening", {"symbol": symbol},
                                                                           postings=legs)], 0))
    for offset in range(0, len(appends), 2000):
        store.append_many(appends[offset:offset + 2000], metadata={"actor": ACTOR})


def import_custodian_statement(symbols: list[str], day: datetime.date) -> None:
    from custody.models import CustodyAccount, Instrument
    from custody.services import import_statement

    account = CustodyAccount.objects.create(name="bench-bank", kind="statement", statement_account_ref="BENCH-1")
    isins = dict(Instrument.objects.values_list("symbol", "isin"))
    lines = ["account,statement_date,isin,description,aggregate,available,blocked,pending"]
    lines += [f"BENCH-1,{day.isoformat()},{isins[symbol]},{symbol},{3 * (index + 1)},,,"
              for index, symbol in enumerate(symbols)]
    import_statement(("\n".join(lines) + "\n").encode(), "bench.csv", account, actor=ACTOR)


def naive_reads(tokens: dict[str, list[str]], urls: dict[str, str], run_id: str) -> tuple[float, dict[str, int]]:
    """totalSupply() of every token, one eth_call each, at the blocks the run pinned."""
    from chain.artifacts import load_artifact
    from chain.rpc import connect
    from issuance.models import TokenDeployment
    from reconciliation.models import ReconciliationRun

    pinned = {source["source"].removeprefix("chain:"): source["block_number"]
              for source in ReconciliationRun.objects.get(run_id=run_id).sources if source["source_kind"] == "chain"}
    symbol_of = dict(TokenDeployment.objects.values_list("contract_address", "instrument__symbol"))
    abi = load_artifact("ShareToken").abi
    totals: dict[str, int] = {}
    started = time.perf_counter()
    for network, addresses in tokens.items():
        w3 = connect(urls[network])
        for address in addresses:
            supply = w3.eth.contract(address=address, abi=abi).functions.totalSupply().call(
                block_identifier=pinned[network])
            totals[symbol_of[address]] = totals.get(symbol_of[address], 0) + supply // 10**18
    return time.perf_counter() - started, totals


if __name__ == "__main__":
    sys.exit(main())
