"""Syncing the Alpaca custody account: every broker fact becomes exactly one event with the right postings."""
from __future__ import annotations

from decimal import Decimal

import pytest
from alpaca.trading.client import TradingClient
from alpaca.trading.enums import OrderSide, TimeInForce
from alpaca.trading.requests import MarketOrderRequest
from django.utils import timezone

from custody.activities import JournalMatch
from custody.errors import ActivityNotBookable
from custody.models import ActivityCursor
from custody.services import (
    latest_broker_positions,
    register_journal_matcher,
    shares_at_account,
    shares_in_custody,
    sync_account,
    unregister_journal_matcher,
)
from ledger.balances import balance

from .conftest import AP_KEYS, make_alpaca_account


def market_order(client, side: OrderSide, symbol: str, qty: str):
    return client.submit_order(MarketOrderRequest(symbol=symbol, qty=qty, side=side, time_in_force=TimeInForce.DAY))


@pytest.fixture
def partner_matcher():
    """Issuance's hook: ITN journals name their tokenization request; request "tr-7" belongs to partner p-7."""
    def match(journal):
        if "tr-7" in journal.description:
            return JournalMatch(partner_id="p-7", request_id="mint-7")
        return None

    register_journal_matcher(match)
    yield match
    unregister_journal_matcher(match)


def test_a_buy_fill_moves_shares_and_cash_between_custody_and_the_market(alpaca_main, instruments, broker_client,
                                                                           ledger_log):
    market_order(broker_client, OrderSide.BUY, "AAPL", "10")

    report = sync_account(alpaca_main)

    [bought] = ledger_log.new("shares_bought")
    assert (report.activities_recorded, bought.stream_id) == (1, "alpaca-main")
    assert (bought.payload["qty"], bought.payload["price"], bought.payload["notional"]) == ("10", "190.12", "1901.2")
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("10")
    assert balance("market:alpaca-main:AAPL", "AAPL") == Decimal("-10")
    assert balance("custody:alpaca-main:cash:USD", "USD") == Decimal("-1901.2")
    assert balance("market:alpaca-main:USD", "USD") == Decimal("1901.2")


def test_a_sell_fill_reverses_the_legs(alpaca_main, instruments, broker_client, broker):
    market_order(broker_client, OrderSide.BUY, "AAPL", "10")
    broker.set_fill_price("AAPL", "200")
    market_order(broker_client, OrderSide.SELL, "AAPL", "4")

    sync_account(alpaca_main)

    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("6")
    assert balance("custody:alpaca-main:cash:USD", "USD") == Decimal("-1901.2") + Decimal("800")


def test_syncing_again_writes_nothing_new(alpaca_main, instruments, broker_client, broker, ledger_log):
    market_order(broker_client, OrderSide.BUY, "AAPL", "3")
    broker.add_dividend("AAPL", "0.25")
    first = sync_account(alpaca_main)
    written = len(ledger_log.new())

    second = sync_account(alpaca_main)
    rescan = sync_account(alpaca_main, rescan=True)

    assert (first.activities_recorded, first.positions_observed) == (2, True)
    assert (second.activities_recorded, second.orders_recorded, second.positions_observed) == (0, 0, False)
    assert (rescan.activities_recorded, rescan.positions_observed) == (0, False)
    assert len(ledger_log.new()) == written
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("3")


def test_only_activities_after_the_cursor_are_asked_for_next_time(alpaca_main, instruments, broker_client, broker):
    market_order(broker_client, OrderSide.BUY, "AAPL", "1")
    sync_account(alpaca_main)
    cursor = ActivityCursor.objects.get(account_name="alpaca-main").last_activity_id
    broker.clear_requests()

    market_order(broker_client, OrderSide.BUY, "AAPL", "2")
    report = sync_account(alpaca_main)

    first_page = broker.requests("GET", "/v2/account/activities")[0]
    assert (first_page["query"]["page_token"], first_page["query"]["direction"]) == (cursor, "asc")
    assert report.activities_recorded == 1
    assert ActivityCursor.objects.get(account_name="alpaca-main").last_activity_id > cursor


def test_a_journal_matched_to_a_partner_secures_shares_for_its_pending_mint(alpaca_main, instruments, broker,
                                                                              partner_matcher, ledger_log):
    broker.add_share_journal("AAPL", "5", description="ITN mint tr-7: from PA123")

    sync_account(alpaca_main)

    [journal] = ledger_log.new("shares_journaled")
    assert (journal.payload["partner_id"], journal.payload["request_id"], journal.payload["matched"]) == (
        "p-7", "mint-7", True)
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("5")
    assert balance("partner:p-7:pending-mint:AAPL", "AAPL") == Decimal("-5")


def test_shares_journaled_out_for_a_partner_release_its_pending_redeem(alpaca_main, instruments, broker,
                                                                        partner_matcher):
    broker.set_position("AAPL", "10")
    broker.add_share_journal("AAPL", "-4", description="ITN redeem tr-7: to PA123")

    sync_account(alpaca_main)

    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("-4")  # the silent position is no fact
    assert balance("partner:p-7:pending-redeem:AAPL", "AAPL") == Decimal("4")


def test_a_journal_nobody_claims_is_held_in_suspense(alpaca_main, instruments, broker, partner_matcher):
    broker.add_share_journal("TSLA", "2", description="journal from an unknown account")
    broker.add_cash_journal("1000.50", description="wire from somebody")

    sync_account(alpaca_main)

    assert balance("custody:alpaca-main:TSLA", "TSLA") == Decimal("2")
    assert balance("suspense:unmatched-journal:alpaca-main:TSLA", "TSLA") == Decimal("-2")
    assert balance("custody:alpaca-main:cash:USD", "USD") == Decimal("1000.50")
    assert balance("suspense:unmatched-journal:alpaca-main:USD", "USD") == Decimal("-1000.50")


def test_shares_journaled_out_to_nobody_we_know_clear_apart_from_those_journaled_in(alpaca_main, instruments,
                                                                                     broker, partner_matcher):
    broker.add_share_journal("TSLA", "2", description="journal from an unknown account")
    broker.add_share_journal("TSLA", "-0.5", description="journal to an unknown account")

    sync_account(alpaca_main)

    assert balance("custody:alpaca-main:TSLA", "TSLA") == Decimal("1.5")
    assert balance("suspense:unmatched-journal:alpaca-main:TSLA", "TSLA") == Decimal("-2")  # in, claimed by nobody
    assert balance("suspense:outgoing-journal:alpaca-main:TSLA", "TSLA") == Decimal("0.5")  # out, released by nobody


def test_a_cash_journal_from_a_partner_is_owed_to_the_partner(alpaca_main, instruments, broker, partner_matcher):
    broker.add_cash_journal("2500", description="ITN cash tr-7")

    sync_account(alpaca_main)

    assert balance("custody:alpaca-main:cash:USD", "USD") == Decimal("2500")
    assert balance("partner:p-7:cash:USD", "USD") == Decimal("-2500")


def test_a_dividend_is_cash_received_against_the_dividend_receivable(alpaca_main, instruments, broker, ledger_log):
    broker.set_position("AAPL", "120")
    broker.add_dividend("AAPL", "0.24", account="custody", date="2026-05-15")
    broker.add_activity("DIVNRA", symbol="AAPL", net_amount="-4.32", date="2026-05-15", description="NRA withholding")

    sync_account(alpaca_main)

    assert [event.payload["net_amount"] for event in ledger_log.new("dividend_received")] == ["28.8", "-4.32"]
    assert balance("custody:alpaca-main:cash:USD", "USD") == Decimal("24.48")
    assert balance("dividends:receivable:AAPL:2026-05-15", "USD") == Decimal("-24.48")


def test_a_fee_is_charged_to_the_broker_fees_account(alpaca_main, instruments, broker):
    broker.add_fee("1.25", description="regulatory fee")

    sync_account(alpaca_main)

    assert balance("custody:alpaca-main:cash:USD", "USD") == Decimal("-1.25")
    assert balance("broker:alpaca-main:fees:USD", "USD") == Decimal("1.25")


def test_a_split_adds_the_new_shares_against_the_corporate_action(alpaca_main, instruments, broker_client, broker,
                                                                  ledger_log):
    market_order(broker_client, OrderSide.BUY, "TSLA", "10")
    broker.add_split("TSLA", old_rate="1", new_rate="4", date="2026-06-01")

    sync_account(alpaca_main)

    [split] = ledger_log.new("split_booked")
    assert split.payload["qty"] == "30"
    assert balance("custody:alpaca-main:TSLA", "TSLA") == Decimal("40")
    assert balance("corporate-actions:split-2026-06-01:TSLA", "TSLA") == Decimal("-30")
    assert latest_broker_positions("alpaca-main").qty == {"TSLA": Decimal("40")}


def test_an_activity_without_a_rule_keeps_the_books_in_step_through_suspense(alpaca_main, instruments, broker,
                                                                             ledger_log):
    broker.add_activity("REORG", symbol="AAPL", qty="3", net_amount="12.5", description="merger consideration")

    sync_account(alpaca_main)

    [event] = ledger_log.new("broker_activity_unclassified")
    assert event.payload["activity_type"] == "REORG"
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("3")
    assert balance("suspense:broker-activity:alpaca-main:AAPL", "AAPL") == Decimal("-3")
    assert balance("suspense:broker-activity:alpaca-main:USD", "USD") == Decimal("-12.5")


def test_positions_are_observed_with_total_and_available_qty_without_postings(alpaca_main, instruments, broker,
                                                                             broker_client, ledger_log):
    market_order(broker_client, OrderSide.BUY, "AAPL", "10")
    broker.set_fill_plan("AAPL", ["0.5"])  # the sell fills halfway and the rest stays held for the order
    market_order(broker_client, OrderSide.SELL, "AAPL", "4")

    sync_account(alpaca_main)

    [observed] = ledger_log.new("positions_observed")
    assert observed.postings == ()
    assert observed.payload["positions"] == {"AAPL": {"qty": "8", "qty_available": "6"}}
    assert len(observed.payload["raw_sha256"]) == 64
    positions = latest_broker_positions("alpaca-main")
    assert (positions.qty, positions.qty_available) == ({"AAPL": Decimal("8")}, {"AAPL": Decimal("6")})
    assert positions.qty["AAPL"] == shares_at_account("alpaca-main", "AAPL")  # reconcile on qty, the total


def test_a_position_change_nobody_booked_shows_up_as_a_new_observation_only(alpaca_main, instruments, broker,
                                                                            broker_client, ledger_log):
    market_order(broker_client, OrderSide.BUY, "AAPL", "10")
    sync_account(alpaca_main)
    broker.adjust_position("AAPL", "-1")  # shares vanish at the broker without any activity

    report = sync_account(alpaca_main)

    assert (report.activities_recorded, report.positions_observed) == (0, True)
    assert latest_broker_positions("alpaca-main").qty == {"AAPL": Decimal("9")}
    assert shares_at_account("alpaca-main", "AAPL") == Decimal("10")  # the break reconciliation will report


def test_shares_in_custody_add_up_every_custody_account(alpaca_main, instruments, broker_client, sandbox,
                                                        monkeypatch):
    second = make_alpaca_account("alpaca-second", sandbox.base_url, AP_KEYS, monkeypatch)
    market_order(broker_client, OrderSide.BUY, "AAPL", "10")
    market_order(TradingClient(*AP_KEYS, paper=True, url_override=sandbox.base_url), OrderSide.BUY, "AAPL", "2.5")
    sync_account(alpaca_main)
    synced_first = timezone.now()
    sync_account(second)

    assert shares_in_custody("AAPL") == Decimal("12.5")
    assert shares_in_custody("TSLA") == Decimal("0")
    assert shares_in_custody("AAPL", known_at=synced_first) == Decimal("10")


def test_an_activity_that_cannot_be_booked_stops_the_sync_before_it(alpaca_main, instruments, broker,
                                                                    broker_client, ledger_log):
    market_order(broker_client, OrderSide.BUY, "AAPL", "1")
    broker.add_activity("DIV", net_amount="5")  # a dividend that names no security
    market_order(broker_client, OrderSide.BUY, "AAPL", "2")

    with pytest.raises(ActivityNotBookable, match="symbol None is missing"):
        sync_account(alpaca_main)

    assert [event.payload["qty"] for event in ledger_log.new("shares_bought")] == ["1"]
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("1")


def test_a_fractional_fill_at_a_ten_decimal_price_settles_to_the_cent_with_the_rest_in_a_rounding_account(
        alpaca_main, instruments, broker_client, broker, ledger_log):
    broker.set_fill_price("AAPL", "3.1415926535")
    market_order(broker_client, OrderSide.BUY, "AAPL", "0.123456789")  # worth 0.3878509413470996115 dollars
    market_order(broker_client, OrderSide.BUY, "AAPL", "1")  # a later fill is not stuck behind it

    sync_account(alpaca_main)

    first, second = ledger_log.new("shares_bought")
    assert (first.payload["notional"], first.payload["settled_amount"]) == ("0.3878509413470996115", "0.39")
    assert balance("custody:alpaca-main:AAPL", "AAPL") == Decimal("1.123456789")
    assert balance("custody:alpaca-main:cash:USD", "USD") == -Decimal("0.39") - Decimal("3.14")
    trade_value = Decimal("0.387850941347099612")  # the ledger keeps 18 decimal places
    assert balance("market:alpaca-main:USD", "USD") == trade_value + Decimal("3.1415926535")
    assert balance("broker:alpaca-main:rounding:USD", "USD") == (
        Decimal("0.39") - trade_value + Decimal("3.14") - Decimal("3.1415926535"))
