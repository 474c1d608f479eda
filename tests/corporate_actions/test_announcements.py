"""Announcements: what ops enter is validated before anything is recorded; corrections and cancellations are
new events on the same stream."""
from __future__ import annotations

from decimal import Decimal

import pytest

from corporate_actions import services
from corporate_actions.errors import ActionStateConflict, DividendPayDateTaken, InvalidAnnouncement, UnknownInstrument
from corporate_actions.models import CorporateAction
from ledger import store

from .conftest import make_instrument
from .support import OPS


@pytest.fixture
def instrument(db, unique):
    return make_instrument(unique)


def test_a_cash_dividend_is_recorded_with_its_dates_and_exact_rate(instrument):
    action = services.announce_dividend(instrument.symbol, ex_date="2026-03-09", record_date="2026-03-09",
                                        pay_date="2026-03-13", rate="0.2625", actor=OPS)

    assert (action.kind, action.status, action.rate, action.currency) == ("cash_dividend", "announced", Decimal("0.2625"), "USD")
    assert str(action.record_date) == "2026-03-09" and str(action.pay_date) == "2026-03-13"
    (event,) = store.read_stream("corporate_action", action.id)
    assert event.event_type == "corporate_action_announced" and event.metadata["actor"] == OPS
    assert event.payload["terms"]["rate"] == "0.2625" and event.payload["isin"] == instrument.isin


@pytest.mark.parametrize("terms, complaint", [
    ({"record_date": "2026-03-20", "pay_date": "2026-03-13"}, "after pay date"),
    ({"rate": "-0.25"}, "greater than zero"),
    ({"rate": "0"}, "greater than zero"),
    ({"rate": "0.25.1"}, "not a decimal"),
    ({"pay_date": "13/03/2026"}, "not a date"),
    ({"currency": "dollars"}, "ISO 4217"),
])
def test_a_bad_dividend_announcement_is_refused_and_nothing_is_recorded(instrument, terms, complaint):
    head = store.head_position()
    with pytest.raises(InvalidAnnouncement, match=complaint):
        services.announce_dividend(instrument.symbol, **{"ex_date": "2026-03-09", "record_date": "2026-03-09",
                                                         "pay_date": "2026-03-13", "rate": "0.25", "actor": OPS,
                                                         **terms})
    assert store.head_position() == head
    assert not CorporateAction.objects.filter(isin=instrument.isin).exists()


def test_a_dividend_on_an_unknown_instrument_is_refused_and_nothing_is_recorded(db):
    head = store.head_position()
    with pytest.raises(UnknownInstrument):
        services.announce_dividend("NOSUCH", ex_date="2026-03-09", record_date="2026-03-09", pay_date="2026-03-13",
                                   rate="0.25", actor=OPS)
    assert store.head_position() == head


def test_a_float_rate_is_refused(instrument):
    with pytest.raises(InvalidAnnouncement, match="not a float"):
        services.announce_dividend(instrument.symbol, ex_date="2026-03-09", record_date="2026-03-09",
                                   pay_date="2026-03-13", rate=0.25, actor=OPS)


def test_a_correction_is_a_new_event_with_the_full_terms_and_the_old_ones(instrument):
    action = services.announce_dividend(instrument.symbol, ex_date="2026-03-09", record_date="2026-03-09",
                                        pay_date="2026-03-13", rate="0.25", actor=OPS)

    corrected = services.correct_action(action.id, {"rate": "0.26"}, reason="issuer press release", actor=OPS)

    assert corrected.rate == Decimal("0.26") and corrected.corrections == 1
    first, second = store.read_stream("corporate_action", action.id)
    assert second.event_type == "corporate_action_corrected"
    assert second.payload["previous_terms"]["rate"] == "0.25" and second.payload["terms"]["rate"] == "0.26"
    with pytest.raises(InvalidAnnouncement, match="after pay date"):
        services.correct_action(action.id, {"pay_date": "2026-03-01"}, reason="typo", actor=OPS)
    assert len(store.read_stream("corporate_action", action.id)) == 2


def test_two_live_dividends_of_one_stock_cannot_share_a_pay_date_and_so_a_receivable(instrument):
    dates = {"ex_date": "2026-03-09", "record_date": "2026-03-09", "pay_date": "2026-03-13"}
    regular = services.announce_dividend(instrument.symbol, **dates, rate="0.25", actor=OPS)
    later = services.announce_dividend(instrument.symbol, **{**dates, "pay_date": "2026-03-20"}, rate="1.00", actor=OPS)
    head = store.head_position()

    with pytest.raises(DividendPayDateTaken, match=f"combined rate.*{regular.id}"):
        services.announce_dividend(instrument.symbol, **dates, rate="1.00", actor=OPS)
    with pytest.raises(DividendPayDateTaken):
        services.correct_action(later.id, {"pay_date": "2026-03-13"}, reason="same day after all", actor=OPS)

    assert store.head_position() == head
    services.cancel_action(regular.id, reason="replaced by one dividend at the combined rate", actor=OPS)
    combined = services.announce_dividend(instrument.symbol, **dates, rate="1.25", actor=OPS)
    assert combined.status == "announced"


def test_a_cancelled_action_can_no_longer_be_corrected(instrument):
    action = services.announce_dividend(instrument.symbol, ex_date="2026-03-09", record_date="2026-03-09",
                                        pay_date="2026-03-13", rate="0.25", actor=OPS)
    services.cancel_action(action.id, reason="announced in error", actor=OPS)

    with pytest.raises(ActionStateConflict):
        services.correct_action(action.id, {"rate": "0.30"}, reason="late", actor=OPS)
    assert services.get_action(action.id).status == "cancelled"


@pytest.mark.parametrize("old_rate, new_rate, kind", [("1", "3", "stock_split"), ("10", "1", "reverse_split"),
                                                      ("2", "3", "stock_split")])
def test_splits_and_reverse_splits_are_told_apart_by_their_ratio(instrument, old_rate, new_rate, kind):
    action = services.announce_split(instrument.symbol, effective_date="2026-04-01", old_rate=old_rate,
                                     new_rate=new_rate, actor=OPS)
    assert action.kind == kind and (action.old_rate, action.new_rate) == (Decimal(old_rate), Decimal(new_rate))


@pytest.mark.parametrize("old_rate, new_rate", [("0", "3"), ("1", "-2"), ("1", "1")])
def test_a_split_with_a_meaningless_ratio_is_refused(instrument, old_rate, new_rate):
    with pytest.raises(InvalidAnnouncement):
        services.announce_split(instrument.symbol, effective_date="2026-04-01", old_rate=old_rate,
                                new_rate=new_rate, actor=OPS)
    assert not CorporateAction.objects.filter(isin=instrument.isin).exists()


def test_symbol_changes_and_delistings_need_their_own_terms(instrument):
    with pytest.raises(InvalidAnnouncement, match="new_symbol"):
        services.announce("symbol_change", instrument.symbol, {"effective_date": "2026-04-01"}, actor=OPS)
    action = services.announce("symbol_change", instrument.symbol, {"effective_date": "2026-04-01",
                                                                    "new_symbol": "newx"}, actor=OPS)
    assert action.new_symbol == "NEWX"
    assert services.announce("delisting", instrument.symbol, {"effective_date": "2026-04-01"}, actor=OPS).kind == "delisting"
