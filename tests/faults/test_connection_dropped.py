"""The database connection of a process is terminated (pg_terminate_backend) while it is inside a transaction
that has already appended: nothing of that transaction remains, the ledger verifies, the read models equal a
rebuild, and running the step again does it exactly once."""
from __future__ import annotations

import select
import subprocess
import sys
import uuid
from decimal import Decimal

import pytest
from django.db import connection

from issuance import services
from issuance.models import MintRequest
from ledger import store
from ledger.balances import balance
from ledger.verify import verify
from tests.conftest import ROOT
from tests.issuance.committed import committed_token_and_partner
from tests.issuance.support import OPS, token_contract
from tests.issuance.workers import worker_env

from .conftest import wait_until
from .rebuild import rebuilt_differs_from_live

pytestmark = pytest.mark.slow

SECURE_THEN_STALL = r"""
import sys, django
django.setup()
from django.db import connection, transaction
from issuance import services
with connection.cursor() as cursor:
    cursor.execute("SELECT set_config('application_name', %s, false)", [sys.argv[2]])
with transaction.atomic():
    services.secure_shares(sys.argv[1], "user:test-ops")  # appended, not yet committed
    print("appended", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_sleep(60)")  # still inside the transaction when the connection is cut
print("committed", flush=True)
"""


def read_line(process: subprocess.Popen, timeout: float) -> str:
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    assert ready, f"no output within {timeout}s: {process.stderr.read() if process.poll() is not None else ''}"
    return process.stdout.readline().strip()


def stalled_backend(marker: str) -> int | None:
    """The child's backend once it sits in pg_sleep inside its open transaction."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name = %s AND xact_start IS NOT NULL "
                       "AND state = 'active' AND query LIKE %s", [marker, "%pg_sleep%"])
        row = cursor.fetchone()
    return row[0] if row else None


def cut_connection_while_stalled(script: str, request_id: str, stalled_line: str, env: dict[str, str]) -> None:
    """Run `script` in a child process; once it prints `stalled_line` and sits in pg_sleep inside its open
    transaction, terminate its backend and check the child died of it."""
    marker = f"faults-{uuid.uuid4().hex[:12]}"
    child = subprocess.Popen([sys.executable, "-c", script, request_id, marker], env=env, cwd=ROOT,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert read_line(child, 300) == stalled_line  # importing Django can take a minute on a loaded machine
        # well within the child's pg_sleep(60), which holds the append lock when a failed test leaves it behind
        backend = wait_until(lambda: stalled_backend(marker), 30, "the child to stall inside its transaction")
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [backend])
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode != 0 and "terminat" in err.lower(), err


def test_a_connection_cut_mid_transaction_leaves_nothing_half_written_and_the_retry_runs_once(
        subprocess_env, keys, unique, book_share_journal):
    token, partner = committed_token_and_partner(unique, keys)
    symbol = token.instrument.symbol
    request = services.request_mint(partner, symbol, "4", "anvil", keys.partner_wallet.address, "partner:x")
    first_position = store.read_stream("mint_request", request.id)[0].position
    book_share_journal(symbol, "4")
    cut_connection_while_stalled(SECURE_THEN_STALL, request.id, "appended", worker_env(subprocess_env, keys))

    assert services.get_mint(request.id).status == MintRequest.Status.APPROVED
    assert [e.event_type for e in store.read_stream("mint_request", request.id)].count("shares_secured") == 0
    assert balance(f"partner:{partner}:pending-mint:{symbol}", symbol) == 0
    checked = verify(from_position=first_position)
    assert checked.ok, checked.summary()
    assert rebuilt_differs_from_live() == []

    assert services.secure_shares(request.id, OPS).status == MintRequest.Status.SECURED
    assert services.process_mint(request.id).status == MintRequest.Status.COMPLETED
    events = [e.event_type for e in store.read_stream("mint_request", request.id)]
    assert events.count("shares_secured") == 1 and events.count("mint_confirmed") == 1
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-4)
    assert balance(f"partner:{partner}:pending-mint:{symbol}", symbol) == 0


SIGN_THEN_STALL = r"""
import sys, django
django.setup()
from django.db import connection
from issuance import services
from ledger import store
with connection.cursor() as cursor:
    cursor.execute("SELECT set_config('application_name', %s, false)", [sys.argv[2]])
append_many = store.append_many
def append_then_stall(appends, **kwargs):
    result = append_many(appends, **kwargs)
    if any(event.event_type == "mint_signed" for stream in appends for event in stream.events):
        print("signed", flush=True)  # mint_signed and its nonce appended, the reserve transaction still open
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_sleep(60)")
    return result
store.append_many = append_then_stall
services.process_mint(sys.argv[1])
print("committed", flush=True)
"""


def test_a_connection_cut_inside_reserve_and_sign_leaves_no_signature_and_no_nonce_and_the_retry_mints_once(
        subprocess_env, keys, unique, w3, book_share_journal):
    token, partner = committed_token_and_partner(unique, keys)
    symbol = token.instrument.symbol
    request = services.request_mint(partner, symbol, "4", "anvil", keys.partner_wallet.address, "partner:x")
    first_position = store.read_stream("mint_request", request.id)[0].position
    book_share_journal(symbol, "4")
    services.secure_shares(request.id, OPS)
    signer_stream = f"anvil:{keys.minter.address}"
    nonce_events_before = len(store.read_stream("signer", signer_stream))
    cut_connection_while_stalled(SIGN_THEN_STALL, request.id, "signed", worker_env(subprocess_env, keys))

    assert services.get_mint(request.id).status == MintRequest.Status.SECURED
    assert "mint_signed" not in [e.event_type for e in store.read_stream("mint_request", request.id)]
    assert len(store.read_stream("signer", signer_stream)) == nonce_events_before  # the nonce was not spent
    contract = token_contract(w3, token.contract_address)
    assert contract.functions.totalSupply().call() == 0  # signed but never broadcast: nothing left the process
    checked = verify(from_position=first_position)
    assert checked.ok, checked.summary()
    assert rebuilt_differs_from_live() == []

    assert services.process_mint(request.id).status == MintRequest.Status.COMPLETED
    events = [e.event_type for e in store.read_stream("mint_request", request.id)]
    assert events.count("mint_signed") == 1 and events.count("mint_confirmed") == 1
    assert contract.functions.totalSupply().call() == 4 * 10**18
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-4)
