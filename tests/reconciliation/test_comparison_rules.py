"""The comparison rules for one instrument, on readings built by hand: tolerance, what in-flight requests
explain, share equivalents, and that a check without its sources says nothing."""
from __future__ import annotations

from decimal import Decimal

from reconciliation.chain_source import ChainReading, Deployment
from reconciliation.checks import InstrumentInputs, check_instrument, shares_from_base_units
from reconciliation.custody_source import CustodyReading
from reconciliation.ledger_source import InstrumentLedger
from reconciliation.readings import OK, UNREACHABLE, SourceReading

TOKEN = 10**18
DEPLOYMENT = Deployment("eth:0xT", "ACME", "eth", "0xT", 18, 1)


def custody(shares: str, status: str = OK) -> CustodyReading:
    return CustodyReading("main", SourceReading("custody", "custody:main", status), {"ACME": Decimal(shares)})


def chain(tokens: Decimal, status: str = OK) -> dict[str, ChainReading]:
    supplies = {DEPLOYMENT.deployment_id: int(tokens * TOKEN)} if status == OK else {}
    return {"eth": ChainReading("eth", SourceReading("chain", "chain:eth", status, facts={"block_number": 7}), supplies)}


def inputs(ledger_custody: str, ledger_supply: str, *, tolerance: str = "0", tokens_per_share: str = "1",
           pending_mint: str = "0", mints_sent: str = "0") -> InstrumentInputs:
    ledger = InstrumentLedger(custody={"main": Decimal(ledger_custody)}, supply={"eth": Decimal(ledger_supply)},
                              pending_mint=Decimal(pending_mint))
    return InstrumentInputs("ACME", Decimal(tokens_per_share), Decimal(tolerance), ledger, [DEPLOYMENT],
                            {"eth": Decimal(mints_sent)} if Decimal(mints_sent) else {}, {})


def kinds(verdict) -> dict[str, Decimal]:
    return {found.kind: found.amount for found in verdict.breaks}


def test_a_difference_within_the_instruments_tolerance_is_no_break():
    verdict = check_instrument(inputs("100", "100", tolerance="0.5"), [custody("99.6")], chain(Decimal(100)))
    assert verdict.status == "clean" and verdict.payload["difference"] == Decimal("-0.4")


def test_a_difference_beyond_the_tolerance_is_a_break():
    verdict = check_instrument(inputs("100", "100", tolerance="0.5"), [custody("99.4")], chain(Decimal(100)))
    assert kinds(verdict) == {"ledger_drift": Decimal("0.6"), "unbacked_supply": Decimal("0.6")}


def test_a_mint_sent_but_not_booked_explains_supply_above_the_ledger_and_no_more():
    explained = check_instrument(inputs("110", "100", pending_mint="10", mints_sent="10"), [custody("110")],
                                 chain(Decimal(110)))
    beyond = check_instrument(inputs("110", "100", pending_mint="10", mints_sent="10"), [custody("110")],
                              chain(Decimal(113)))
    assert explained.status == "clean" and "10 minted on eth, not yet booked" in explained.payload["explanation"]
    assert kinds(beyond) == {"unknown_mint": Decimal(3), "unbacked_supply": Decimal(3)}


def test_tokens_count_in_share_equivalents():
    verdict = check_instrument(inputs("50", "50", tokens_per_share="2"), [custody("50")], chain(Decimal(100)))
    assert verdict.status == "clean" and verdict.payload["tokens_outstanding"] == Decimal(50)
    assert shares_from_base_units(1, 18, Decimal(3)) == (Decimal("1E-18"), Decimal(0))


def test_checks_without_their_sources_report_nothing_but_say_why():
    verdict = check_instrument(inputs("100", "100"), [custody("0", status=UNREACHABLE)], chain(Decimal(250)))
    assert verdict.status == "incomplete" and verdict.payload["difference"] is None
    assert kinds(verdict) == {"unknown_mint": Decimal(150)}  # the chain was read: that check still ran
    assert not verdict.covers("unbacked_supply", "") and not verdict.covers("ledger_drift", "custody:main")
    assert verdict.covers("unknown_mint", "chain:eth")
    blind = check_instrument(inputs("100", "100"), [custody("100")], chain(Decimal(0), status=UNREACHABLE))
    assert blind.status == "incomplete" and kinds(blind) == {}


def with_outgoing_journals(base: InstrumentInputs, **balances: str) -> InstrumentInputs:
    ledger = InstrumentLedger(custody=base.ledger.custody, supply=base.ledger.supply,
                              outgoing_journals={account: Decimal(amount) for account, amount in balances.items()})
    return InstrumentInputs(base.symbol, base.tokens_per_share, base.tolerance, ledger, base.deployments,
                            base.chain_mints, base.chain_burns)


def test_a_journal_out_nobody_released_cannot_cancel_a_release_in_flight_at_another_account():
    """main: 10 released, not yet booked out; other: 10 journaled out that no release accounts for (they were
    excess there). Summed, the two clearing accounts would net to zero and leave main's 10 unexplained."""
    other = CustodyReading("other", SourceReading("custody", "custody:other", OK), {})
    base = inputs("100", "90")
    base.ledger.custody["other"] = Decimal(0)

    verdict = check_instrument(with_outgoing_journals(base, main="-10", other="10"), [custody("100"), other],
                               chain(Decimal(90)))

    assert verdict.status == "clean" and verdict.payload["in_flight"]["journaled_out"] == Decimal(10)
    explanation = verdict.payload["explanation"]
    assert "10 shares released by journal, not yet booked out of custody:main" in explanation
    assert ("10 shares journaled out of custody:other that no release accounts for "
            "(suspense:outgoing-journal:other:ACME)") in explanation


def test_a_journal_out_nobody_released_explains_no_excess_and_the_break_names_it():
    verdict = check_instrument(with_outgoing_journals(inputs("120", "100"), main="5"), [custody("120")],
                               chain(Decimal(100)))

    (found,) = verdict.breaks
    assert (found.kind, found.amount) == ("excess_custody", Decimal(20))
    assert found.detail.endswith("in flight explains 0; 5 shares journaled out of custody:main that no release "
                                 "accounts for (suspense:outgoing-journal:main:ACME)")
    assert verdict.payload["explanation"].count("no release accounts for") == 1
