"""Dividends reinvested as new tokens; a 3-for-1 split minted to holders; a 1-for-10 reverse split through
tokens per share; symbol changes and delistings applied through custody without losing history."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from corporate_actions import services
from corporate_actions.errors import InvalidAnnouncement, InvalidPolicy, OpenCorporateActions, ReinvestSharesNotSecured
from corporate_actions.models import PayoutLine
from corporate_actions.runs import split_run_id
from corporate_actions.snapshots import effective_cutoff
from custody.models import Instrument
from custody.services import shares_in_custody
from issuance.reserves import tokens_outstanding_shares
from ledger import store
from ledger.balances import balance, balances_with_prefix
from ledger.store import NewEvent, Posting
from reconciliation.ledger_source import read_ledger

from .conftest import make_instrument
from .support import APPROVER, OPS, balance_of, chain_date, funded_account, mine_after

USDX = 10**6


@pytest.fixture
def wallets(chain_env):
    return [funded_account(chain_env.w3).address for _ in range(2)]


def test_a_reinvested_dividend_mints_new_tokens_pro_rata_at_the_reference_price(issued, chain_env, wallets):
    a, b = wallets
    issued.issue({a: "100", b: "7"})
    services.set_tax_category(a, "us_person", actor=OPS)
    services.set_payout_policy(issued.symbol, mode="reinvest", minimum_payout="0.01", below_minimum="carry", actor=OPS)
    action = issued.announce_and_close_record_date("0.25")
    issued.receive_cash(action, "26.75")
    services.snapshot_holders(action.id, actor=OPS)
    with pytest.raises(InvalidPolicy, match="reference price"):
        services.create_dividend_run(action.id, actor=OPS)

    run = services.create_dividend_run(action.id, actor=OPS, reference_price="187.25")

    # a: 25.00 / 187.25 = 0.1335113... -> 0.133511 share; b: 1.75 - 0.53 tax = 1.22 -> 0.006515 share
    lines = {line.address: line for line in PayoutLine.objects.filter(run=run)}
    assert (lines[a].units, lines[b].units) == (133511 * 10**12, 6515 * 10**12)
    assert lines[a].amount == Decimal("24.99993475")  # 0.133511 x 187.25; the remainder goes to the residue
    services.approve_run(run.id, APPROVER)
    with pytest.raises(ReinvestSharesNotSecured):
        services.run_payout(run.id)
    services.secure_reinvest_shares(run.id, custody_account=issued.custody.name, actor=OPS, via="custodian")

    assert services.run_payout(run.id).status == "completed"
    assert services.run_payout(run.id).status == "completed"  # nothing minted twice

    token = issued.token.contract_address
    assert balance_of(chain_env.w3, token, a) == issued.units("100.133511")
    assert balance_of(chain_env.w3, token, b) == issued.units("7.006515")
    assert balance(f"custody:{issued.custody.name}:{issued.symbol}", issued.symbol) == Decimal("107.140026")
    assert balance(f"chain:anvil:{issued.symbol}:supply", issued.symbol) == Decimal("-107.140026")
    assert balance(f"corporate-actions:{action.id}:{issued.symbol}", issued.symbol) == 0
    assert services.dividend_summary(action.id)["identity_holds"]


def test_a_three_for_one_split_mints_two_new_tokens_per_token_to_every_holder(issued, chain_env, wallets):
    a, b = wallets
    redemption = chain_env.redemption_wallet.address
    issued.issue({a: "10", b: "2.5", redemption: "1"})
    effective = chain_date(chain_env.w3) + timedelta(days=1)
    action = services.announce_split(issued.symbol, effective_date=effective, old_rate=1, new_rate=3, actor=OPS)
    mine_after(chain_env.w3, effective_cutoff(effective))

    services.apply_action(action.id, actor=OPS)

    assert Instrument.objects.get(pk=issued.instrument.pk).status == "paused"  # no mints at a half-applied ratio
    assert balance(f"custody:{issued.custody.name}:{issued.symbol}", issued.symbol) == Decimal("40.5")
    run = services.get_run(split_run_id(action.id))
    services.approve_run(run.id, APPROVER)
    assert services.run_payout(run.id).status == "completed"

    token = issued.token.contract_address
    assert [balance_of(chain_env.w3, token, holder) for holder in (a, b, redemption)] == [
        issued.units(30), issued.units("7.5"), issued.units(3)]
    assert balance(f"chain:anvil:{issued.symbol}:supply", issued.symbol) == Decimal("-40.5")
    assert balance(f"corporate-actions:{action.id}:{issued.symbol}", issued.symbol) == 0
    instrument = Instrument.objects.get(pk=issued.instrument.pk)
    assert (instrument.status, instrument.tokens_per_share) == ("active", 1)
    assert services.get_action(action.id).status == "applied"

    # The chain watcher knows these mints are ours: no "unexplained mint" alert, no second supply posting.
    from corporate_actions.models import PayoutTx
    from issuance.models import ChainAlert
    from issuance.services import watch_chains

    watch_chains()
    split_mints = set(PayoutTx.objects.filter(run=run, kind="mint").values_list("tx_hash", flat=True))
    assert split_mints and not ChainAlert.objects.filter(tx_hash__in=split_mints).exists()


def test_a_one_for_ten_reverse_split_changes_tokens_per_share_and_leaves_balances(issued, chain_env, wallets):
    a, b = wallets
    issued.issue({a: "100", b: "5"})
    action = services.announce_split(issued.symbol, effective_date=timezone.localdate(), old_rate=10, new_rate=1,
                                     actor=OPS)

    services.apply_action(action.id, actor=OPS)

    instrument = Instrument.objects.get(pk=issued.instrument.pk)
    assert instrument.tokens_per_share == 10
    token = issued.token.contract_address
    assert [balance_of(chain_env.w3, token, holder) for holder in (a, b)] == [issued.units(100), issued.units(5)]
    assert balance(f"custody:{issued.custody.name}:{issued.symbol}", issued.symbol) == Decimal("10.5")
    assert balance(f"chain:anvil:{issued.symbol}:supply", issued.symbol) == Decimal("-10.5")
    assert balance(f"corporate-actions:{action.id}:{issued.symbol}", issued.symbol) == 0
    (applied,) = [e for e in store.read_stream("corporate_action", action.id) if e.event_type == "split_applied"]
    assert applied.payload["method"] == "tokens_per_share" and applied.payload["tokens_per_share"] == "10"


def test_a_symbol_change_keeps_the_instruments_history_and_a_delisting_stops_new_announcements(issued):
    old_symbol, isin = issued.symbol, issued.instrument.isin
    today = timezone.localdate()
    change = services.announce("symbol_change", old_symbol, {"effective_date": today, "new_symbol": "Z" + old_symbol[1:]},
                               actor=OPS)

    services.apply_action(change.id, actor=OPS)

    instrument = Instrument.objects.get(isin=isin)
    assert instrument.symbol == "Z" + old_symbol[1:]
    assert [e.event_type for e in store.read_stream("instrument", isin)] == ["instrument_symbol_changed"]
    assert services.get_action(change.id).status == "applied"
    delisting = services.announce("delisting", instrument.symbol, {"effective_date": today}, actor=OPS)
    services.apply_action(delisting.id, actor=OPS)
    assert Instrument.objects.get(isin=isin).status == "delisted"
    with pytest.raises(InvalidAnnouncement, match="delisted"):
        services.announce_dividend(instrument.symbol, ex_date=today, record_date=today, pay_date=today, rate="1",
                                   actor=OPS)


def test_a_symbol_change_moves_shares_tokens_and_carried_dividends_to_the_new_symbol(issued, chain_env, wallets):
    a, b = wallets
    issued.issue({a: "10", b: "1"})
    old, new = issued.symbol, "Z" + issued.symbol[1:]
    for holder in wallets:
        services.set_tax_category(holder, "us_person", actor=OPS)
    services.set_payout_policy(old, mode="airdrop", minimum_payout="1.00", below_minimum="carry", actor=OPS)
    dividend = issued.announce_and_close_record_date("0.50")
    issued.receive_cash(dividend, "5.50")
    services.snapshot_holders(dividend.id, actor=OPS)
    run = services.create_dividend_run(dividend.id, actor=OPS)
    services.approve_run(run.id, APPROVER)
    chain_env.fund_payer(10 * USDX)
    assert services.run_payout(run.id).status == "completed"  # b's 0.50 is below the minimum: carried
    today = timezone.localdate()
    change = services.announce("symbol_change", old, {"effective_date": today, "new_symbol": new}, actor=OPS)
    pending = services.announce_dividend(old, ex_date=today, record_date=today, pay_date=today, rate="1", actor=OPS)
    head = store.head_position()
    with pytest.raises(OpenCorporateActions, match=pending.id):
        services.apply_action(change.id, actor=OPS)
    assert store.head_position() == head
    services.cancel_action(pending.id, reason="announced again under the new symbol", actor=OPS)
    leaving = f"suspense:outgoing-journal:{issued.custody.name}"  # a release the broker has not journaled out yet
    store.append("journal", f"test-release-{old}", [NewEvent("test_shares_released", {}, postings=[
        Posting(f"partner:p-gone:pending-redeem:{old}", old, Decimal(1)), Posting(f"{leaving}:{old}", old, Decimal(-1))])],
        metadata={"actor": OPS})

    services.apply_action(change.id, actor=OPS)

    assert (shares_in_custody(new), tokens_outstanding_shares(new)) == (Decimal(11), Decimal(11))
    assert (balance(f"{leaving}:{new}", new), balance(f"{leaving}:{old}", old)) == (Decimal(-1), 0)
    assert balances_with_prefix("", old) == {}  # no share of the old symbol left anywhere
    assert balance(f"custody:{issued.custody.name}:{new}", new) == Decimal(11)
    assert balance(f"dividends:carried:{new}:anvil:{b}", "USD") == Decimal("-0.50")
    assert balance(f"dividends:carried:{old}:anvil:{b}", "USD") == 0
    assert balance(f"dividends:paid:{old}:{dividend.id}", "USD") == Decimal("-5.00")  # the paid dividend's own
    reconciled = read_ledger({new}, None).of(new)
    assert reconciled.custody_total == reconciled.supply_total == Decimal(11)


def _append_lock_free_elsewhere() -> bool:
    """Whether another session could append right now (take the append lock), asked over a connection of its own."""
    import psycopg

    from tests.conftest import database_url_from_settings

    with psycopg.connect(database_url_from_settings(), autocommit=True) as other:
        taken = other.execute("SELECT pg_try_advisory_lock(%s)", [store.APPEND_LOCK_KEY]).fetchone()[0]
        if taken:
            other.execute("SELECT pg_advisory_unlock(%s)", [store.APPEND_LOCK_KEY])
        return taken


def test_a_reverse_split_and_a_symbol_change_check_and_read_what_they_move_while_no_one_else_can_append(
        committed_db, unique, monkeypatch):
    """Committed, so that no test transaction holds the append lock: only the code under test can."""
    from corporate_actions import splits

    symbol = make_instrument(unique).symbol
    free_while_reading = []
    for reader in ("_refuse_in_flight", "_refuse_open_actions", "_custody_change", "_symbol_moves"):
        def watched(*args, _real=getattr(splits, reader), _name=reader, **kwargs):
            free_while_reading.append((_name, _append_lock_free_elsewhere()))
            return _real(*args, **kwargs)

        monkeypatch.setattr(splits, reader, watched)
    today = timezone.localdate()
    reverse = services.announce_split(symbol, effective_date=today, old_rate=10, new_rate=1, actor=OPS)
    services.apply_action(reverse.id, actor=OPS)
    change = services.announce("symbol_change", symbol, {"effective_date": today, "new_symbol": "Z" + symbol[1:]},
                               actor=OPS)
    services.apply_action(change.id, actor=OPS)

    # Nothing could be booked, signed or announced between a check or read and the move (the first check only
    # fails fast, before the split's snapshot).
    assert free_while_reading == [("_refuse_in_flight", True), ("_refuse_in_flight", False), ("_custody_change", False),
                                  ("_refuse_in_flight", False), ("_refuse_open_actions", False),
                                  ("_symbol_moves", False)]
    assert _append_lock_free_elsewhere()  # and the lock was let go


def test_a_pay_date_correction_looks_for_booked_cash_while_no_one_else_can_append(committed_db, unique, monkeypatch):
    from corporate_actions import announcements

    symbol = make_instrument(unique).symbol
    today = timezone.localdate()
    dividend = services.announce_dividend(symbol, ex_date=today, record_date=today, pay_date=today + timedelta(days=3),
                                          rate="0.25", actor=OPS)
    free_while_checking = []
    real = announcements._refuse_pay_date_with_cash

    def watched(*args):
        free_while_checking.append(_append_lock_free_elsewhere())
        return real(*args)

    monkeypatch.setattr(announcements, "_refuse_pay_date_with_cash", watched)
    services.correct_action(dividend.id, {"pay_date": today + timedelta(days=4)}, reason="issuer moved it", actor=OPS)
    assert free_while_checking == [False]  # no DIV could be booked for the old date between the check and the move
