"""Instruments: every change by operations is an event carrying who made it."""
from __future__ import annotations

from decimal import Decimal

import pytest

from custody.errors import InstrumentExists, InstrumentStateConflict, InvalidInstrument, UnknownInstrument
from custody.models import Instrument
from custody.services import (
    change_symbol,
    change_tokens_per_share,
    create_instrument,
    delist_instrument,
    get_instrument,
    pause_instrument,
    resume_instrument,
)
from ledger import store

from .conftest import OPS


def instrument_events(isin: str) -> list[tuple[str, str]]:
    return [(event.event_type, event.metadata["actor"]) for event in store.read_stream("instrument", isin)]


def test_creating_an_instrument_records_who_created_it(db):
    created = create_instrument("nvda", "NVIDIA Corporation", "US67066G1040", cusip="67066G104", exchange="nasdaq",
                                tokens_per_share=Decimal("0.5"), actor=OPS)

    assert (created.symbol, created.exchange, created.status, created.tokens_per_share) == (
        "NVDA", "NASDAQ", "active", Decimal("0.5"))
    [event] = store.read_stream("instrument", "US67066G1040")
    assert (event.event_type, event.metadata["actor"], event.payload["tokens_per_share"]) == (
        "instrument_created", OPS, "0.5")
    assert get_instrument("NVDA") == created


@pytest.mark.parametrize(("isin", "cusip", "message"), [
    ("US0378331006", "", "check digit 6, expected 5"),
    ("US03783310", "", "is not an ISIN"),
    ("US0378331005", "037833101", "CUSIP 037833101 has check digit 1, expected 0"),
    ("US0378331005", "594918104", "CUSIP 594918104 belongs to ISIN US5949181045, not US0378331005"),
])
def test_an_instrument_with_a_wrong_identifier_is_refused(db, isin, cusip, message):
    with pytest.raises(InvalidInstrument, match=message):
        create_instrument("AAPL", "Apple Inc.", isin, cusip=cusip, actor=OPS)
    assert not Instrument.objects.exists()


def test_an_instrument_cannot_be_created_twice(instruments):
    with pytest.raises(InstrumentExists):
        create_instrument("AAPL", "Apple again", "US5949181045", actor=OPS)
    with pytest.raises(InstrumentExists):
        create_instrument("APPL", "Apple again", "US0378331005", actor=OPS)


def test_a_ratio_must_be_a_positive_decimal(db):
    for ratio in (Decimal("0"), Decimal("-1"), 0.5, Decimal("1e-19")):
        with pytest.raises(InvalidInstrument):
            create_instrument("AAPL", "Apple Inc.", "US0378331005", tokens_per_share=ratio, actor=OPS)


def test_pausing_and_resuming_an_instrument_are_events_with_the_operator(instruments):
    paused = pause_instrument("AAPL", "user:alice", "stock split next Monday")
    resumed = resume_instrument("AAPL", "user:bob")

    assert (paused.status, resumed.status) == ("paused", "active")
    assert instrument_events("US0378331005")[1:] == [("instrument_paused", "user:alice"),
                                                     ("instrument_resumed", "user:bob")]
    assert store.read_stream("instrument", "US0378331005")[1].payload["reason"] == "stock split next Monday"


def test_only_a_paused_instrument_can_be_resumed_and_a_delisted_one_never(instruments):
    with pytest.raises(InstrumentStateConflict, match="AAPL is active"):
        resume_instrument("AAPL", "user:alice")

    delist_instrument("AAPL", "user:alice", "acquired")

    with pytest.raises(InstrumentStateConflict, match="AAPL is delisted"):
        resume_instrument("AAPL", "user:alice")
    with pytest.raises(InstrumentStateConflict):
        pause_instrument("AAPL", "user:alice", "too late")


def test_changing_the_ratio_and_the_symbol_keeps_the_isin_stream(instruments):
    change_tokens_per_share("TSLA", Decimal("0.25"), "user:alice", "3:1 split, tokens follow by multiplier")
    renamed = change_symbol("TSLA", "TSLQ", "user:alice", "ticker change")

    assert (renamed.symbol, renamed.tokens_per_share, renamed.isin) == ("TSLQ", Decimal("0.25"), "US88160R1014")
    assert [event for event, _ in instrument_events("US88160R1014")] == [
        "instrument_created", "instrument_ratio_changed", "instrument_symbol_changed"]
    with pytest.raises(UnknownInstrument):
        get_instrument("TSLA")


def test_a_symbol_already_in_use_cannot_be_taken(instruments):
    with pytest.raises(InstrumentExists):
        change_symbol("TSLA", "AAPL", "user:alice", "typo")
    assert get_instrument("TSLA").isin == "US88160R1014"
