"""Mint cycle time on the automated path: the AP asks the sandbox broker (Alpaca ITN) for tokens, the broker
journals its shares to us, and shareledger takes the request in, secures the shares, passes the reserve check,
signs, broadcasts to anvil (automine), waits for the confirmation and reports back to the broker.

Prints p50/p95 of request -> confirmed (ledger stage timestamps, from mint_requested to mint_confirmed) and of
the AP's wall clock (from its POST to the broker until shareledger recorded the confirmation). Runs in a
throwaway database (bench/_benchdb.py) with its own anvil and sandbox broker. Target: p95 request->confirmed < 5 s.

    .venv/bin/python bench/mint_cycle.py [--mints 50]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
import uuid
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _benchdb import bench_database  # noqa: E402

from chain.anvil import DEV_ACCOUNT_KEYS, free_port, start_anvil  # noqa: E402
from sandbox_broker import SandboxControl, start_sandbox  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mints", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as run_dir, start_anvil(free_port(), Path(run_dir)) as anvil:
        sandbox = start_sandbox(Path(run_dir) / "broker.json")
        os.environ.update({
            "SHARELEDGER_NETWORKS": json.dumps({"anvil": {"chain_id": 31337, "rpc_url": anvil.url, "confirmations": 1,
                                                          "itn_network": "ethereum"}}),
            "ISSUER_DEPLOYER_KEY": DEV_ACCOUNT_KEYS[0], "ISSUER_MINTER_KEY": DEV_ACCOUNT_KEYS[1],
            "ISSUER_BURNER_KEY": DEV_ACCOUNT_KEYS[2], "MINT_APPROVAL_THRESHOLD": "1000000",
        })
        try:
            with bench_database(f"bench_mint_cycle_{uuid.uuid4().hex[:8]}"):
                return run(args.mints, sandbox.base_url, anvil.url)
        finally:
            sandbox.stop()


def run(mints: int, broker_url: str, rpc_url: str) -> int:
    from eth_account import Account

    from issuance import services
    from issuance.stats import percentile
    from tests.issuance.support import OPS, ap_requests_mint, connect_custody_to_sandbox, make_instrument, make_partner
    from partners.services import set_broker_link

    instrument = make_instrument(uuid.uuid4().hex)
    services.deploy_token(instrument.symbol, "anvil", actor=OPS)
    wallet = Account.create().address
    partner = make_partner(uuid.uuid4().hex[:10], instrument.symbol, wallet)
    set_broker_link(partner, broker_client_id="ap", custody_account="", actor=OPS)
    connect_custody_to_sandbox(broker_url, os.environ)
    control = SandboxControl(broker_url)
    control.set_fill_price(instrument.symbol, "100")
    control.set_position(instrument.symbol, str(mints * 10), account="ap")

    wall_clock: list[Decimal] = []
    for index in range(mints):
        started = time.perf_counter()
        ap_requests_mint(broker_url, instrument.symbol, str(1 + index % 7), wallet)
        recorded, refused = services.poll_itn_mints()
        assert not refused and len(recorded) == 1, (recorded, refused)
        done = services.process_mint(recorded[0].id)
        assert done.status == "completed", done.status
        wall_clock.append(Decimal(str(round(time.perf_counter() - started, 6))))
    stats = services.cycle_time_stats(instrument)
    print(f"{stats['count']} automated mints (sandbox broker ITN journal + anvil automine, 1 confirmation)")
    for stage in ("request_to_confirmed", "request_to_completed", "shares", "reserve_and_sign", "broadcast",
                  "confirmation", "report"):
        print(f"  {stage:>21}: p50 {stats[stage]['p50']} s   p95 {stats[stage]['p95']} s")
    print(f"  AP POST -> completed (wall clock): p50 {percentile(wall_clock, 50)} s   p95 {percentile(wall_clock, 95)} s")
    p95 = stats["request_to_confirmed"]["p95"]
    print(f"target p95 request->confirmed < 5 s: {'met' if p95 < 5 else 'MISSED'}")
    return 0 if p95 < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
