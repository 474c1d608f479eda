"""Partners, wallets, instruments, deployments and custody syncs from the console: operators create and change them
through forms that call the services (each change a ledger event naming them), nobody edits the rows directly,
and approvers and auditors are refused by the server."""
from __future__ import annotations

import html

import pytest
from django.urls import reverse

from custody.models import CustodyAccount, Instrument
from issuance.models import TokenDeployment
from ledger import store
from partners.models import Partner, Wallet

from .conftest import unique_isin
from .issuance_setup import SETUP_ACTOR, chain_for_test

pytestmark = pytest.mark.django_db
ROLES = ("operator", "approver", "auditor", "superuser")
NOT_OPERATORS = ("approver", "auditor")


def page_text(response) -> str:
    return html.unescape(response.content.decode())


def last_event(stream_type: str, stream_id: str):
    return store.read_stream(stream_type, stream_id)[-1]


@pytest.fixture
def partner(unique) -> Partner:
    from partners.services import create_partner

    return create_partner(f"p-{unique}", f"Partner {unique}", actor=SETUP_ACTOR)


# --- nobody edits event-sourced rows through a model form ---

@pytest.fixture
def rows(partner, instrument) -> dict[str, object]:
    return {"partners_partner": partner.pk, "custody_instrument": instrument.pk}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("model", ["partners_partner", "custody_instrument"])
def test_nobody_changes_or_deletes_event_sourced_rows_through_a_form(client_as, rows, role, model):
    client = client_as(role)
    head = store.head_position()

    view = client.get(reverse(f"admin:{model}_change", args=[rows[model]]))
    change = client.post(reverse(f"admin:{model}_change", args=[rows[model]]), {"name": "edited in a form"})
    delete = client.post(reverse(f"admin:{model}_delete", args=[rows[model]]), {"post": "yes"})

    assert view.status_code == 200 and b'name="_save"' not in view.content
    assert (change.status_code, delete.status_code) == (403, 403)
    assert store.head_position() == head


# --- partners ---

def test_an_operator_creates_a_partner_with_kyc_pending(client_as, unique):
    operator = client_as("operator")

    response = operator.post(reverse("admin:partners_partner_add"), {
        "partner_id": f"new-{unique}", "name": "New Markets LLC", "allowed_symbols": "aapl, TSLA",
        "per_request_cap": "2500", "daily_cap": "", "broker_client_id": "", "custody_account": ""})

    assert response.status_code == 302
    partner = Partner.objects.get(id=f"new-{unique}")
    assert (partner.kyc_status, partner.allowed_symbols, partner.per_request_cap, partner.daily_cap) == (
        "pending", ["AAPL", "TSLA"], 2500, None)
    assert last_event("partner", partner.id).metadata["actor"] == f"user:{operator.user.username}"


def test_a_refused_partner_shows_the_reason_and_records_nothing(client_as, partner):
    operator = client_as("operator")
    head = store.head_position()

    response = operator.post(reverse("admin:partners_partner_add"), {"partner_id": partner.id, "name": "Again"})

    assert response.status_code == 200 and f"partner {partner.id!r} already exists" in page_text(response)
    assert store.head_position() == head


@pytest.mark.parametrize("role", NOT_OPERATORS)
def test_approvers_and_auditors_cannot_create_or_change_partners(client_as, partner, role, unique):
    client = client_as(role)
    head = store.head_position()

    add = client.post(reverse("admin:partners_partner_add"), {"partner_id": f"x-{unique}", "name": "X"})
    manage = client.post(reverse("admin:partners_partner_manage", args=[partner.id]),
                         {"form": "kyc", "kyc-kyc_status": "approved"})

    assert (add.status_code, manage.status_code) == (403, 403)
    assert client.get(reverse("admin:partners_partner_add")).status_code == 403
    assert store.head_position() == head and Partner.objects.get(pk=partner.pk).kyc_status == "pending"


def test_an_operator_approves_kyc_and_sets_caps_each_as_an_event(client_as, partner):
    operator = client_as("operator")
    url = reverse("admin:partners_partner_manage", args=[partner.id])

    assert operator.get(url).status_code == 200
    operator.post(url, {"form": "kyc", "kyc-kyc_status": "approved", "kyc-reason": "documents checked"})
    operator.post(url, {"form": "caps", "caps-per_request_cap": "500", "caps-daily_cap": "2000"})

    changed = Partner.objects.get(pk=partner.pk)
    assert (changed.kyc_status, changed.per_request_cap, changed.daily_cap) == ("approved", 500, 2000)
    events = store.read_stream("partner", partner.id)[-2:]
    assert [(e.event_type, e.metadata["actor"]) for e in events] == [
        ("partner_kyc_changed", f"user:{operator.user.username}"),
        ("partner_caps_changed", f"user:{operator.user.username}")]


def test_an_operator_registers_allowlists_and_revokes_a_wallet_but_an_auditor_cannot(client_as, partner):
    address = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    operator = client_as("operator")
    operator.post(reverse("admin:partners_wallet_add"),
                  {"partner": partner.id, "network": "anvil", "address": address.lower(), "label": "desk 1"})
    wallet = Wallet.objects.get(partner=partner, address=address)
    assert wallet.status == "registered"

    head = store.head_position()
    auditor_page = client_as("auditor").post(reverse("admin:partners_wallet_changelist"),
                                             {"action": "allowlist", "_selected_action": [wallet.pk], "index": "0"})
    assert auditor_page.status_code in (200, 302) and store.head_position() == head

    changelist = reverse("admin:partners_wallet_changelist")
    operator = client_as("operator")
    operator.post(changelist, {"action": "allowlist", "_selected_action": [wallet.pk], "index": "0"})
    assert Wallet.objects.get(pk=wallet.pk).allowlisted_by == f"user:{operator.user.username}"
    operator.post(changelist, {"action": "revoke", "_selected_action": [wallet.pk], "index": "0", "reason": "key lost"})
    assert Wallet.objects.get(pk=wallet.pk).status == "revoked"
    assert last_event("partner", partner.id).payload["reason"] == "key lost"


# --- instruments ---

def test_an_operator_creates_an_instrument_and_a_bad_isin_is_refused(client_as, unique):
    operator = client_as("operator")
    symbol = "N" + unique[:5].upper()
    head = store.head_position()

    refused = operator.post(reverse("admin:custody_instrument_add"), {
        "symbol": symbol, "name": "New Corp", "isin": "US0000000000", "tokens_per_share": "1"})
    assert refused.status_code == 200 and "ISIN" in page_text(refused) and store.head_position() == head

    created = operator.post(reverse("admin:custody_instrument_add"), {
        "symbol": symbol.lower(), "name": "New Corp", "isin": unique_isin(unique), "tokens_per_share": "1"})

    assert created.status_code == 302
    instrument = Instrument.objects.get(symbol=symbol)
    assert last_event("instrument", instrument.isin).metadata["actor"] == f"user:{operator.user.username}"


@pytest.mark.parametrize("role", NOT_OPERATORS)
def test_approvers_and_auditors_cannot_create_instruments(client_as, role, unique):
    response = client_as(role).post(reverse("admin:custody_instrument_add"), {
        "symbol": "Z" + unique[:5].upper(), "name": "Z", "isin": unique_isin(unique), "tokens_per_share": "1"})

    assert response.status_code == 403
    assert not Instrument.objects.filter(symbol="Z" + unique[:5].upper()).exists()


def test_pausing_from_the_instrument_list_needs_a_reason(client_as, instrument):
    operator = client_as("operator")
    changelist = reverse("admin:custody_instrument_changelist")

    operator.post(changelist, {"action": "pause", "_selected_action": [instrument.pk], "index": "0", "reason": ""})
    assert Instrument.objects.get(pk=instrument.pk).status == "active"
    operator.post(changelist, {"action": "pause", "_selected_action": [instrument.pk], "index": "0",
                               "reason": "split on Monday"})

    assert Instrument.objects.get(pk=instrument.pk).status == "paused"
    event = last_event("instrument", instrument.isin)
    assert (event.payload["reason"], event.metadata["actor"]) == ("split on Monday", f"user:{operator.user.username}")


# --- custody syncs ---

@pytest.mark.parametrize(("role", "queued"), [("operator", 1), ("superuser", 1), ("approver", 0), ("auditor", 0)])
def test_only_operators_start_a_custody_sync(client_as, role, queued, unique, django_capture_on_commit_callbacks):
    account = CustodyAccount.objects.create(name=f"broker-{unique}", kind=CustodyAccount.Kind.ALPACA)
    client = client_as(role)
    head_before = store.head_position()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(reverse("admin:custody_custodyaccount_changelist"),
                    {"action": "sync_now", "_selected_action": [account.pk], "index": "0"})

    assert len(callbacks) == queued
    asked = [e for e in store.read_all(after_position=head_before, event_types=["custody_sync_requested"])
             if e.payload["account"] == account.name]
    assert [e.metadata["actor"] for e in asked] == ([f"user:{client.user.username}"] if queued else [])


def test_a_statement_account_has_no_broker_to_sync(client_as, unique, django_capture_on_commit_callbacks):
    account = CustodyAccount.objects.create(name=f"bank-{unique}", kind=CustodyAccount.Kind.STATEMENT)

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = client_as("operator").post(reverse("admin:custody_custodyaccount_changelist"), {
            "action": "sync_now", "_selected_action": [account.pk], "index": "0"}, follow=True)

    assert not callbacks and "receives statements" in page_text(response)


# --- token deployments ---

def test_an_operator_deploys_a_token_and_others_are_refused(client_as, settings, anvil_node, instrument):
    chain_for_test(settings, anvil_node.url)
    form = {"symbol": instrument.symbol.lower(), "network": "anvil", "decimals": "18", "token_symbol": "", "name": ""}
    for role in NOT_OPERATORS:
        assert client_as(role).post(reverse("admin:issuance_tokendeployment_add"), form).status_code == 403
    assert not TokenDeployment.objects.filter(instrument=instrument).exists()

    operator = client_as("operator")
    response = operator.post(reverse("admin:issuance_tokendeployment_add"), form)

    assert response.status_code == 302
    deployment = TokenDeployment.objects.get(instrument=instrument)
    assert (deployment.token_symbol, deployment.status) == (f"{instrument.symbol}x", "active")
    assert last_event("token_deployment", deployment.id).metadata["actor"] == f"user:{operator.user.username}"
    again = operator.post(reverse("admin:issuance_tokendeployment_add"), form)
    assert "already has an active token on anvil" in page_text(again)


def test_every_role_reads_the_queues_and_reference_lists(client_as):
    for role in ROLES:
        client = client_as(role)
        for name in ("issuance_mintrequest", "issuance_redeemrequest", "issuance_tokendeployment",
                     "issuance_chainalert", "partners_partner", "partners_wallet", "custody_instrument",
                     "custody_custodyaccount", "custody_brokerorder", "custody_positionsobservation",
                     "custody_statementimport"):
            assert client.get(reverse(f"admin:{name}_changelist")).status_code == 200, (role, name)
