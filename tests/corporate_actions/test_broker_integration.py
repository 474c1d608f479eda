"""Against the sandbox broker through alpaca-py: announcements imported from Alpaca, a dividend whose cash is
the broker's DIV activity (reconciled), and a split checked against the broker's SPLIT booking."""
from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from corporate_actions import services
from corporate_actions.errors import SplitNotBookedByBroker
from corporate_actions.runs import split_run_id
from corporate_actions.snapshots import effective_cutoff
from custody.models import CustodyAccount
from custody.services import sync_account
from issuance.services import deploy_token
from ledger.balances import balance
from sandbox_broker import RunningSandbox, SandboxControl, start_sandbox

from .conftest import Issued, make_instrument
from .support import APPROVER, OPS, balance_of, chain_date, funded_account, mine_after


@pytest.fixture(scope="session")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningSandbox]:
    running = start_sandbox(tmp_path_factory.mktemp("corporate-actions-broker") / "broker.json")
    yield running
    running.stop()


@pytest.fixture
def broker(sandbox: RunningSandbox) -> SandboxControl:
    control = SandboxControl(sandbox.base_url)
    control.reset()
    return control


@pytest.fixture
def at_broker(db, chain_env, sandbox, broker, monkeypatch, settings, unique) -> Issued:
    """An instrument whose shares sit at our Alpaca custody account in the sandbox."""
    settings.CUSTODY_BROKER_MAX_ATTEMPTS = 2
    settings.CUSTODY_BROKER_BACKOFF_SECONDS = 0.01
    monkeypatch.setenv("TEST_CA_KEY_ID", "PKSANDBOXCUSTODY")
    monkeypatch.setenv("TEST_CA_SECRET", "sandbox-custody-secret")
    account = CustodyAccount.objects.create(name=f"alpaca-{unique}", kind=CustodyAccount.Kind.ALPACA,
                                            api_key_env="TEST_CA_KEY_ID", api_secret_env="TEST_CA_SECRET",
                                            base_url=sandbox.base_url)
    instrument = make_instrument(unique)
    broker.set_fill_price(instrument.symbol, "100")
    return Issued(chain_env, instrument, deploy_token(instrument.symbol, "anvil", actor=OPS), account)


def test_alpaca_announcements_are_imported_once_and_the_rest_reported(at_broker, broker):
    symbol = at_broker.symbol
    broker.add_announcement("dividend", symbol, ca_sub_type="cash", ex_date="2026-05-04", record_date="2026-05-04",
                            payable_date="2026-05-08", cash="0.24")
    broker.add_announcement("split", symbol, ca_sub_type="reverse_split", ex_date="2026-05-11", old_rate="10",
                            new_rate="1")
    broker.add_announcement("merger", symbol, ex_date="2026-05-12")
    broker.add_announcement("dividend", "NOTOURS", ca_sub_type="cash", ex_date="2026-05-04",
                            record_date="2026-05-04", payable_date="2026-05-08", cash="1")
    broker.add_announcement("dividend", symbol, ca_sub_type="cash", ex_date="2026-05-20", record_date="2026-05-22",
                            payable_date="2026-05-21", cash="0.10")  # record date after pay date

    report = services.import_corporate_actions(since=date(2026, 4, 1), until=date(2026, 8, 15),
                                               account=at_broker.custody.name)

    assert len(report.announced) == 2 and len(report.skipped) == 2 and len(report.rejected) == 1
    dividend, split = (services.get_action(action_id) for action_id in report.announced)
    assert (dividend.kind, dividend.rate, str(dividend.pay_date)) == ("cash_dividend", Decimal("0.24"), "2026-05-08")
    assert (split.kind, split.old_rate, split.new_rate) == ("reverse_split", 10, 1)
    assert "after pay date" in report.rejected[0][1]
    again = services.import_corporate_actions(since=date(2026, 4, 1), until=date(2026, 8, 15),
                                              account=at_broker.custody.name)
    assert sorted(again.unchanged) == sorted(report.announced) and not again.announced


def test_a_dividend_paid_by_the_broker_is_distributed_and_matches_its_div_activity(at_broker, broker, chain_env):
    holder_a, holder_b = (funded_account(chain_env.w3).address for _ in range(2))
    broker.add_share_journal(at_broker.symbol, "40", account="custody")
    sync_account(at_broker.custody)
    at_broker.issue_tokens_only({holder_a: "30", holder_b: "10"})
    action = at_broker.announce_and_close_record_date("0.25")
    services.snapshot_holders(action.id, actor=OPS)
    broker.add_dividend(at_broker.symbol, "0.25", account="custody", date=action.pay_date.isoformat())
    sync_account(at_broker.custody)

    (waiting,) = services.undistributed_dividends(as_of=action.pay_date)
    assert (waiting.kind, waiting.amount) == ("received_not_distributed", Decimal("10.00"))
    run = services.create_dividend_run(action.id, actor=OPS)
    assert [b.kind for b in services.undistributed_dividends(as_of=action.pay_date)] == ["payable_outstanding"]
    services.approve_run(run.id, APPROVER)
    chain_env.fund_payer(100 * 10**6)
    services.run_payout(run.id)

    assert services.undistributed_dividends(as_of=action.pay_date) == []
    summary = services.dividend_summary(action.id)
    assert summary["broker_dividend_activity"] == summary["received"] == Decimal("10.00")
    assert summary["received_matches_cash_booked"] and summary["identity_holds"]
    assert balance_of(chain_env.w3, chain_env.stablecoin.address, holder_a) == 5_250000  # 7.50 - 30%


def test_a_split_at_the_broker_is_applied_only_once_the_broker_booked_the_same_change(at_broker, broker, chain_env):
    holder = funded_account(chain_env.w3).address
    broker.add_share_journal(at_broker.symbol, "12", account="custody")
    sync_account(at_broker.custody)
    at_broker.issue_tokens_only({holder: "12"})
    effective = chain_date(chain_env.w3) + timedelta(days=1)
    action = services.announce_split(at_broker.symbol, effective_date=effective, old_rate=1, new_rate=3, actor=OPS)
    mine_after(chain_env.w3, effective_cutoff(effective))

    with pytest.raises(SplitNotBookedByBroker):
        services.apply_action(action.id, actor=OPS)
    broker.add_split(at_broker.symbol, "1", "3", date=effective.isoformat())
    sync_account(at_broker.custody)
    services.apply_action(action.id, actor=OPS)
    services.approve_run(split_run_id(action.id), APPROVER)
    services.run_payout(split_run_id(action.id))

    assert balance(f"custody:{at_broker.custody.name}:{at_broker.symbol}", at_broker.symbol) == 36
    assert balance_of(chain_env.w3, at_broker.token.contract_address, holder) == at_broker.units(36)
    assert balance(f"corporate-actions:split-{effective}:{at_broker.symbol}", at_broker.symbol) == 0
    assert balance(f"corporate-actions:{action.id}:{at_broker.symbol}", at_broker.symbol) == 0


def test_a_reinvested_dividend_buys_its_shares_through_the_broker_before_minting(at_broker, broker, chain_env):
    holder = funded_account(chain_env.w3).address
    broker.add_share_journal(at_broker.symbol, "50", account="custody")
    sync_account(at_broker.custody)
    at_broker.issue_tokens_only({holder: "50"})
    services.set_tax_category(holder, "us_person", actor=OPS)
    services.set_payout_policy(at_broker.symbol, mode="reinvest", minimum_payout="0.01", below_minimum="carry",
                               actor=OPS)
    action = at_broker.announce_and_close_record_date("2.00")
    services.snapshot_holders(action.id, actor=OPS)
    broker.add_dividend(at_broker.symbol, "2.00", account="custody", date=action.pay_date.isoformat())
    sync_account(at_broker.custody)
    run = services.create_dividend_run(action.id, actor=OPS, reference_price="100")  # 100.00 buys 1 share
    services.approve_run(run.id, APPROVER)

    services.secure_reinvest_shares(run.id, custody_account=at_broker.custody.name, actor=OPS, via="broker")
    services.run_payout(run.id)

    symbol, account = at_broker.symbol, at_broker.custody.name
    assert balance(f"custody:{account}:{symbol}", symbol) == 51
    assert balance_of(chain_env.w3, at_broker.token.contract_address, holder) == at_broker.units(51)
    assert balance(f"market:{account}:{symbol}", symbol) == 0
    assert balance(f"corporate-actions:{action.id}:{symbol}", symbol) == 0
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == -51
