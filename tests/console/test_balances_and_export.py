"""Time travel over balances, and the audit export an auditor downloads and verifies on their own."""
from __future__ import annotations

import hashlib
import html
import re
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from ledger import store
from ledger.models import Event
from tests.conftest import ROOT

from .conftest import move

pytestmark = pytest.mark.django_db
BALANCES = reverse("admin:console_balances")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def shown(response) -> dict[tuple[str, str], str]:
    return {(row.account, row.asset): format(row.balance, "f") for row in response.context["rows"]}


def test_balances_as_of_a_day_and_as_known_before_a_correction(client_as, unique):
    symbol = f"B{unique[:5].upper()}"
    account = f"custody:alpaca-main:{symbol}"
    march_30 = datetime(2026, 3, 30, 20, 0, tzinfo=UTC)
    first = move(symbol, account, f"equity:opening:{symbol}", "100", effective_at=march_30)
    move(symbol, f"equity:opening:{symbol}", account, "10", effective_at=march_30, event_type="correction")
    move(symbol, account, f"equity:opening:{symbol}", "5", effective_at=march_30 + timedelta(days=2))
    auditor = client_as("auditor")

    now = auditor.get(BALANCES, {"account": account})
    on_march_30 = auditor.get(BALANCES, {"account": account, "as_of": stamp(march_30)})
    as_known_then = auditor.get(BALANCES, {"account": account, "as_of": stamp(march_30), "known_at": stamp(first.recorded_at)})
    whole_custody_account = auditor.get(BALANCES, {"account": "custody:alpaca-main:", "asset": symbol})

    assert shown(now) == {(account, symbol): "95"}
    assert shown(on_march_30) == {(account, symbol): "90"}
    assert shown(as_known_then) == {(account, symbol): "100"}
    assert shown(whole_custody_account) == {(account, symbol): "95"}


def test_an_event_links_to_the_balances_as_the_ledger_knew_them_right_after_it(client_as, unique):
    symbol = f"K{unique[:5].upper()}"
    account = f"custody:alpaca-main:{symbol}"
    first = move(symbol, account, f"equity:opening:{symbol}", "100")
    move(symbol, account, f"equity:opening:{symbol}", "1")
    auditor = client_as("auditor")

    event_page = auditor.get(reverse("admin:ledger_event_change", args=[first.position]))
    link = html.unescape(re.search(r'href="([^"]+)">Balances as known then', event_page.content.decode()).group(1))

    assert shown(auditor.get(link)) == {(account, symbol): "100"}


def test_an_auditor_downloads_an_export_that_verifies_standalone_and_is_recorded(client_as, unique, tmp_path):
    move(f"E{unique[:5].upper()}", f"custody:alpaca-main:E{unique[:5].upper()}", "equity:opening:X", "7")
    auditor = client_as("auditor")
    today = datetime.now(UTC).date()

    page = auditor.get(reverse("admin:console_export"))
    response = auditor.post(reverse("admin:console_export"), {"date_from": "2000-01-01", "date_to": today.isoformat()})

    assert b"python3 tools/verify_export.py FILE --balances" in page.content
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    body = b"".join(response.streaming_content)
    export_file = tmp_path / "export.jsonl"
    export_file.write_bytes(body)
    verified = subprocess.run([sys.executable, str(ROOT / "tools" / "verify_export.py"), str(export_file), "--balances"],
                              capture_output=True, text=True)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "export OK" in verified.stdout

    record = Event.objects.order_by("-position").first()
    assert record.event_type == "audit_export_downloaded"
    assert record.metadata["actor"] == f"user:{auditor.user.username}"
    assert record.payload["sha256"] == hashlib.sha256(body).hexdigest() == response["X-Export-SHA256"]
    assert record.payload["last_position"] == record.position - 1


def test_a_period_that_ends_before_it_starts_is_refused_and_nothing_is_recorded(client_as):
    auditor = client_as("auditor")
    head = store.head_position()

    response = auditor.post(reverse("admin:console_export"), {"date_from": "2026-02-01", "date_to": "2026-01-01"})

    assert response.status_code == 200 and b"must not end before it starts" in response.content
    assert store.head_position() == head
