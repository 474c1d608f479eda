"""Account, assets, positions, clock and corporate actions, read through alpaca-py's own models."""
from __future__ import annotations

from datetime import date

import pytest
from alpaca.common.exceptions import APIError
from alpaca.trading.enums import AssetClass, AssetStatus, CorporateActionType
from alpaca.trading.requests import GetAssetsRequest, GetCorporateAnnouncementsRequest


def test_the_account_reports_cash_equity_and_long_market_value_as_decimal_strings(custody, broker):
    broker.set_cash("5000.50")
    broker.set_fill_price("AAPL", "190.25")
    broker.set_position("AAPL", "4", avg_entry_price="180")

    account = custody.get_account()

    assert (account.cash, account.long_market_value, account.equity, account.buying_power) == (
        "5000.5", "761", "5761.5", "5000.5")
    assert account.account_number.startswith("PA") and account.currency == "USD"


def test_assets_are_listed_filtered_and_found_by_symbol_or_id(custody, broker):
    broker.set_fill_price("XSTK", "12.5")  # a symbol the sandbox did not know becomes a tradable asset

    active = custody.get_all_assets(GetAssetsRequest(status=AssetStatus.ACTIVE, asset_class=AssetClass.US_EQUITY))
    apple = custody.get_asset("AAPL")

    assert {"AAPL", "SPY", "XSTK"} <= {asset.symbol for asset in active}
    assert (apple.symbol, apple.asset_class, apple.fractionable) == ("AAPL", AssetClass.US_EQUITY, True)
    assert custody.get_asset(apple.id).symbol == "AAPL"
    with pytest.raises(APIError) as missing:
        custody.get_asset("NOPE")
    assert (missing.value.status_code, missing.value.code) == (404, 40410000)


def test_positions_silently_changed_at_the_broker_show_up_without_any_activity(custody, broker):
    broker.set_position("SPY", "100", avg_entry_price="550")
    broker.adjust_position("SPY", "-3")

    position = custody.get_open_position("SPY")

    assert (position.qty, position.qty_available, position.avg_entry_price) == ("97", "97", "550")
    assert custody.get("/account/activities") == []
    with pytest.raises(APIError) as missing:
        custody.get_open_position("TSLA")
    assert (missing.value.status_code, missing.value.message) == (404, "position does not exist")


def test_the_clock_follows_the_forced_market_state(custody, broker):
    broker.set_market_open(False)
    assert custody.get_clock().is_open is False
    broker.set_market_open(True)
    clock = custody.get_clock()
    assert clock.is_open is True and clock.next_close > clock.timestamp


def test_corporate_action_announcements_are_filtered_by_type_symbol_and_dates(custody, broker):
    broker.add_announcement("dividend", "AAPL", cash="0.26", ex_date="2026-11-10", record_date="2026-11-11",
                            payable_date="2026-11-14")
    broker.add_announcement("split", "NVDA", ca_sub_type="stock_split", old_rate="1", new_rate="10",
                            ex_date="2026-12-01")
    broker.add_announcement("dividend", "MSFT", cash="0.83", ex_date="2025-02-20")

    with pytest.warns(DeprecationWarning):
        found = custody.get_corporate_announcements(GetCorporateAnnouncementsRequest(
            ca_types=[CorporateActionType.DIVIDEND, CorporateActionType.SPLIT],
            since=date(2026, 11, 1), until=date(2026, 12, 31)))

    assert [(a.initiating_symbol, a.ca_type, a.cash, a.new_rate) for a in found] == [
        ("AAPL", CorporateActionType.DIVIDEND, 0.26, 1.0), ("NVDA", CorporateActionType.SPLIT, 0.0, 10.0)]
    assert found[0].initiating_original_cusip == "037833100"
    apple_only = custody.get("/corporate_actions/announcements",
                             {"ca_types": "dividend", "since": "2026-11-01", "until": "2026-11-30", "symbol": "AAPL",
                              "date_type": "payable_date"})
    assert [a["payable_date"] for a in apple_only] == ["2026-11-14"]
    with pytest.raises(APIError) as refusal:
        custody.get("/corporate_actions/announcements", {"ca_types": "dividend", "since": "2026-01-01",
                                                         "until": "2026-12-31"})
    assert refusal.value.status_code == 422
