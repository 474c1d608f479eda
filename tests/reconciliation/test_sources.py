"""Every source a run reads and every kind of break it can report: custodian statements (fresh and stale),
burns nobody asked for, dividends left undistributed, and supply reads with or without an aggregator."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone

from chain.tx import broadcast, gas_params_from_head, id_to_bytes32, sign_burn_from_redemption
from custody.models import CustodyAccount
from custody.services import import_statement
from ledger import store
from ledger.store import NewEvent, Posting
from reconciliation import services
from reconciliation.models import AggregatorContract, ReconciliationRun

from .conftest import NETWORK, OPS, TOKEN
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
