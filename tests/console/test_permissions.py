"""Each role, each console action, answered by the server (not by which buttons the page draws)."""
from __future__ import annotations

import pytest
from django.urls import reverse

from api.models import WebhookDelivery, WebhookEndpoint
from custody.models import Instrument
from ledger import store
from ledger.models import Event

from .conftest import move
from .issuance_setup import SETUP_ACTOR

pytestmark = pytest.mark.django_db
ROLES = ("operator", "approver", "auditor", "superuser")


@pytest.fixture
def event(unique):
    return move(f"P{unique[:5].upper()}", f"custody:alpaca-main:P{unique[:5].upper()}", "equity:opening:X", "5")


def _expect(status_by_role: dict[str, int], default: int) -> list[tuple[str, int]]:
    return [(role, status_by_role.get(role, default)) for role in ROLES]


READS = ["admin:index", "admin:ledger_event_changelist", "admin:ledger_posting_changelist", "admin:console_balances",
         "admin:console_anchor"]


@pytest.mark.parametrize("url_name", READS)
@pytest.mark.parametrize("role", ROLES)
def test_every_role_can_read_the_console(client_as, role, url_name):
    assert client_as(role).get(reverse(url_name)).status_code == 200


@pytest.mark.parametrize("role", ROLES)
def test_every_role_can_open_an_event_but_nobody_can_post_a_change_to_it(client_as, role, event):
    client = client_as(role)
    url = reverse("admin:ledger_event_change", args=[event.position])

    page = client.get(url)
    response = client.post(url, {"event_type": "rewritten", "payload": "{}"})

    assert page.status_code == 200
    assert b'name="_save"' not in page.content
    assert response.status_code == 403
    assert Event.objects.get(position=event.position).event_type == event.event_type


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("view", ["add", "delete"])
def test_nobody_can_add_or_delete_events(client_as, role, view, event):
    url = reverse("admin:ledger_event_add") if view == "add" else reverse("admin:ledger_event_delete", args=[event.position])
    client = client_as(role)
    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    assert Event.objects.filter(position=event.position).exists()


@pytest.mark.parametrize(("role", "status"), _expect({"auditor": 200, "superuser": 200}, 403))
def test_only_auditors_and_superusers_can_export(client_as, role, status):
    client = client_as(role)
    head = store.head_position()

    page = client.get(reverse("admin:console_export"))
    download = client.post(reverse("admin:console_export"), {"date_from": "2000-01-01", "date_to": "2000-01-02"})

    assert (page.status_code, download.status_code) == (status, status)
    assert store.head_position() == head + (1 if status == 200 else 0)  # a download is recorded, a refusal is not


@pytest.mark.parametrize(("role", "status"), _expect({"operator": 302, "superuser": 302}, 403))
def test_only_operators_can_pause_an_instrument(client_as, role, status, instrument):
    client = client_as(role)

    response = client.post(reverse("admin:console_instrument_status", args=[instrument.symbol, "pause"]),
                           {"reason": "corporate action"})

    assert response.status_code == status
    paused = Instrument.objects.get(pk=instrument.pk).status == "paused"
    assert paused is (status == 302)
    if paused:
        latest = Event.objects.order_by("-position").first()
        assert latest.metadata["actor"] == f"user:{client.user.username}"


def test_pausing_needs_a_post_and_a_reason(client_as, instrument):
    client = client_as("operator")
    url = reverse("admin:console_instrument_status", args=[instrument.symbol, "pause"])

    assert client.get(url).status_code == 405
    client.post(url, {"reason": ""})

    assert Instrument.objects.get(pk=instrument.pk).status == "active"


@pytest.mark.parametrize(("role", "status"), _expect({"auditor": 200, "superuser": 200}, 403))
def test_auditors_can_review_who_holds_which_role_but_not_change_it(client_as, role, status):
    client = client_as(role)
    target = client.user
    assert client.get(reverse("admin:auth_user_changelist")).status_code == status
    change = client.post(reverse("admin:auth_user_change", args=[target.pk]), {"username": target.username, "is_superuser": "on"})
    assert change.status_code in ((403,) if role != "superuser" else (200, 302))
    target.refresh_from_db()
    assert target.is_superuser is (role == "superuser")


@pytest.fixture
def failed_delivery(unique) -> WebhookDelivery:
    from partners.services import create_partner

    partner = create_partner(f"p-{unique}", f"Partner {unique}", actor=SETUP_ACTOR)
    endpoint = WebhookEndpoint.objects.create(partner=partner, url="https://hooks.example.com/in", secret="whsec_x")
    return WebhookDelivery.objects.create(endpoint=endpoint, event_id=f"evt_{unique}", event_type="mint_completed",
                                          payload={}, status=WebhookDelivery.Status.FAILED, attempts=8)


def _run_admin_action(client, changelist: str, action: str, pk: int) -> tuple[bool, int]:
    """(whether the change list offers the action, how many events the POST of it appended)."""
    url = reverse(changelist)
    offered = f'<option value="{action}">'.encode() in client.get(url).content
    head = store.head_position()
    client.post(url, {"action": action, "_selected_action": [pk]})
    return offered, store.head_position() - head


def _latest_request(event_type: str) -> Event:
    return Event.objects.filter(stream_type="console_request", event_type=event_type).order_by("-position").first()


@pytest.mark.parametrize(("role", "allowed"), [("operator", True), ("approver", False), ("auditor", False),
                                               ("superuser", True)])
def test_only_operators_can_disable_a_partner_webhook_endpoint_and_each_use_names_them(client_as, role, allowed,
                                                                                       failed_delivery):
    client = client_as(role)
    endpoint = failed_delivery.endpoint

    offered, appended = _run_admin_action(client, "admin:api_webhookendpoint_changelist", "disable", endpoint.pk)

    endpoint.refresh_from_db()
    assert (offered, endpoint.active, appended) == ((True, False, 1) if allowed else (False, True, 0))
    if allowed:
        recorded = _latest_request("webhook_endpoint_disable_requested")
        assert recorded.metadata["actor"] == f"user:{client.user.username}"
        assert recorded.payload["endpoint"] == endpoint.pk


@pytest.mark.parametrize(("role", "allowed"), [("operator", True), ("approver", False), ("auditor", False),
                                               ("superuser", True)])
def test_only_operators_can_redeliver_a_webhook_and_each_use_names_them(client_as, role, allowed, failed_delivery,
                                                                        monkeypatch):
    from api.tasks import deliver_webhook

    queued = []
    monkeypatch.setattr(deliver_webhook, "delay", queued.append)
    client = client_as(role)

    offered, appended = _run_admin_action(client, "admin:api_webhookdelivery_changelist", "redeliver",
                                          failed_delivery.pk)

    failed_delivery.refresh_from_db()
    assert (offered, failed_delivery.status, appended, queued) == (
        (True, "pending", 1, [failed_delivery.pk]) if allowed else (False, "failed", 0, []))
    if allowed:
        recorded = _latest_request("webhook_redelivery_requested")
        assert recorded.metadata["actor"] == f"user:{client.user.username}"
        assert recorded.payload["delivery"] == failed_delivery.pk


@pytest.mark.parametrize("changelist", ["admin:api_webhookendpoint_change", "admin:api_webhookdelivery_change"])
def test_a_webhook_row_page_stays_read_only_for_operators(client_as, failed_delivery, changelist):
    pk = failed_delivery.endpoint.pk if "endpoint" in changelist else failed_delivery.pk
    client = client_as("operator")
    page = client.get(reverse(changelist, args=[pk]))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert client.post(reverse(changelist, args=[pk]), {}).status_code == 403


def test_an_anonymous_visitor_is_sent_to_the_login_page(client):
    for url_name in READS + ["admin:console_export"]:
        response = client.get(reverse(url_name))
        assert response.status_code == 302 and "/admin/login/" in response["Location"]
