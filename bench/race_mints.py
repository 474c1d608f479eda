"""1,000 mint requests of 1 share each, from several worker processes at once, against 300 shares in custody.

Every request goes the real way (issuance.services.process_mint: reserve check under the instrument's lock,
nonce, sign, broadcast to anvil with automine, receipt, confirm). Prints how many completed and failed and how
long the race took, and exits non-zero if more tokens were issued than shares are in custody. Runs in a
throwaway database (bench/_benchdb.py) with its own anvil. The suite runs a 200-request version
(tests/faults/test_mint_race.py).

    .venv/bin/python bench/race_mints.py [--requests 1000] [--shares 300] [--processes 6]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _benchdb import ROOT, bench_database  # noqa: E402

from chain.anvil import DEV_ACCOUNT_KEYS, free_port, start_anvil  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--shares", type=int, default=300)
    parser.add_argument("--processes", type=int, default=6)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as run_dir, start_anvil(free_port(), Path(run_dir)) as anvil:
        os.environ.update({
            "SHARELEDGER_NETWORKS": json.dumps({"anvil": {"chain_id": 31337, "rpc_url": anvil.url, "confirmations": 1,
                                                          "itn_network": "ethereum"}}),
            "ISSUER_DEPLOYER_KEY": DEV_ACCOUNT_KEYS[0], "ISSUER_MINTER_KEY": DEV_ACCOUNT_KEYS[1],
            "ISSUER_BURNER_KEY": DEV_ACCOUNT_KEYS[2], "MINT_APPROVAL_THRESHOLD": "1000000",
            "PYTHONPATH": str(ROOT),
        })
        with bench_database(f"bench_race_mints_{uuid.uuid4().hex[:8]}"):
            return run(args.requests, args.shares, args.processes, Path(run_dir), anvil.url)


def run(requests: int, shares: int, processes: int, run_dir: Path, rpc_url: str) -> int:
    from eth_account import Account

    from chain.rpc import connect
    from custody.services import shares_in_custody
    from issuance import services
    from tests.faults.race import prepare_requests, race
    from tests.issuance.support import OPS, make_instrument, make_partner, token_contract

    instrument = make_instrument(uuid.uuid4().hex)
    token = services.deploy_token(instrument.symbol, "anvil", actor=OPS)
    wallet = Account.create().address
    partner = make_partner(uuid.uuid4().hex[:10], instrument.symbol, wallet)
    request_ids = prepare_requests(partner, instrument.symbol, wallet, requests, shares)
    result = race(request_ids, dict(os.environ), processes, run_dir, shares)
    on_chain = token_contract(connect(rpc_url), token.contract_address).functions.totalSupply().call() // 10**18
    print(f"mint race: {result.summary()}")
    print(f"tokens on chain {on_chain}, shares in custody {shares_in_custody(instrument.symbol)}")
    over_issued = on_chain > shares or result.outcomes.get("completed", 0) > shares
    print("over-issued: YES (a bug)" if over_issued else "over-issued: no")
    return 1 if over_issued else 0


if __name__ == "__main__":
    sys.exit(main())
