"""A cash dividend from record date to stablecoin in holders' wallets: snapshot, entitlements with withholding,
approval by a second person, airdrop through the Disperser, and the ledger balancing to the cent."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from corporate_actions import services
from corporate_actions.errors import (
    ApprovalByPersonRequired,
    DividendNotReceived,
    DividendShortfall,
    PayDateHasCash,
    PayoutNotApproved,
    SelfApproval,
    SnapshotMissing,
)
from corporate_actions.models import PayoutLine, SnapshotHolder
from ledger import store
from ledger.balances import balance

from .support import APPROVER, OPS, balance_of, funded_account, transfer

USDX = 10**6


@pytest.fixture
def holders(chain_env):
    return {name: funded_account(chain_env.w3) for name in ("us_person", "treaty", "stranger", "buyer")}


def test_a_dividend_reaches_every_holder_once_net_of_their_withholding(issued, chain_env, holders):
    us_person, treaty, stranger, buyer = (holders[name].address for name in ("us_person", "treaty", "stranger", "buyer"))
    issued.issue({us_person: "100", treaty: "33.5", stranger: "0.5", chain_env.redemption_wallet.address: "10"})
    services.set_tax_category(us_person, "us_person", actor=OPS)
    services.set_tax_category(treaty, "treaty_15", actor=OPS)
    action = issued.announce_and_close_record_date("0.2625")
    transfer(chain_env.w3, holders["us_person"], issued.token.contract_address, buyer, issued.units(50))  # too late
    issued.receive_cash(action, "37.80")  # 144 shares in custody x 0.2625

    snapshot = services.snapshot_holders(action.id, actor=OPS)
    assert snapshot.holder_count == 3
    assert set(SnapshotHolder.objects.filter(action=action, excluded=False).values_list("address", flat=True)) == {
        us_person, treaty, stranger}
    assert SnapshotHolder.objects.get(action=action, excluded=True).address == chain_env.redemption_wallet.address

    run = services.create_dividend_run(action.id, actor=OPS)
    lines = {line.address: line for line in PayoutLine.objects.filter(run=run)}
    assert (lines[us_person].gross, lines[us_person].tax, lines[us_person].net) == (Decimal("26.25"), 0, Decimal("26.25"))
    # 33.5 x 0.2625 = 8.79375 -> 8.79 (down); 15% of 8.79 = 1.3185 -> 1.32 (half up)
    assert (lines[treaty].gross, lines[treaty].tax, lines[treaty].net) == (Decimal("8.79"), Decimal("1.32"), Decimal("7.47"))
    # 0.5 x 0.2625 = 0.13125 -> 0.13; unknown category: 30% of 0.13 = 0.039 -> 0.04
    assert (lines[stranger].gross, lines[stranger].tax, lines[stranger].net) == (Decimal("0.13"), Decimal("0.04"), Decimal("0.09"))
    assert Decimal(run.totals["residue"]) == Decimal("2.63")  # redemption wallet's 2.625 + sub-cent remainders
    receivable = f"dividends:receivable:{issued.symbol}:{action.pay_date}"
    assert balance(receivable, "USD") == 0

    with pytest.raises(PayoutNotApproved):
        services.run_payout(run.id)
    with pytest.raises(SelfApproval):
        services.approve_run(run.id, OPS)
    with pytest.raises(ApprovalByPersonRequired):
        services.approve_run(run.id, "system:beat")
    services.approve_run(run.id, APPROVER)
    chain_env.fund_payer(1000 * USDX)

    assert services.run_payout(run.id).status == "completed"

    stable = chain_env.stablecoin.address
    assert [balance_of(chain_env.w3, stable, holder) for holder in (us_person, treaty, stranger, buyer)] == [
        26_250000, 7_470000, 90000, 0]
    assert balance(f"dividends:payable:{issued.symbol}:{action.id}", "USD") == 0
    assert balance(f"dividends:paid:{issued.symbol}:{action.id}", "USD") == Decimal("-33.81")
    summary = services.dividend_summary(action.id)
    assert summary["identity_holds"] and summary["received_matches_cash_booked"]
    assert (summary["received"], summary["paid"], summary["tax"], summary["residue"]) == (
        Decimal("37.80"), Decimal("33.81"), Decimal("1.36"), Decimal("2.63"))

    head = store.head_position()
    assert services.run_payout(run.id).status == "completed"
    assert store.head_position() == head
    assert balance_of(chain_env.w3, stable, us_person) == 26_250000


def test_a_holder_below_the_minimum_is_carried_to_the_next_dividend_then_paid(issued, chain_env, holders):
    small, large = holders["stranger"].address, holders["us_person"].address
    issued.issue({small: "2", large: "100"})
    services.set_payout_policy(issued.symbol, mode="airdrop", minimum_payout="1.00", below_minimum="carry",
                               actor=OPS)
    chain_env.fund_payer(1000 * USDX)
    paid = []
    for _ in range(2):
        action = issued.announce_and_close_record_date("0.50")
        issued.receive_cash(action, "51.00")
        services.snapshot_holders(action.id, actor=OPS)
        run = services.create_dividend_run(action.id, actor=OPS)
        services.approve_run(run.id, APPROVER)
        services.run_payout(run.id)
        paid.append(PayoutLine.objects.get(run=run, address=small))
    first, second = paid
    # gross 1.00, 30% withheld, net 0.70 < 1.00: carried; next time 0.70 + 0.70 = 1.40 is paid
    assert (first.outcome, first.net, first.amount) == ("carry", Decimal("0.70"), 0)
    assert (second.outcome, second.carried_in, second.amount) == ("pay", Decimal("0.70"), Decimal("1.40"))
    assert balance_of(chain_env.w3, chain_env.stablecoin.address, small) == 1_400000
    assert balance(f"dividends:carried:{issued.symbol}:anvil:{small}", "USD") == 0
    assert services.dividend_summary(second.run.action_id)["identity_holds"]


def test_a_forfeited_payout_goes_to_the_issuer_and_fees_are_kept(issued, chain_env, holders):
    small, large = holders["stranger"].address, holders["us_person"].address
    issued.issue({small: "2", large: "100"})
    services.set_tax_category(large, "us_person", actor=OPS)
    services.set_payout_policy(issued.symbol, mode="airdrop", minimum_payout="1.00", below_minimum="forfeit",
                               fee_rate="0.01", actor=OPS)
    action = issued.announce_and_close_record_date("0.50")
    issued.receive_cash(action, "51.00")
    services.snapshot_holders(action.id, actor=OPS)

    run = services.create_dividend_run(action.id, actor=OPS)

    forfeited = PayoutLine.objects.get(run=run, address=small)
    paid = PayoutLine.objects.get(run=run, address=large)
    assert (forfeited.outcome, forfeited.tax, forfeited.fee, forfeited.amount) == ("forfeit", Decimal("0.30"),
                                                                                   Decimal("0.01"), 0)
    assert (paid.outcome, paid.fee, paid.amount) == ("pay", Decimal("0.50"), Decimal("49.50"))
    assert balance(f"dividends:forfeited:{issued.symbol}:{action.id}", "USD") == Decimal("-0.69")
    assert balance(f"dividends:fees:{issued.symbol}:{action.id}", "USD") == Decimal("-0.51")
    assert services.dividend_summary(action.id)["identity_holds"]


def test_no_run_before_the_snapshot_and_the_cash(issued, chain_env, holders):
    issued.issue({holders["us_person"].address: "10"})
    action = issued.announce_and_close_record_date("1.00")
    with pytest.raises(SnapshotMissing):
        services.create_dividend_run(action.id, actor=OPS)
    services.snapshot_holders(action.id, actor=OPS)
    with pytest.raises(DividendNotReceived):
        services.create_dividend_run(action.id, actor=OPS)
    issued.receive_cash(action, "9.99")
    head = store.head_position()
    with pytest.raises(DividendShortfall, match="9.99"):
        services.create_dividend_run(action.id, actor=OPS)
    assert store.head_position() == head


def test_a_partner_sees_its_wallets_entitlements(issued, chain_env, holders):
    wallet = holders["treaty"].address
    issued.issue({wallet: "4"})
    action = issued.announce_and_close_record_date("0.25")
    issued.receive_cash(action, "1.00")
    services.snapshot_holders(action.id, actor=OPS)
    run = services.create_dividend_run(action.id, actor=OPS)

    (entitlement,) = services.entitlements_for_wallets([wallet.lower()])

    assert (entitlement.action_id, entitlement.status, entitlement.gross, entitlement.tax, entitlement.net) == (
        action.id, "awaiting_approval", Decimal("1.00"), Decimal("0.30"), Decimal("0.70"))
    services.approve_run(run.id, APPROVER)
    chain_env.fund_payer(USDX)
    services.run_payout(run.id)
    (entitlement,) = services.entitlements_for_wallets([wallet])
    assert entitlement.status == "paid" and entitlement.tx_hash.startswith("0x")


def test_the_pay_date_stays_once_cash_is_booked_for_it_so_the_run_still_finds_the_cash(issued, chain_env, holders):
    issued.issue({holders["us_person"].address: "100"})
    services.set_tax_category(holders["us_person"].address, "us_person", actor=OPS)
    action = issued.announce_and_close_record_date("0.50")
    issued.receive_cash(action, "50.00")
    head = store.head_position()

    with pytest.raises(PayDateHasCash, match=f"50 USD is already booked in dividends:receivable:{issued.symbol}"):
        services.correct_action(action.id, {"pay_date": action.pay_date + timedelta(days=1)},
                                reason="the issuer pays a day later", actor=OPS)

    assert store.head_position() == head
    services.correct_action(action.id, {"rate": "0.49"}, reason="the other terms can still change", actor=OPS)
    services.snapshot_holders(action.id, actor=OPS)
    run = services.create_dividend_run(action.id, actor=OPS)
    assert (Decimal(run.totals["received"]), Decimal(run.totals["gross"])) == (Decimal("50.00"), Decimal("49.00"))
