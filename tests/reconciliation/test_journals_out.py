"""Shares journaled out of custody: released to a partner by journal (a redemption's `release_shares`, or
`return_shares` of a cancelled mint) they sit in `custody:*` until the broker's outgoing JNLS is booked, with the
outgoing clearing account `suspense:outgoing-journal:<a>:<SYM>` negative meanwhile. That is a release in flight,
explained like a mint or redeem in flight; a journal out that no release accounts for (the account positive)
explains nothing."""
from __future__ import annotations

import time
from decimal import Decimal

import pytest
from django.utils import timezone

from chain.testing import node_call
from custody import services as custody
from issuance import services as issuance
from issuance.models import RedeemRequest
from ledger import store
from ledger.balances import balance
from reconciliation import services
from reconciliation.models import Break, InstrumentResult

from tests.issuance.support import transfer_tokens

from .conftest import OPS, TOKEN, BackedToken
from .test_three_way_check import breaks_of, closed_port_url

pytestmark = pytest.mark.django_db
REORG_WINDOW = 64  # conftest.network_settings


def outgoing(backed: BackedToken) -> str:
    return custody.outgoing_journal_account(backed.account.name, backed.symbol)


def released_by_journal(backed: BackedToken, tokens: int) -> None:
    """The partner sends `tokens` back; issuance burns them and, once the burn is final, ops record the shares
    released by journal. The broker has not journaled them out yet: it still holds them, and so does custody."""
    before = balance(outgoing(backed), backed.symbol)
    deposit = transfer_tokens(backed.w3, backed.keys.partner_wallet, backed.deployment.contract_address,
                              backed.keys.redemption_wallet.address, tokens * TOKEN)
    issuance.watch_chains()
    redeem = RedeemRequest.objects.get(deposit_tx_hash=deposit)
    assert issuance.process_redeem(redeem.id).status == RedeemRequest.Status.BURNED
    node_call(backed.w3, "anvil_mine", hex(REORG_WINDOW + 1))  # the burn is past the reorg window
    issuance.release_shares(issuance.final_burn(redeem.id), OPS, reference="JNLS back to the partner")
    assert balance(outgoing(backed), backed.symbol) == before - tokens


def recorded_figures(run_id: str) -> dict:
    (event,) = [e for e in store.read_stream("reconciliation_run", run_id) if e.event_type == "instrument_reconciled"]
    return event.payload


def test_shares_released_by_journal_and_not_yet_booked_out_are_in_flight_not_excess_custody(backed_token):
    released_by_journal(backed_token, 10)

    result = services.run_reconciliation([backed_token.symbol])

    assert result.clean, breaks_of(result)
    (line,) = result.instruments
    assert (line.status, line.shares_in_custody, line.tokens_outstanding, line.difference) == (
        "clean", Decimal(100), Decimal(90), Decimal(10))
    assert (f"10 shares released by journal, not yet booked out of custody:{backed_token.account.name}"
            in line.explanation)
    figures = recorded_figures(result.run_id)
    assert Decimal(figures["in_flight"]["journaled_out"]) == 10
    assert {account: Decimal(shares) for account, shares in figures["ledger"]["outgoing_journal"].items()} == {
        backed_token.account.name: Decimal(-10)}
    assert not Break.objects.filter(symbol=backed_token.symbol).exists()

    backed_token.broker.add_share_journal(backed_token.symbol, "-10", description="the released shares")
    booked = services.run_reconciliation([backed_token.symbol])  # its sync books the outgoing JNLS

    assert booked.clean, breaks_of(booked)
    (line,) = booked.instruments
    assert (line.shares_in_custody, line.tokens_outstanding, line.difference) == (Decimal(90), Decimal(90), 0)
    assert "released by journal" not in line.explanation
    assert balance(outgoing(backed_token), backed_token.symbol) == 0
    assert Decimal(recorded_figures(booked.run_id)["in_flight"]["journaled_out"]) == 0


def test_the_shares_of_a_cancelled_mint_returned_by_journal_are_in_flight_too(backed_token):
    cancelled = backed_token.secure_shares_for_a_mint("5")
    issuance.cancel_mint(cancelled, OPS, "the partner changed its mind")
    issuance.return_shares(cancelled, OPS, "JNLS back to the partner")

    result = services.run_reconciliation([backed_token.symbol])

    assert result.clean, breaks_of(result)
    (line,) = result.instruments
    assert (line.shares_in_custody, line.tokens_outstanding, line.difference) == (Decimal(105), 100, 5)
    assert (f"5 shares released by journal, not yet booked out of custody:{backed_token.account.name}"
            in line.explanation)


def test_a_run_as_of_a_past_time_counts_the_shares_that_were_leaving_custody_then(backed_token):
    released_by_journal(backed_token, 10)
    head_time = backed_token.w3.eth.get_block("latest")["timestamp"]
    while time.time() < head_time + 1:  # the moment must be after the first burn's block, in the past
        time.sleep(0.1)
    then = timezone.now()
    while time.time() < int(then.timestamp()) + 1:  # blocks are stamped in whole seconds: the next burn's, later
        time.sleep(0.1)
    released_by_journal(backed_token, 5)  # burned and released after `then`
    now = services.run_reconciliation([backed_token.symbol])
    assert now.clean and "15 shares released by journal" in now.instruments[0].explanation, breaks_of(now)

    result = services.run_reconciliation([backed_token.symbol], as_of=then)

    assert result.status == "completed" and result.clean, breaks_of(result)
    (line,) = result.instruments
    assert (line.shares_in_custody, line.tokens_outstanding, line.difference) == (Decimal(100), 90, 10)
    assert (f"10 shares released by journal, not yet booked out of custody:{backed_token.account.name}"
            in line.explanation)


def test_shares_journaled_out_that_no_release_accounts_for_stay_a_break_that_names_the_journal(backed_token):
    backed_token.broker.add_share_journal(backed_token.symbol, "-7", description="a journal nobody asked for")

    result = services.run_reconciliation([backed_token.symbol])

    assert breaks_of(result) == {"unbacked_supply": ("critical", Decimal(7), True)}
    assert balance(outgoing(backed_token), backed_token.symbol) == 7
    detail = Break.objects.get(kind="unbacked_supply", symbol=backed_token.symbol).detail
    assert (f"7 shares journaled out of custody:{backed_token.account.name} that no release accounts for "
            f"(suspense:outgoing-journal:{backed_token.account.name}:{backed_token.symbol})") in detail
    figures = recorded_figures(result.run_id)
    assert Decimal(figures["in_flight"]["journaled_out"]) == 0
    assert InstrumentResult.objects.get(run_id=result.run_id).explanation.count("no release accounts for") == 1


def test_a_broker_that_does_not_answer_while_shares_are_leaving_makes_the_run_incomplete(backed_token):
    released_by_journal(backed_token, 10)
    backed_token.broker.add_share_journal(backed_token.symbol, "-4", description="4 more than released")
    backed_token.account.base_url = closed_port_url()  # nobody can see either today
    backed_token.account.save()

    result = services.run_reconciliation([backed_token.symbol])

    assert result.status == "incomplete" and not result.clean
    (line,) = result.instruments
    assert line.status == "incomplete" and line.difference is None
    assert breaks_of(result) == {"stale_source": ("warning", Decimal(1), True)}
    assert not Break.objects.filter(symbol=backed_token.symbol).exists()
