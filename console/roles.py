"""The console's roles as a declarative table, applied to Django groups by `sync_roles`.

The table is the whole truth: syncing sets each group's permissions to exactly what the table derives, so a
permission added to a group by hand (say, change rights for an auditor) is removed on the next sync.
It runs from the roles migration, after every `migrate` (post_migrate, so models of apps added later are
picked up) and from `manage.py sync_roles`.

Grants may name permissions of apps or models that do not exist yet (partners, dividends...). They are
skipped, and listed by `sync_roles`, until the model or its `Meta.permissions` defines them; later features
either define the codenames below or change this table.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import DEFAULT_DB_ALIAS, transaction

# Apps whose models are Django plumbing, not business records: nobody gets "view everything" on them.
PLUMBING_APPS = frozenset({"admin", "auth", "contenttypes", "sessions"})


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    grants: tuple[str, ...]  # "app_label.codename"
    views_all_business_models: bool = True

    def includes(self, app_label: str, codename: str) -> bool:
        if f"{app_label}.{codename}" in self.grants:
            return True
        return self.views_all_business_models and codename.startswith("view_") and app_label not in PLUMBING_APPS


ROLES: tuple[Role, ...] = (
    Role(
        "operator",
        "Creates and edits partners, wallets, instruments, deployments and corporate actions; starts syncs and "
        "reconciliations; acknowledges and resolves breaks; pauses and resumes instruments; manages partner API keys, "
        "disables partner webhook endpoints and redelivers webhooks.",
        grants=(
            "custody.add_instrument", "custody.change_instrument",
            "custody.add_custodyaccount", "custody.change_custodyaccount",
            "custody.start_custody_sync",
            "partners.add_partner", "partners.change_partner",
            "partners.add_wallet", "partners.change_wallet",
            "api.add_apikey", "api.change_apikey", "api.add_webhookendpoint", "api.change_webhookendpoint",
            "api.change_webhookdelivery",
            "issuance.add_tokendeployment", "issuance.change_tokendeployment",
            "corporate_actions.add_corporateaction", "corporate_actions.change_corporateaction",
            "corporate_actions.add_payoutpolicy", "corporate_actions.change_payoutpolicy",
            "reconciliation.start_reconciliation", "reconciliation.acknowledge_break", "reconciliation.resolve_break",
        ),
    ),
    Role(
        "approver",
        "Approves or rejects mint and redeem requests and payout runs above thresholds (never their own).",
        grants=(
            "issuance.approve_mint_request", "issuance.approve_redeem_request",
            "corporate_actions.approve_payout_run",
        ),
    ),
    Role(
        "auditor",
        "Reads everything, events included, and downloads the audit export; changes nothing.",
        grants=("console.export_ledger", "auth.view_user", "auth.view_group"),
    ),
)

ROLE_NAMES = tuple(role.name for role in ROLES)


@dataclass
class SyncReport:
    permissions_by_role: dict[str, int] = field(default_factory=dict)
    undefined_grants: dict[str, list[str]] = field(default_factory=dict)


def sync_roles(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> SyncReport:
    """Create the role groups if missing and set each one's permissions to exactly what ROLES derives."""
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    available = {
        (app_label, codename): permission_id
        for permission_id, app_label, codename in permission_model.objects.using(using).values_list(
            "id", "content_type__app_label", "codename"
        )
    }
    report = SyncReport()
    with transaction.atomic(using=using):
        for role in ROLES:
            wanted = [pid for (app_label, codename), pid in available.items() if role.includes(app_label, codename)]
            group, _ = group_model.objects.using(using).get_or_create(name=role.name)
            group.permissions.set(wanted)
            report.permissions_by_role[role.name] = len(wanted)
            undefined = [grant for grant in role.grants if tuple(grant.split(".", 1)) not in available]
            if undefined:
                report.undefined_grants[role.name] = undefined
    return report


def remove_roles(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    apps.get_model("auth", "Group").objects.using(using).filter(name__in=ROLE_NAMES).delete()


def create_all_permissions(*, apps=global_apps, using: str = DEFAULT_DB_ALIAS) -> None:
    """Django creates permissions only after migrating; the roles need them now, for every installed app."""
    for app_config in apps.get_app_configs():
        create_permissions(app_config, verbosity=0, using=using, apps=apps)


def sync_roles_after_migrate(sender, using: str = DEFAULT_DB_ALIAS, **kwargs) -> None:
    create_all_permissions(using=using)
    sync_roles(using=using)
