"""Anchoring the ledger head on a real (local) chain, and catching history rewritten after the anchor."""
from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from console.tasks import anchor_ledger
from ledger import canonical, store
from ledger.anchor import NothingToAnchor, anchor_head, read_anchor, verify_anchor
from ledger.export import export
from ledger.log_scan import scan
from ledger.models import Event

from .conftest import move

pytestmark = pytest.mark.django_db
VERIFY_EXPORT = Path(__file__).resolve().parents[2] / "tools" / "verify_export.py"


@pytest.fixture
def booked(unique):
    """Some business history to anchor."""
    symbol = f"A{unique[:5].upper()}"
    move(symbol, f"custody:alpaca-main:{symbol}", f"equity:opening:{symbol}", "100")
    return move(symbol, f"partner:p1:pending-mint:{symbol}", f"chain:ethereum:{symbol}:supply", "40")


@pytest.fixture
def anchor_settings(settings, anchor_setup):
    settings.LEDGER_ANCHOR_RPC_URL = anchor_setup.rpc_url
    settings.LEDGER_ANCHOR_CONTRACT = anchor_setup.contract
    settings.LEDGER_ANCHOR_NETWORK = "anvil"
    settings.LEDGER_ANCHOR_SIGNER_KEY = anchor_setup.owner.key.hex()
    return settings


def test_anchoring_publishes_the_head_and_records_it_as_an_event(anchor_setup, booked):
    head = store.head_position()

    result = anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract, network="anvil")

    on_chain = read_anchor(anchor_setup.w3, anchor_setup.contract)
    assert (on_chain.position, on_chain.head_hash) == (head, booked.hash) == (result.position, result.head_hash)
    record = Event.objects.get(position=result.event_position)
    assert record.event_type == "ledger_anchored" and record.metadata["actor"] == "system:ledger-anchor"
    assert record.payload == {
        "position": head, "head_hash": booked.hash, "chain_id": 31337, "network": "anvil",
        "contract": anchor_setup.contract, "tx_hash": result.tx_hash, "block_number": result.block_number,
        "block_hash": record.payload["block_hash"], "signer": anchor_setup.owner.address,
    }
    assert verify_anchor(anchor_setup.w3, anchor_setup.contract).ok


def test_nothing_is_anchored_twice_when_only_the_anchor_record_was_appended(anchor_setup, booked):
    anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract)

    with pytest.raises(NothingToAnchor):
        anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract)

    move("ZZNEXT", "custody:alpaca-main:ZZNEXT", "equity:opening:ZZNEXT", "1")
    assert anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract).position == store.head_position() - 1


def test_a_rerun_after_a_crash_between_publishing_and_recording_records_the_published_anchor_once(
        anchor_setup, booked, monkeypatch):
    def crash(*args, **kwargs):
        raise RuntimeError("worker killed after the anchor tx was mined")

    with monkeypatch.context() as crashing:
        crashing.setattr(store, "append", crash)
        with pytest.raises(RuntimeError):
            anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract, network="anvil")
    published = read_anchor(anchor_setup.w3, anchor_setup.contract)
    assert published.position == booked.position and not Event.objects.filter(
        event_type="ledger_anchored", payload__contract=anchor_setup.contract).exists()

    recovered = anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract, network="anvil")
    with pytest.raises(NothingToAnchor):
        anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract, network="anvil")

    record = Event.objects.get(event_type="ledger_anchored", payload__contract=anchor_setup.contract)
    transaction = anchor_setup.w3.eth.get_transaction(recovered.tx_hash)
    assert record.position == recovered.event_position and transaction["to"] == anchor_setup.contract
    assert record.payload == {
        "position": booked.position, "head_hash": booked.hash, "chain_id": 31337, "network": "anvil",
        "contract": anchor_setup.contract, "tx_hash": recovered.tx_hash, "block_number": transaction["blockNumber"],
        "block_hash": "0x" + bytes(transaction["blockHash"]).hex(), "signer": anchor_setup.owner.address,
    }
def test_a_payload_altered_after_the_anchor_fails_verification(anchor_setup, booked):
    anchored = anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract)
    with connection.cursor() as cursor:  # a database superuser switches the guard off and edits
        cursor.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_immutable")
        cursor.execute("UPDATE ledger_event SET payload = jsonb_set(payload, '{qty}', '\"4000\"') WHERE position = %s",
                       [anchored.position])
        cursor.execute("ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_immutable")

    check = verify_anchor(anchor_setup.w3, anchor_setup.contract)

    assert not check.ok
    assert "hash mismatch" in check.problem
    assert f"anchor MISMATCH at position {anchored.position}" in check.summary()


def _rewrite_history_with_recomputed_hashes(from_position: int, payload: dict) -> None:
    """The stronger attack: alter an event and recompute every hash after it, so the chain links up again."""
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE ledger_event DISABLE TRIGGER ledger_event_immutable")
        cursor.execute("UPDATE ledger_event SET payload = %s WHERE position = %s", [canonical.dumps(payload), from_position])
        prev_hash = Event.objects.get(position=from_position - 1).hash
        for event in list(scan(from_position)):
            new_hash = canonical.event_hash_from_parts(
                position=event.position, stream_type=event.stream_type, stream_id=event.stream_id, version=event.version,
                event_type=event.event_type, schema_version=event.schema_version,
                payload_json=canonical.dumps(canonical.loads(event.payload_json)),
                metadata_json=canonical.dumps(canonical.loads(event.metadata_json)),
                recorded_at=event.recorded_at, effective_at=event.effective_at,
                postings_json=canonical.postings_json([(p.account, p.asset, p.amount) for p in event.postings]),
                prev_hash=prev_hash,
            )
            cursor.execute("UPDATE ledger_event SET prev_hash = %s, hash = %s WHERE position = %s",
                           [prev_hash, new_hash, event.position])
            prev_hash = new_hash
        cursor.execute("ALTER TABLE ledger_event ENABLE TRIGGER ledger_event_immutable")


def test_history_rewritten_with_recomputed_hashes_passes_the_chain_check_but_not_the_anchor(anchor_settings, anchor_setup, booked):
    anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract)
    clean = io.StringIO()
    call_command("verify_ledger", "--no-progress", stdout=clean)
    assert "anchor OK" in clean.getvalue()

    _rewrite_history_with_recomputed_hashes(booked.position, {"symbol": "X", "qty": "4000"})

    with pytest.raises(SystemExit) as exit_info:
        call_command("verify_ledger", "--no-progress", stdout=(out := io.StringIO()), stderr=(err := io.StringIO()))
    assert exit_info.value.code == 1
    assert out.getvalue().startswith("ledger OK")  # the rewritten chain is internally consistent...
    assert "anchor MISMATCH" in err.getvalue() and "history rewritten" in err.getvalue()  # ...but not what was anchored


def _export_and_verify(path: Path, *args: str) -> tuple[dict, subprocess.CompletedProcess]:
    """Export the whole log to `path` and run the standalone verifier on it: (the header, its run)."""
    buffer = io.StringIO()
    export(buffer, date(2000, 1, 1), date(2100, 1, 1))
    path.write_text(buffer.getvalue())
    return json.loads(buffer.getvalue().splitlines()[0]), subprocess.run(
        [sys.executable, str(VERIFY_EXPORT), str(path), *args], capture_output=True, text=True)


def test_an_export_is_checked_against_the_on_chain_anchor_though_the_anchor_record_follows_it(anchor_setup, booked,
                                                                                              tmp_path):
    """Every anchor is followed by its own `ledger_anchored` event, so no export ends at an anchored position:
    --expect-head cannot use an anchor, --anchor POSITION:HASH checks the event at that position."""
    anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract)
    on_chain = read_anchor(anchor_setup.w3, anchor_setup.contract)  # what an auditor reads from the contract
    anchored = f"{on_chain.position}:0x{on_chain.head_hash}"
    export_path = tmp_path / "export.jsonl"

    header, intact = _export_and_verify(export_path, "--anchor", anchored)
    assert intact.returncode == 0 and f"anchors at positions {on_chain.position} match" in intact.stdout
    assert {"position": on_chain.position, "hash": on_chain.head_hash, "chain_id": 31337,
            "contract": anchor_setup.contract} in header["anchors"]
    _, head_only = _export_and_verify(export_path, "--expect-head", on_chain.head_hash)
    assert head_only.returncode == 1
    _, beyond = _export_and_verify(export_path, "--anchor", f"{header['last_position'] + 1}:{on_chain.head_hash}")
    assert beyond.returncode == 2 and f"cannot check anchors at positions {header['last_position'] + 1}" in beyond.stdout

    _rewrite_history_with_recomputed_hashes(booked.position, {"symbol": "X", "qty": "4000"})
    _, rewritten = _export_and_verify(export_path, "--anchor", anchored)
    assert rewritten.returncode == 1
    assert rewritten.stdout.startswith(f"export BROKEN at position {on_chain.position}")
    assert f"differs from the anchored hash {on_chain.head_hash}" in rewritten.stdout


def test_an_auditor_checks_the_anchor_from_the_console(anchor_settings, anchor_setup, booked, client_as):
    anchor_head(anchor_setup.w3, anchor_setup.owner, anchor_setup.contract, network="anvil")

    page = client_as("auditor").get(reverse("admin:console_anchor")).content.decode()

    assert 'data-ok="true"' in page and booked.hash in page


def test_the_periodic_task_anchors_when_configured_and_says_so_when_not(anchor_settings, booked, settings):
    first = anchor_ledger()
    again = anchor_ledger()
    settings.LEDGER_ANCHOR_CONTRACT = None
    unconfigured = anchor_ledger()

    assert first["status"] == "anchored" and first["position"] == booked.position
    assert again["status"] == "nothing_to_anchor"
    assert unconfigured == {"status": "not_configured"}


def test_verify_ledger_without_anchor_settings_checks_only_the_chain(settings, booked):
    settings.LEDGER_ANCHOR_CONTRACT = None
    out = io.StringIO()
    call_command("verify_ledger", "--no-progress", stdout=out)
    assert out.getvalue().startswith("ledger OK") and "anchor" not in out.getvalue()


def test_anchor_ledger_with_the_rpc_down_says_so_in_one_line_and_records_nothing(anchor_settings, booked, settings):
    settings.LEDGER_ANCHOR_RPC_URL = "http://127.0.0.1:9"  # nothing listens on the discard port
    head = store.head_position()

    with pytest.raises(CommandError, match="^anchor_ledger NOT done: chain_unavailable: "):
        call_command("anchor_ledger", stdout=io.StringIO())

    assert store.head_position() == head
