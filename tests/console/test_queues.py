"""The mint and redeem queues in the console: the server decides who may act, every decision is a ledger event
naming the person, and nobody approves a mint they asked for themselves."""
from __future__ import annotations

import html
from decimal import Decimal

import pytest
from django.urls import reverse

from issuance import admin as issuance_admin
from issuance import services
from issuance.models import MintRequest, RedeemRequest
from issuance.watcher import watch_deployment
from ledger import store
from partners.services import revoke_wallet
from tests.issuance.support import token_contract, transfer_tokens

from .issuance_setup import Market, chain_for_test, open_market

pytestmark = pytest.mark.django_db
MINTS = reverse("admin:issuance_mintrequest_changelist")
REDEEMS = reverse("admin:issuance_redeemrequest_changelist")
MINT_ACTIONS = ("approve", "reject", "cancel", "secure_shares", "process_now_process_mint")
TOKEN = 10**18


@pytest.fixture
def market(settings, anvil_node, instrument, unique) -> Market:
    return open_market(chain_for_test(settings, anvil_node.url), instrument, unique)


@pytest.fixture
def waiting_mint(market) -> MintRequest:
    """1500 tokens asked for by the partner: above the 1000 threshold, so it waits for a second person."""
    mint = market.request_mint("1500")
    assert mint.status == "requested"
    return mint


@pytest.fixture
def patient_process_now(monkeypatch) -> None:
    """The "process now" action follows a receipt for 2 s counted from the start of the step, which a loaded
    machine can spend signing and broadcasting; the request is then left "broadcast" for the worker. These tests
    are about what the action does, not how long a web request may wait for the chain."""
    monkeypatch.setattr(issuance_admin, "PROCESS_NOW_WAIT_SECONDS", Decimal(60))


def act(client, changelist: str, action: str, selected: list[str], **typed) -> str:
    """POST an admin action as the list page does; the text of the page it leads to (with its messages)."""
    response = client.post(changelist, {"action": action, "_selected_action": selected, "index": "0", **typed},
                           follow=True)
    assert response.status_code == 200
    return html.unescape(response.content.decode())


def last_event(stream_type: str, stream_id: str):
    return store.read_stream(stream_type, stream_id)[-1]


def test_an_approver_approves_a_pending_mint_and_the_event_names_them(client_as, waiting_mint):
    approver = client_as("approver")

    page = act(approver, MINTS, "approve", [waiting_mint.id])

    mint = MintRequest.objects.get(pk=waiting_mint.pk)
    assert (mint.status, mint.approved_by) == ("approved", f"user:{approver.user.username}")
    event = last_event("mint_request", mint.id)
    assert (event.event_type, event.metadata["actor"]) == ("mint_approved", f"user:{approver.user.username}")
    assert "Approve selected mints (second approver): 1 done" in page


def test_an_approver_cannot_approve_a_mint_they_requested(client_as, market):
    approver = client_as("approver")
    own = market.request_mint("1500", actor=f"user:{approver.user.username}")
    head = store.head_position()

    page = act(approver, MINTS, "approve", [own.id])

    assert f"user:{approver.user.username} requested mint {own.id} and cannot also approve it" in page
    assert MintRequest.objects.get(pk=own.pk).status == "requested"
    assert store.head_position() == head


@pytest.mark.parametrize("role", ["operator", "auditor"])
@pytest.mark.parametrize("action", MINT_ACTIONS)
def test_operators_and_auditors_can_neither_see_nor_run_mint_decisions(client_as, waiting_mint, role, action):
    client = client_as(role)
    head = store.head_position()

    queue = client.get(MINTS)
    page = act(client, MINTS, action, [waiting_mint.id], reason="no", reference="JNL-1")

    assert queue.status_code == 200 and 'name="action"' not in queue.content.decode()  # no action menu at all
    assert "done, each recorded as a ledger event" not in page
    assert MintRequest.objects.get(pk=waiting_mint.pk).status == "requested"
    assert store.head_position() == head


def test_rejecting_needs_a_reason_and_records_it_with_the_approver(client_as, waiting_mint):
    approver = client_as("approver")

    refused = act(approver, MINTS, "reject", [waiting_mint.id], reason="  ")
    assert "fill in “reason”" in refused and MintRequest.objects.get(pk=waiting_mint.pk).status == "requested"

    act(approver, MINTS, "reject", [waiting_mint.id], reason="wallet under review")

    mint = MintRequest.objects.get(pk=waiting_mint.pk)
    assert (mint.status, mint.failure_reason) == ("rejected", "wallet under review")
    assert last_event("mint_request", mint.id).metadata["actor"] == f"user:{approver.user.username}"


def test_an_approved_mint_is_secured_by_journal_and_processed_now_onto_the_chain(client_as, market, waiting_mint,
                                                                                patient_process_now):
    approver = client_as("approver")
    act(approver, MINTS, "approve", [waiting_mint.id])
    market.shares_arrive("1500")

    act(approver, MINTS, "secure_shares", [waiting_mint.id], reference="JNL-20261125-7")
    head = store.head_position()
    page = act(approver, MINTS, "process_now_process_mint", [waiting_mint.id])
    asked = store.read_all(after_position=head, event_types=["processing_requested"])
    assert [(e.metadata["actor"], e.payload["request_id"]) for e in asked] == [
        (f"user:{approver.user.username}", waiting_mint.id)]

    mint = MintRequest.objects.get(pk=waiting_mint.pk)
    assert mint.status == "completed" and f"Processed {mint.id}: secured → completed" in page
    secured = next(e for e in store.read_stream("mint_request", mint.id) if e.event_type == "shares_secured")
    assert (secured.metadata["actor"], secured.payload["reference"]) == (
        f"user:{approver.user.username}", "JNL-20261125-7")
    token = token_contract(market.chain.w3, market.deployment.contract_address)
    assert token.functions.balanceOf(market.chain.partner_wallet.address).call() == 1500 * TOKEN


def test_a_queue_filters_requests_stuck_in_their_stage(client_as, waiting_mint, market):
    approver = client_as("approver")

    def listed(**query) -> bool:
        return waiting_mint.id in approver.get(MINTS, {"symbol": market.symbol, **query}).content.decode()

    assert listed(status__exact="requested", network="anvil", partner__id__exact=market.partner_id)
    assert listed(stuck_minutes="0")
    assert not listed(stuck_minutes="15")  # asked for a moment ago
    assert not listed(status__exact="approved")


def test_a_held_deposit_is_assigned_burned_and_released_from_the_console(client_as, market, settings,
                                                                         patient_process_now):
    """Tokens arrive from a wallet whose allowlisting was revoked: the watcher holds them; only an approver may
    say whose they are, then the burn runs and the shares are released by hand (no broker link)."""
    market.shares_arrive("100")
    minted = market.request_mint("100")
    services.secure_shares(minted.id, "user:test-setup", via="journal", reference="setup")
    assert services.process_mint(minted.id).status == "completed"
    chain = market.chain
    revoke_wallet(market.partner_id, "anvil", chain.partner_wallet.address, actor="user:test-setup", reason="test")
    transfer_tokens(chain.w3, chain.partner_wallet, market.deployment.contract_address,
                    chain.redemption_wallet.address, 40 * TOKEN)
    watch_deployment(market.deployment)
    held = RedeemRequest.objects.get(deployment=market.deployment)
    assert held.status == "held" and held.partner_id is None

    head = store.head_position()
    for role in ("operator", "auditor"):
        act(client_as(role), REDEEMS, "assign_to_partner", [held.id], partner=market.partner_id)
    assert store.head_position() == head and RedeemRequest.objects.get(pk=held.pk).status == "held"

    approver = client_as("approver")
    act(approver, REDEEMS, "assign_to_partner", [held.id], partner=market.partner_id)
    act(approver, REDEEMS, "process_now_process_redeem", [held.id])
    assert RedeemRequest.objects.get(pk=held.pk).status == "burned"  # shares wait for a person: no broker link
    chain.w3.provider.make_request("anvil_mine", [hex(64 + 1)])  # and for the burn to pass the reorg window
    working = settings.CHAIN_NETWORKS
    settings.CHAIN_NETWORKS = {"anvil": {**working["anvil"], "rpc_url": "http://127.0.0.1:9"}}
    page = act(approver, REDEEMS, "release_shares", [held.id], reference="JNLC-back-to-partner")
    assert "chain unavailable" in page and RedeemRequest.objects.get(pk=held.pk).status == "burned"
    settings.CHAIN_NETWORKS = working
    act(approver, REDEEMS, "release_shares", [held.id], reference="JNLC-back-to-partner")

    redeem = RedeemRequest.objects.get(pk=held.pk)
    assert (redeem.status, redeem.partner_id) == ("completed", market.partner_id)
    actors = {e.event_type: e.metadata["actor"] for e in store.read_stream("redeem_request", held.id)}
    assert actors["redeem_assigned"] == actors["shares_released"] == f"user:{approver.user.username}"
    assert actors["burn_confirmed"] == "system:issuance"
