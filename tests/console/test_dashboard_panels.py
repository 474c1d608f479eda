"""The dashboard panels issuance and reconciliation fill: pending requests with their age, cycle times, open
breaks by severity, and how fresh custody and reconciliation are.

The test database holds what other tests committed, so these tests look for their own rows, never at totals.
"""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from custody.models import CustodyAccount
from custody.services import import_statement
from issuance import dashboard as issuance_dashboard
from issuance import services
from reconciliation.models import Break
from reconciliation.services import run_reconciliation

from .issuance_setup import Market, chain_for_test, open_market

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("admin:index")


def panel(client, slot: str):
    return next(view.panel for view in client.get(DASHBOARD).context["slots"] if view.slot == slot)


def row(found_panel, label: str):
    return next(item for item in found_panel.rows if item.label.startswith(label))


@pytest.fixture
def market(settings, anvil_node, instrument, unique) -> Market:
    return open_market(chain_for_test(settings, anvil_node.url), instrument, unique)


def test_a_mint_awaiting_approval_is_listed_with_its_age_and_turns_red_when_stuck(client_as, market, monkeypatch):
    mint = market.request_mint("1500")
    auditor = client_as("auditor")

    waiting = row(panel(auditor, "pending_requests"), "Mints awaiting a second approver")
    assert "oldest" in waiting.value and waiting.url.endswith("?status__exact=requested") and not waiting.alert
    assert mint.id in auditor.get(waiting.url).content.decode()  # the link opens the approval queue

    monkeypatch.setattr(issuance_dashboard, "STUCK_AFTER_MINUTES", 0)
    assert row(panel(auditor, "pending_requests"), "Mints awaiting a second approver").alert


def test_cycle_times_show_p50_and_p95_of_completed_mints(client_as, market):
    market.shares_arrive("10")
    mint = market.request_mint("10")
    services.secure_shares(mint.id, "user:test-setup", via="journal", reference="journal")
    assert services.process_mint(mint.id).status == "completed"

    cycle = panel(client_as("auditor"), "cycle_times")

    assert row(cycle, "Mint: request → completed").value.startswith("p50 ")
    assert "(n=" in row(cycle, "Mint: request → confirmed on chain").value
    assert {item.label for item in cycle.rows} >= {"Redeem: deposit → burned", "Redeem: deposit → shares released"}


def statement_account(unique: str, statement_day, isin: str, shares: str) -> CustodyAccount:
    account = CustodyAccount.objects.create(name=f"bank-{unique}", kind=CustodyAccount.Kind.STATEMENT,
                                            statement_account_ref=f"REF-{unique}")
    csv = ("account,statement_date,isin,description,aggregate,available,blocked,pending\n"
           f"REF-{unique},{statement_day.isoformat()},{isin},TEST,{shares},,,\n")
    import_statement(csv.encode(), f"holdings-{unique}.csv", account.name, actor="user:test-setup")
    return account


def test_freshness_shows_each_custody_account_and_the_last_reconciliation(client_as, unique, instrument):
    today = datetime.now(UTC).date()
    fresh = statement_account(unique, today, instrument.isin, "5")
    old = statement_account(unique[::-1], today - timedelta(days=5), instrument.isin, "5")
    broker = CustodyAccount.objects.create(name=f"broker-{unique}", kind=CustodyAccount.Kind.ALPACA)

    freshness = panel(client_as("auditor"), "freshness")

    assert not row(freshness, f"Custody {fresh.name} (statements)").alert
    assert row(freshness, f"Custody {old.name} (statements)").alert
    never = row(freshness, f"Custody {broker.name} (broker)")
    assert (never.value, never.alert) == ("no successful sync on record", True)
    assert row(freshness, "Last reconciliation")


def test_open_breaks_are_counted_by_severity(client_as, unique, instrument, settings):
    """A custodian statement shows shares the ledger never booked: the run opens breaks for them."""
    settings.RECONCILIATION_REFRESH_BROKER = False  # read what brokers last reported; call none
    statement_account(unique, datetime.now(UTC).date(), instrument.isin, "7")
    run_reconciliation([instrument.symbol], actor="user:test-setup")

    breaks = panel(client_as("auditor"), "open_breaks")

    mine = Break.objects.filter(symbol=instrument.symbol, status=Break.Status.OPEN)
    assert sorted(mine.values_list("kind", "severity")) == [("excess_custody", "warning"), ("ledger_drift", "warning")]
    live = Break.objects.filter(status__in=Break.LIVE)
    counts = ", ".join(f"{count} {severity}" for severity in ("critical", "warning")
                       if (count := live.filter(severity=severity).count()))
    assert breaks.note.startswith(f"{live.count()} open ({counts}); last run ")
