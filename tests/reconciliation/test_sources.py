"""Every source a run reads and every kind of break it can report: custodian statements (fresh and stale),
burns nobody asked for, dividends left undistributed, and supply reads with or without an aggregator."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from chain.tx import broadcast, gas_params_from_head, id_to_bytes32, sign_burn_from_redemption
from custody.models import CustodyAccount
from custody.services import create_instrument, import_statement
from ledger import store
from ledger.store import NewEvent, Posting
from reconciliation import services
from reconciliation.custody_source import read_custody_accounts
from reconciliation.dashboard import freshness_panel
from reconciliation.models import AggregatorContract, ReconciliationRun

from .conftest import NETWORK, OPS, TOKEN, valid_isin
from .test_three_way_check import breaks_of

pytestmark = pytest.mark.django_db


def chain_source(run_id: str) -> dict:
    return next(s for s in ReconciliationRun.objects.get(run_id=run_id).sources if s["source"] == f"chain:{NETWORK}")


@pytest.fixture
def custodian(backed_token) -> CustodyAccount:
    """A second custody account, at a custodian that sends statements; 40 of our shares sit there."""
    account = CustodyAccount.objects.create(name=f"bank-{backed_token.symbol.lower()}", kind="statement",
                                            statement_account_ref=f"REF-{backed_token.symbol}")
    store.append("journal", f"recon-bank-{backed_token.symbol}", [NewEvent("custody_transferred", {"reason": "test"},
        postings=[Posting(f"custody:{account.name}:{backed_token.symbol}", backed_token.symbol, 40),
                  Posting(f"equity:opening:{backed_token.symbol}", backed_token.symbol, -40)])],
        metadata={"actor": OPS})
    return account


def statement(account: CustodyAccount, isin: str, day, units: str) -> bytes:
    return (f"account,statement_date,isin,description,aggregate,available,blocked,pending\n"
            f"{account.statement_account_ref},{day.isoformat()},{isin},TEST,{units},{units},,\n").encode()


def test_shares_held_at_a_custodian_are_read_from_its_latest_statement(backed_token, custodian):
    isin = backed_token.deployment.instrument.isin
    import_statement(statement(custodian, isin, timezone.now().date(), "40"), "today.csv", custodian, actor=OPS)
    backed_token.mint_bypassing_the_system(40)  # now 140 tokens: backed by 100 at the broker + 40 at the bank

    result = services.run_reconciliation([backed_token.symbol])

    assert breaks_of(result) == {"unknown_mint": ("critical", Decimal(40), True)}  # backed, yet nobody asked for it
    (line,) = result.instruments
    assert (line.shares_in_custody, line.tokens_outstanding, line.difference) == (Decimal(140), Decimal(140), Decimal(0))


def test_an_old_statement_leaves_the_instrument_incomplete(backed_token, custodian, settings):
    settings.RECONCILIATION_STATEMENT_MAX_AGE_HOURS = 48
    isin = backed_token.deployment.instrument.isin
    import_statement(statement(custodian, isin, timezone.now().date() - timedelta(days=5), "40"), "old.csv", custodian,
                     actor=OPS)

    result = services.run_reconciliation([backed_token.symbol])

    assert result.status == "incomplete"
    assert breaks_of(result) == {"stale_source": ("warning", Decimal(1), True)}
    (line,) = result.instruments
    assert f"custody:{custodian.name} is stale" in line.explanation


def test_a_burn_nobody_asked_for_leaves_excess_custody_and_an_unknown_burn(backed_token):
    keys, w3 = backed_token.keys, backed_token.w3
    token = backed_token.w3.eth.contract(address=backed_token.deployment.contract_address, abi=[{
        "name": "transfer", "type": "function", "stateMutability": "nonpayable",
        "inputs": [{"name": "to", "type": "address"}, {"name": "amount", "type": "uint256"}],
        "outputs": [{"name": "", "type": "bool"}]}])
    moved = token.functions.transfer(keys.redemption_wallet.address, 6 * TOKEN).build_transaction({
        "from": keys.partner_wallet.address, "nonce": w3.eth.get_transaction_count(keys.partner_wallet.address),
        "chainId": w3.eth.chain_id, "gas": 100_000, "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9})
    w3.eth.wait_for_transaction_receipt(w3.eth.send_raw_transaction(
        keys.partner_wallet.sign_transaction(moved).raw_transaction))
    burn = sign_burn_from_redemption(keys.burner, chain_id=w3.eth.chain_id,
                                     nonce=w3.eth.get_transaction_count(keys.burner.address),
                                     gas=gas_params_from_head(w3, 200_000), token=backed_token.deployment.contract_address,
                                     amount=6 * TOKEN, request_id=id_to_bytes32(f"rogue-burn-{backed_token.symbol}"))
    broadcast(w3, burn.raw_tx)
    assert w3.eth.wait_for_transaction_receipt(burn.tx_hash)["status"] == 1

    result = services.run_reconciliation([backed_token.symbol])

    assert breaks_of(result) == {"unknown_burn": ("warning", Decimal(6), True),
                                 "excess_custody": ("warning", Decimal(6), True)}


def test_dividend_cash_not_distributed_within_the_grace_period_is_a_break(backed_token, settings):
    settings.RECONCILIATION_DIVIDEND_GRACE_DAYS = 7
    symbol, account = backed_token.symbol, backed_token.account.name
    for days_ago, paid_on in ((10, "2026-01-05"), (1, "2026-01-14")):
        store.append("journal", f"recon-div-{symbol}-{paid_on}", [NewEvent("dividend_received", {"paid_on": paid_on},
            postings=[Posting(f"custody:{account}:cash:USD", "USD", Decimal("12.5")),
                      Posting(f"dividends:receivable:{symbol}:{paid_on}", "USD", Decimal("-12.5"))],
            effective_at=timezone.now() - timedelta(days=days_ago))], metadata={"actor": OPS})

    result = services.run_reconciliation([backed_token.symbol])

    (found,) = result.breaks
    assert (found.found.kind, found.found.subject, found.found.amount, found.found.unit) == (
        "undistributed_dividend", f"dividends:receivable:{symbol}:2026-01-05", Decimal("12.5"), "USD")


def test_without_an_aggregator_supplies_are_read_in_json_rpc_batches(backed_token, settings):
    settings.RECONCILIATION_AGGREGATORS = {}

    result = services.run_reconciliation([backed_token.symbol])

    assert result.clean and chain_source(result.run_id)["read_method"] == "json-rpc batch"


def test_deploy_aggregator_records_the_contract_later_runs_read_through(backed_token, settings, capsys):
    settings.RECONCILIATION_AGGREGATORS = {}

    call_command("deploy_aggregator", "--network", NETWORK)

    recorded = AggregatorContract.objects.get(network=NETWORK)
    assert recorded.address in capsys.readouterr().out and recorded.chain_id == 31337
    (event,) = store.read_stream("reconciliation_aggregator", NETWORK)
    assert event.payload["address"] == recorded.address
    result = services.run_reconciliation([backed_token.symbol])
    source = chain_source(result.run_id)
    assert result.clean and (source["read_method"], source["aggregator"]) == ("aggregate3", recorded.address)

    call_command("deploy_aggregator", "--network", NETWORK)  # loading the demo twice deploys nothing new
    assert len(store.read_stream("reconciliation_aggregator", NETWORK)) == 1
    call_command("deploy_aggregator", "--network", NETWORK, "--replace")
    replaced = store.read_stream("reconciliation_aggregator", NETWORK)[-1].payload
    assert replaced["replaces"] == recorded.address and AggregatorContract.objects.get(network=NETWORK).address == replaced["address"]


def test_a_journal_the_broker_books_while_positions_are_read_is_no_ledger_drift(backed_token, monkeypatch):
    import custody.sync

    real = custody.sync.sync_positions

    def positions_after_a_journal(account):
        backed_token.broker.add_share_journal(backed_token.symbol, "-10")  # shares leave, right now
        monkeypatch.setattr(custody.sync, "sync_positions", real)
        return real(account)

    monkeypatch.setattr(custody.sync, "sync_positions", positions_after_a_journal)
    result = services.run_reconciliation([backed_token.symbol])

    assert "ledger_drift" not in breaks_of(result)
    (line,) = result.instruments
    assert line.shares_in_custody == Decimal(90) and line.status == "breaks"  # the 10 that left are a real break
    assert set(breaks_of(result)) == {"unbacked_supply"}


def test_a_broker_that_keeps_booking_while_positions_are_read_leaves_the_account_incomplete(backed_token,
                                                                                           monkeypatch):
    import custody.sync

    real = custody.sync.sync_positions

    def positions_after_a_journal(account):
        backed_token.broker.add_share_journal(backed_token.symbol, "-1")
        return real(account)

    monkeypatch.setattr(custody.sync, "sync_positions", positions_after_a_journal)
    result = services.run_reconciliation([backed_token.symbol])

    assert result.status == "incomplete"
    (line,) = result.instruments
    assert line.status == "incomplete" and line.shares_in_custody is None
    assert "ledger_drift" not in breaks_of(result) and "unbacked_supply" not in breaks_of(result)
    source = next(e for e in store.read_stream("reconciliation_run", result.run_id)
                  if e.event_type == "source_fetched" and e.payload["source"] == f"custody:{backed_token.account.name}")
    assert source.payload["status"] == "unreachable" and "kept booking" in source.payload["detail"]


def test_a_sync_elsewhere_booking_a_journal_before_the_ledger_is_read_leaves_the_account_incomplete(
        backed_token, monkeypatch):
    import reconciliation.runs
    from custody import services as custody

    real = reconciliation.runs.read_custody_accounts

    def read_then_another_worker_syncs(as_of):
        readings = real(as_of)
        backed_token.broker.add_share_journal(backed_token.symbol, "-10")
        custody.sync_account(backed_token.account)  # the Celery sync task, in another process
        return readings

    monkeypatch.setattr(reconciliation.runs, "read_custody_accounts", read_then_another_worker_syncs)
    result = services.run_reconciliation([backed_token.symbol])

    assert result.status == "incomplete"
    (line,) = result.instruments
    assert line.status == "incomplete" and line.shares_in_custody is None
    assert "ledger_drift" not in breaks_of(result)


@pytest.fixture
def lone_custodian(db, unique) -> tuple[CustodyAccount, str]:
    """A custodian that sends statements and the one instrument it holds: no chain, no broker involved."""
    isin = valid_isin(f"XS{unique[:9].upper()}")
    create_instrument(f"S{unique[:8].upper()}", "Statement Test", isin, actor=OPS)
    return CustodyAccount.objects.create(name=f"bank-{unique}", kind="statement",
                                         statement_account_ref=f"REF-{unique}"), isin


def mt535(account: CustodyAccount, isin: str, stamped: str, units: int) -> bytes:
    """A SWIFT MT535 stamped (98C STAT) at `stamped`, YYYYMMDDHHMMSS."""
    return (f"{{1:F01ACMEBANKXXXX0000000000}}{{2:O5351200251124ACMEBANKXXXX00000000002511241200N}}{{4:\n"
            f":16R:GENL\n:28E:1/ONLY\n:23G:NEWM\n:98C::STAT//{stamped}\n:22F::CODE//COMP\n"
            f":97A::SAFE//{account.statement_account_ref}\n:16S:GENL\n:16R:SUBSAFE\n:16R:FIN\n"
            f":35B:ISIN {isin}\nTEST\n:93B::AGGR//UNIT/{units},\n:16S:FIN\n:16S:SUBSAFE\n-}}").encode()


def reading_of(account: CustodyAccount, as_of):
    return next(reading for reading in read_custody_accounts(as_of) if reading.account == account.name)


def row(panel, label: str):
    return next(item for item in panel.rows if item.label == label)


def test_a_point_in_time_run_does_not_use_a_statement_stamped_later_that_day(lone_custodian):
    account, isin = lone_custodian
    import_statement(mt535(account, isin, "20251124173000", 1500), "evening.fin", account, actor=OPS)

    at_ten = reading_of(account, datetime(2025, 11, 24, 10, 0, tzinfo=UTC))
    at_six = reading_of(account, datetime(2025, 11, 24, 18, 0, tzinfo=UTC))

    assert (at_ten.source.status, at_ten.holdings) == ("missing", {})
    assert (at_six.source.status, at_six.source.as_of) == ("ok", datetime(2025, 11, 24, 17, 30, tzinfo=UTC))


def test_a_morning_statement_imported_late_does_not_replace_the_evening_one(lone_custodian):
    account, isin = lone_custodian
    import_statement(mt535(account, isin, "20251124173000", 1500), "evening.fin", account, actor=OPS)
    import_statement(mt535(account, isin, "20251124090000", 1200), "morning.fin", account, actor=OPS)

    reading = reading_of(account, datetime(2025, 11, 24, 23, 0, tzinfo=UTC))

    assert list(reading.holdings.values()) == [Decimal(1500)]
    assert reading.source.as_of == datetime(2025, 11, 24, 17, 30, tzinfo=UTC)


def record_statement_as_before_the_date_check(account: CustodyAccount, isin: str, day, units: str) -> None:
    """A future-dated statement as imports recorded one before they refused them: the event is in the ledger."""
    store.append("custody_statement", account.name, [NewEvent("statement_imported", {
        "file_sha256": "f" * 64, "filename": "typo.csv", "format": "csv", "account_ref": account.statement_account_ref,
        "statement_date": day.isoformat(), "as_of": "", "holdings": [
            {"isin": isin, "symbol": None, "description": "TEST", "aggregate": units, "available": None,
             "blocked": None, "pending": None}]})], metadata={"actor": OPS})


def test_a_statement_recorded_with_a_future_date_neither_counts_as_fresh_nor_hides_the_real_one(lone_custodian):
    account, isin = lone_custodian
    record_statement_as_before_the_date_check(account, isin, timezone.now().date() + timedelta(days=365), "999999")

    assert not reading_of(account, None).source.ok
    assert row(freshness_panel(None), f"Custody {account.name} (statements)").alert

    import_statement(statement(account, isin, timezone.now().date(), "40"), "today.csv", account, actor=OPS)
    reading = reading_of(account, None)

    assert (reading.source.status, list(reading.holdings.values())) == ("ok", [Decimal(40)])
    assert not row(freshness_panel(None), f"Custody {account.name} (statements)").alert


def test_a_broker_observation_stamped_after_the_run_is_not_fresh(db, unique, settings):
    settings.RECONCILIATION_REFRESH_BROKER = False
    account = CustodyAccount.objects.create(name=f"broker-{unique}", kind="alpaca")
    store.append("custody_account", account.name, [NewEvent("positions_observed", {
        "positions": {"AAPL": {"qty": "10", "qty_available": "10"}}, "as_of": (timezone.now() + timedelta(hours=2))
        .isoformat(), "raw_sha256": "0" * 64})], metadata={"actor": OPS})

    assert reading_of(account, None).source.status == "stale"
