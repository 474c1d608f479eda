"""The dashboard: shares in custody vs tokens outstanding per instrument, end-of-day history, slots, anchor."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from console import dashboard
from console.backing import daily_backing
from ledger import store
from ledger.anchor import ANCHOR_STREAM_TYPE, ANCHORED_EVENT_TYPE

from .conftest import move

pytestmark = pytest.mark.django_db
DASHBOARD = reverse("admin:index")


def day_at(days_ago: int, hour: int = 12) -> datetime:
    return datetime.combine(datetime.now(UTC).date() - timedelta(days=days_ago), time(hour), tzinfo=UTC)


@pytest.fixture
def symbol(unique) -> str:
    """Three days ago 100 shares arrive at two custody accounts; two days ago 60 tokens are minted on
    ethereum; yesterday 30 more on solana; a receipt of 5 shares is booked as effective tomorrow."""
    sym = f"D{unique[:5].upper()}"
    move(sym, f"custody:alpaca-main:{sym}", f"equity:opening:{sym}", "60", effective_at=day_at(3))
    move(sym, f"custody:bny:{sym}", f"equity:opening:{sym}", "40", effective_at=day_at(3))
    move(sym, f"partner:p1:pending-mint:{sym}", f"chain:ethereum:{sym}:supply", "60", effective_at=day_at(2), event_type="mint_confirmed")
    move(sym, f"partner:p1:pending-mint:{sym}", f"chain:solana:{sym}:supply", "30", effective_at=day_at(1), event_type="mint_confirmed")
    move(sym, f"custody:alpaca-main:{sym}", f"equity:opening:{sym}", "5", effective_at=day_at(-1))
    return sym


def test_backing_per_instrument_adds_custody_accounts_and_chains(client_as, symbol):
    page = client_as("auditor").get(DASHBOARD)

    row = next(row for row, _ in page.context["rows"] if row.symbol == symbol)
    assert (row.shares_in_custody, row.tokens_outstanding, row.backing_ratio) == (Decimal(105), Decimal(90), Decimal("1.1667"))
    assert not row.under_backed


def test_an_instrument_with_more_tokens_than_shares_is_flagged(client_as, unique):
    sym = f"U{unique[:5].upper()}"
    move(sym, f"custody:alpaca-main:{sym}", f"equity:opening:{sym}", "10")
    move(sym, f"suspense:unknown-transfer:ethereum:{sym}", f"chain:ethereum:{sym}:supply", "12")

    page = client_as("operator").get(DASHBOARD)

    row = next(row for row, _ in page.context["rows"] if row.symbol == sym)
    assert row.under_backed and row.backing_ratio == Decimal("0.8333")
    assert f'<tr data-symbol="{sym}" class="console-alert">' in page.content.decode()


def test_shares_owed_back_or_leaving_do_not_count_as_backing(client_as, unique):
    """100 shares held for 90 tokens looks over-backed, but 10 are owed back for burned tokens and 5 are released
    and not yet booked out: 85 back the 90 tokens."""
    sym = f"O{unique[:5].upper()}"
    move(sym, f"custody:alpaca-main:{sym}", f"equity:opening:{sym}", "100")
    move(sym, f"partner:p1:pending-mint:{sym}", f"chain:ethereum:{sym}:supply", "90", event_type="mint_confirmed")
    move(sym, f"chain:ethereum:{sym}:supply", f"partner:p1:pending-redeem:{sym}", "10", event_type="burn_confirmed")
    move(sym, f"partner:p2:pending-redeem:{sym}", f"suspense:outgoing-journal:alpaca-main:{sym}", "5",
         event_type="shares_released")

    page = client_as("operator").get(DASHBOARD)

    row = next(row for row, _ in page.context["rows"] if row.symbol == sym)
    assert (row.shares_in_custody, row.shares_not_backing, row.tokens_outstanding) == (Decimal(100), Decimal(15), Decimal(80))
    assert row.backing_ratio == Decimal("1.0625") and not row.under_backed  # 85 free for 80 tokens
    move(sym, f"custody:alpaca-main:{sym}", f"equity:opening:{sym}", "-10")
    row = next(row for row, _ in client_as("operator").get(DASHBOARD).context["rows"] if row.symbol == sym)
    assert row.under_backed and row.backing_ratio == Decimal("0.9375")  # 90 held, 75 free, 80 tokens


def test_end_of_day_history_comes_from_postings_by_effective_time(symbol):
    series = daily_backing(symbol, 5)

    assert [(p.day, p.shares_in_custody, p.tokens_outstanding) for p in series] == [
        (day_at(4).date(), 0, 0),
        (day_at(3).date(), 100, 0),
        (day_at(2).date(), 100, 60),
        (day_at(1).date(), 100, 90),
        (day_at(0).date(), 100, 90),  # the receipt effective tomorrow is not in today's balance
    ]


def test_the_dashboard_charts_the_chosen_instrument_over_the_chosen_days(client_as, symbol):
    page = client_as("auditor").get(DASHBOARD, {"symbol": symbol, "days": "7"})

    chart = page.context["chart"]
    assert [line.label for line in chart.lines] == ["shares in custody", "tokens outstanding"]
    assert all(line.count == 7 for line in chart.lines)
    assert chart.y_max == 100
    html = page.content.decode()
    assert f'id="backing-chart" data-symbol="{symbol}" data-days="7"' in html
    assert html.count("<polyline") == 2


def test_slots_for_later_features_are_marked_until_filled(client_as, monkeypatch):
    monkeypatch.setattr(dashboard, "_providers", {})
    empty = client_as("auditor").get(DASHBOARD).content.decode()
    for slot in dashboard.SLOTS:
        assert f'data-slot="{slot}"' in empty
    assert empty.count("Not connected yet") == len(dashboard.SLOTS)

    dashboard.fill_slot("open_breaks", lambda request: dashboard.Panel(
        [dashboard.PanelRow("AAPL: custody 3 short", "2 h", alert=True)], note="1 open"))
    filled = client_as("auditor").get(DASHBOARD).content.decode()

    assert "AAPL: custody 3 short" in filled and "1 open" in filled
    assert filled.count("Not connected yet") == len(dashboard.SLOTS) - 1
    with pytest.raises(KeyError):
        dashboard.fill_slot("no_such_slot", lambda request: dashboard.Panel([]))


def test_the_latest_anchor_is_shown(client_as, unique):
    recorded = store.append(ANCHOR_STREAM_TYPE, f"eip155:31337:0x{unique}", [store.NewEvent(ANCHORED_EVENT_TYPE, {
        "position": 41, "head_hash": "ab" * 32, "chain_id": 31337, "network": "anvil", "contract": f"0x{unique}",
        "tx_hash": "0x" + "cd" * 32, "block_number": 7, "block_hash": "0x" + "ef" * 32, "signer": "0x0",
    })], metadata={"actor": "system:ledger-anchor"}).events[0]

    html = client_as("auditor").get(DASHBOARD).content.decode()

    assert "ab" * 32 in html and "0x" + "cd" * 32 in html
    assert reverse("admin:ledger_event_change", args=[recorded.position]) in html
