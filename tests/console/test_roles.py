"""Roles are Django groups derived from one table; syncing restores the table whatever was changed by hand."""
from __future__ import annotations

import io

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command

from console.roles import sync_roles

pytestmark = pytest.mark.django_db


def granted(role: str) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=role).permissions.select_related("content_type")}


def test_the_migration_creates_the_three_roles():
    assert set(Group.objects.filter(name__in=["operator", "approver", "auditor"]).values_list("name", flat=True)) == {
        "operator", "approver", "auditor"}


def test_an_auditor_may_view_everything_and_export_but_change_nothing():
    perms = granted("auditor")
    assert {"ledger.view_event", "ledger.view_posting", "custody.view_instrument", "console.export_ledger"} <= perms
    assert [p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_"))] == []


def test_an_operator_edits_reference_data_but_deletes_nothing_and_cannot_export():
    perms = granted("operator")
    assert {"custody.add_instrument", "custody.change_instrument", "ledger.view_event"} <= perms
    assert not [p for p in perms if ".delete_" in p]
    assert "console.export_ledger" not in perms
    assert "ledger.change_event" not in perms


def test_an_approver_views_but_edits_no_reference_data():
    perms = granted("approver")
    assert "ledger.view_event" in perms
    assert not [p for p in perms if p.split(".")[1].startswith(("add_", "change_", "delete_"))]


def test_a_permission_added_to_a_role_by_hand_is_removed_by_the_next_sync():
    auditor = Group.objects.get(name="auditor")
    auditor.permissions.add(Permission.objects.get(content_type__app_label="custody", codename="change_instrument"))

    sync_roles()

    assert "custody.change_instrument" not in granted("auditor")


def test_a_model_added_later_becomes_visible_to_every_role_on_the_next_sync():
    later_model = ContentType.objects.create(app_label="later_feature", model="payoutrun")
    Permission.objects.create(content_type=later_model, codename="view_payoutrun", name="Can view payout run")
    Permission.objects.create(content_type=later_model, codename="change_payoutrun", name="Can change payout run")

    sync_roles()

    for role in ("operator", "approver", "auditor"):
        assert "later_feature.view_payoutrun" in granted(role)
        assert "later_feature.change_payoutrun" not in granted(role)


def test_sync_roles_command_is_idempotent():
    call_command("sync_roles", stdout=io.StringIO())
    before = {role: granted(role) for role in ("operator", "approver", "auditor")}
    out = io.StringIO()

    call_command("sync_roles", stdout=out)

    assert {role: granted(role) for role in before} == before
    for role, perms in before.items():
        assert f"{role}: {len(perms)} permissions" in out.getvalue()
