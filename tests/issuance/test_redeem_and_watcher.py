"""Redemptions and the chain watcher: deposits found on chain or filed by hash, burns, shares released,
transfers nobody can explain, and an RPC outage."""
from __future__ import annotations

from decimal import Decimal

import pytest

from chain.tx import gas_params_from_head, id_to_bytes32, sign_mint
from issuance import services
from issuance.models import ChainAlert, ChainCursor, RedeemRequest
from ledger import store
from ledger.balances import balance

from .support import OPS, funded_account, minted, network_settings, token_contract, transfer_tokens

pytestmark = pytest.mark.django_db
TOKEN = 10**18


def test_tokens_sent_to_the_redemption_wallet_are_burned_and_the_shares_released(partner, token, keys, w3,
                                                                                 book_share_journal):
    symbol = token.instrument.symbol
    minted(partner, token, keys, book_share_journal)
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 6 * TOKEN)

    summary = services.watch_chains()
    assert summary.deposits == 1 and summary.unexplained == 0
    redeem = RedeemRequest.objects.get(deposit_tx_hash=deposit)
    assert (redeem.partner_id, redeem.qty, redeem.status) == (partner, Decimal(6), RedeemRequest.Status.RECEIVED)

    burned = services.process_redeem(redeem.id)
    assert burned.status == RedeemRequest.Status.BURNED  # no broker link: ops journal the shares back
    contract = token_contract(w3, token.contract_address)
    assert contract.functions.totalSupply().call() == 4 * TOKEN
    assert contract.functions.burnedFor(id_to_bytes32(redeem.id)).call() == 6 * TOKEN
    assert balance(f"partner:{partner}:pending-redeem:{symbol}", symbol) == Decimal("-6")

    w3.provider.make_request("anvil_mine", [hex(64 + 1)])  # shares leave once the burn is past the reorg window
    done = services.release_shares(services.final_burn(redeem.id), OPS, reference="JNLS back to partner")
    assert done.status == RedeemRequest.Status.COMPLETED
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(10)  # custody changes when the broker says so
    book_share_journal(symbol, "-6")  # custody's sync books the journal back to the partner
    assert balance(f"custody:alpaca-main:{symbol}", symbol) == Decimal(4)
    assert balance(f"suspense:outgoing-journal:alpaca-main:{symbol}", symbol) == 0
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-4)
    assert balance(f"partner:{partner}:pending-redeem:{symbol}", symbol) == 0
    assert services.watch_chains().unexplained == 0  # our own burn is known


def test_a_partner_filing_its_transfer_hash_gets_the_one_redemption_the_watcher_also_sees(partner, token, keys, w3,
                                                                                          book_share_journal):
    minted(partner, token, keys, book_share_journal)
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 2 * TOKEN)
    filed = services.request_redeem(partner, token.instrument.symbol, "anvil", deposit, "partner:x", qty="2")
    assert filed.status == RedeemRequest.Status.RECEIVED and filed.source == "partner"
    assert services.request_redeem(partner, token.instrument.symbol, "anvil", deposit, "partner:x").id == filed.id
    assert services.watch_chains().deposits == 0
    assert RedeemRequest.objects.filter(deposit_tx_hash=deposit).count() == 1
    with pytest.raises(Exception) as refused:
        services.request_redeem(partner, token.instrument.symbol, "anvil", "0x" + "00" * 32, "partner:x")
    assert refused.value.code == "deposit_not_found"


def test_a_filing_that_the_chain_watcher_overtakes_gets_the_watchers_redemption(partner, token, keys, w3,
                                                                                  book_share_journal, monkeypatch):
    """The watcher takes no per-deposit lock: it may record the deposit after the filing found none."""
    from issuance import redemptions

    class WatcherFirst:
        def __getattr__(self, name):
            return getattr(store, name)

        def append(self, *args, **kwargs):
            if args[2][0].event_type == "redeem_requested":
                assert services.watch_chains().deposits == 1
            return store.append(*args, **kwargs)

    minted(partner, token, keys, book_share_journal)
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 2 * TOKEN)
    monkeypatch.setattr(redemptions, "store", WatcherFirst())
    filed = services.request_redeem(partner, token.instrument.symbol, "anvil", deposit, "partner:x", qty="2",
                                    release_method="sell")
    assert (filed.source, filed.status, filed.release_method) == ("chain", RedeemRequest.Status.RECEIVED, "sell")
    assert list(RedeemRequest.objects.filter(deposit_tx_hash=deposit).values_list("id", flat=True)) == [filed.id]


def test_the_chain_watcher_overtaken_by_a_filing_reads_the_range_again(partner, token, keys, w3, book_share_journal,
                                                                       monkeypatch):
    from issuance import watcher

    minted(partner, token, keys, book_share_journal)
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 2 * TOKEN)
    filings = []
    real_record = watcher._record

    def filed_first(*args):
        if not filings:
            filings.append(services.request_redeem(partner, token.instrument.symbol, "anvil", deposit, "partner:x"))
        return real_record(*args)

    monkeypatch.setattr(watcher, "_record", filed_first)
    summary = services.watch_chains()
    assert summary.deposits == 0 and not summary.unavailable  # the second read found the filing
    assert list(RedeemRequest.objects.filter(deposit_tx_hash=deposit).values_list("id", flat=True)) == [filings[0].id]


def test_a_deposit_from_an_unknown_wallet_is_held_for_ops_not_lost(partner, token, keys, w3, book_share_journal):
    minted(partner, token, keys, book_share_journal)
    stranger = funded_account(w3)
    transfer_tokens(w3, keys.partner_wallet, token.contract_address, stranger.address, 3 * TOKEN)
    deposit = transfer_tokens(w3, stranger, token.contract_address, keys.redemption_wallet.address, 3 * TOKEN)
    services.watch_chains()
    held = RedeemRequest.objects.get(deposit_tx_hash=deposit)
    assert held.status == RedeemRequest.Status.HELD and held.partner_id is None
    assert ChainAlert.objects.filter(kind="unknown_redeemer", tx_hash=deposit).exists()
    assert services.process_redeem(held.id).status == RedeemRequest.Status.HELD  # nothing burns on its own
    services.assign_held_redeem(held.id, partner, OPS)
    assert services.process_redeem(held.id).status == RedeemRequest.Status.BURNED


def test_a_mint_nobody_requested_raises_a_critical_alert_and_counts_against_reserves(partner, token, keys, w3,
                                                                                     book_share_journal):
    symbol = token.instrument.symbol
    rogue = sign_mint(keys.minter, chain_id=31337, nonce=w3.eth.get_transaction_count(keys.minter.address, "pending"),
                      gas=gas_params_from_head(w3, 200_000), token=token.contract_address,
                      to=keys.partner_wallet.address, amount=5 * TOKEN, request_id=id_to_bytes32("a bug"))
    w3.eth.send_raw_transaction(rogue.raw_tx)
    w3.eth.wait_for_transaction_receipt(rogue.tx_hash)
    services.watch_chains()
    alert = ChainAlert.objects.get(tx_hash=rogue.tx_hash)
    assert (alert.kind, alert.severity) == ("unexplained_mint", "critical")
    assert balance(f"chain:anvil:{symbol}:supply", symbol) == Decimal(-5)
    assert balance(f"suspense:unknown-transfer:anvil:{symbol}", symbol) == Decimal(5)
    services.watch_chains()
    assert ChainAlert.objects.filter(tx_hash=rogue.tx_hash).count() == 1  # seen once, however often we look
    # 5 unbacked tokens exist: a 5-share delivery now backs nothing new.
    failed = minted(partner, token, keys, book_share_journal, "5")
    assert failed.failure_code == "insufficient_reserves"


def test_the_watcher_survives_an_rpc_outage_and_resumes_from_its_cursor(partner, token, keys, w3, settings, anvil,
                                                                         book_share_journal):
    minted(partner, token, keys, book_share_journal)
    services.watch_chains()
    cursor = ChainCursor.objects.get(deployment=token)
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, TOKEN)
    settings.CHAIN_NETWORKS = {"anvil": network_settings(anvil.url)["anvil"] | {"rpc_url": "http://127.0.0.1:9"}}
    head = store.head_position()
    outage = services.watch_chains()
    assert "anvil" in outage.unavailable and store.head_position() == head
    settings.CHAIN_NETWORKS = network_settings(anvil.url)
    assert services.watch_chains().deposits == 1
    assert ChainCursor.objects.get(deployment=token).block_number > cursor.block_number
    assert RedeemRequest.objects.filter(deposit_tx_hash=deposit).exists()


def test_refiling_a_deposit_recorded_under_the_old_network_and_log_index_id_finds_that_redemption(
        partner, token, keys, w3, book_share_journal):
    """Redemptions recorded before the id became (deployment, tx hash, ordinal) keep their old id."""
    import uuid

    from issuance.redemptions import DEPOSIT_NAMESPACE, deposit_event
    from chain.reads import transfer_logs

    minted(partner, token, keys, book_share_journal)
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 2 * TOKEN)
    log = next(log for log in transfer_logs(w3, token.contract_address, 0, w3.eth.block_number)
               if log.tx_hash == deposit)
    old_id = str(uuid.uuid5(DEPOSIT_NAMESPACE, f"anvil:{deposit}:{log.log_index}"))
    _, event = deposit_event(token, log, None, "chain")
    store.append("redeem_request", old_id, [event], metadata={"actor": "system:chain-watcher"}, expected_version=0)

    filed = services.request_redeem(partner, token.instrument.symbol, "anvil", deposit, "partner:x", qty="2")

    assert filed.id == old_id and filed.status == RedeemRequest.Status.RECEIVED
    assert RedeemRequest.objects.filter(deposit_tx_hash=deposit).count() == 1
    assert services.watch_chains().deposits == 0


def test_a_partner_chooses_sell_for_a_deposit_the_watcher_recorded_first_but_only_once(partner, token, keys, w3,
                                                                                      book_share_journal):
    from issuance.errors import RedeemAlreadyFiled

    symbol = token.instrument.symbol
    minted(partner, token, keys, book_share_journal)
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 2 * TOKEN)
    assert services.watch_chains().deposits == 1
    seen = RedeemRequest.objects.get(deposit_tx_hash=deposit)
    assert (seen.source, seen.release_method) == ("chain", "journal")

    filed = services.request_redeem(partner, symbol, "anvil", deposit, "partner:x", release_method="sell")

    assert (filed.id, filed.release_method) == (seen.id, "sell")
    assert [e.event_type for e in store.read_stream("redeem_request", seen.id)][-1] == "redeem_release_method_set"
    assert services.request_redeem(partner, symbol, "anvil", deposit, "partner:x", release_method="sell").id == seen.id
    with pytest.raises(RedeemAlreadyFiled):  # the partner's own choice stands
        services.request_redeem(partner, symbol, "anvil", deposit, "partner:x", release_method="journal")
    assert services.get_redeem(seen.id).release_method == "sell"


def test_a_partner_filing_the_same_method_as_the_watcher_still_cannot_change_it_later(partner, token, keys, w3,
                                                                                    book_share_journal):
    from issuance.errors import RedeemAlreadyFiled

    symbol = token.instrument.symbol
    minted(partner, token, keys, book_share_journal)
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 2 * TOKEN)
    services.watch_chains()
    services.request_redeem(partner, symbol, "anvil", deposit, "partner:x")
    with pytest.raises(RedeemAlreadyFiled):
        services.request_redeem(partner, symbol, "anvil", deposit, "partner:x", release_method="sell")


def test_the_release_method_of_a_deposit_already_burning_is_not_changed(partner, token, keys, w3, book_share_journal):
    from issuance.errors import RedeemAlreadyFiled

    minted(partner, token, keys, book_share_journal)
    deposit = transfer_tokens(w3, keys.partner_wallet, token.contract_address, keys.redemption_wallet.address, 2 * TOKEN)
    services.watch_chains()
    burned = services.process_redeem(RedeemRequest.objects.get(deposit_tx_hash=deposit).id)
    assert burned.status == RedeemRequest.Status.BURNED
    with pytest.raises(RedeemAlreadyFiled):
        services.request_redeem(partner, token.instrument.symbol, "anvil", deposit, "partner:x", release_method="sell")
    assert services.get_redeem(burned.id).release_method == "journal"
