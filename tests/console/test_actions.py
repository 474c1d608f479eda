"""Nothing changes from the console without an event naming the user who did it."""
from __future__ import annotations

import pytest
from django.contrib import admin
from django.test import RequestFactory

from console.actions import ledger_action, run_ledger_action
from console.admin_base import EventSourcedAdmin
from console.errors import ActionForbidden, ActionNotRecorded
from custody.models import Instrument
from custody.services import pause_instrument
from ledger import store
from ledger.models import Event, Posting

pytestmark = pytest.mark.django_db


def test_an_action_records_an_event_whose_actor_is_the_user(make_user, instrument):
    operator = make_user("operator")

    run_ledger_action(operator, "custody.change_instrument", pause_instrument, instrument.symbol, reason="split pending")

    event = Event.objects.order_by("-position").first()
    assert (event.event_type, event.metadata["actor"], event.payload["reason"]) == (
        "instrument_paused", f"user:{operator.username}", "split pending")
    assert Instrument.objects.get(pk=instrument.pk).status == "paused"


def test_a_user_without_the_permission_is_refused_before_the_service_runs(make_user, instrument):
    auditor = make_user("auditor")
    head = store.head_position()

    with pytest.raises(ActionForbidden):
        run_ledger_action(auditor, "custody.change_instrument", pause_instrument, instrument.symbol, reason="x")

    assert store.head_position() == head
    assert Instrument.objects.get(pk=instrument.pk).status == "active"


def test_a_service_that_changes_state_without_recording_an_event_is_rolled_back(make_user, instrument):
    operator = make_user("operator")

    def rename_quietly(instrument_id, *, actor):
        Instrument.objects.filter(pk=instrument_id).update(name="renamed without an event")

    with pytest.raises(ActionNotRecorded):
        run_ledger_action(operator, "custody.change_instrument", rename_quietly, instrument.pk)

    assert Instrument.objects.get(pk=instrument.pk).name != "renamed without an event"


def test_an_event_recorded_under_another_actor_does_not_count(make_user, instrument):
    operator = make_user("operator")

    def pause_as_the_system(symbol, *, actor):
        pause_instrument(symbol, "system:somebody-else", "not the user")

    with pytest.raises(ActionNotRecorded):
        run_ledger_action(operator, "custody.change_instrument", pause_as_the_system, instrument.symbol)

    assert Instrument.objects.get(pk=instrument.pk).status == "active"


@ledger_action(permission="custody.change_instrument", description="Pause selected instruments")
def pause_selected(instrument, *, actor):
    pause_instrument(instrument.symbol, actor, "paused from the list")


class PausableInstrumentAdmin(EventSourcedAdmin):
    actions = [pause_selected]


def test_ledger_actions_are_offered_only_to_users_holding_their_permission(make_user):
    model_admin = PausableInstrumentAdmin(Instrument, admin.site)
    request = RequestFactory().get("/")

    request.user = make_user("operator")
    assert "pause_selected" in model_admin.get_actions(request)
    request.user = make_user("auditor")
    assert "pause_selected" not in model_admin.get_actions(request)


def test_event_sourced_admin_forms_cannot_add_change_or_delete_even_for_a_superuser(make_user):
    model_admin = PausableInstrumentAdmin(Instrument, admin.site)
    request = RequestFactory().get("/")
    request.user = make_user("superuser")

    assert not model_admin.has_add_permission(request)
    assert not model_admin.has_change_permission(request)
    assert not model_admin.has_delete_permission(request)
    assert "delete_selected" not in model_admin.get_actions(request)


def test_the_ledger_itself_is_read_only_in_the_admin(make_user):
    request = RequestFactory().get("/")
    request.user = make_user("superuser")
    for model in (Event, Posting):
        model_admin = admin.site._registry[model]
        assert (model_admin.has_add_permission(request), model_admin.has_change_permission(request),
                model_admin.has_delete_permission(request)) == (False, False, False)
        assert model_admin.has_view_permission(request)
