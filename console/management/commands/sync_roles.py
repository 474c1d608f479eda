from django.core.management.base import BaseCommand

from console.roles import create_all_permissions, sync_roles


class Command(BaseCommand):
    help = "Create the operator/approver/auditor groups and set their permissions from console/roles.py (idempotent)."

    def handle(self, *args, **options):
        create_all_permissions()
        report = sync_roles()
        for role, count in report.permissions_by_role.items():
            self.stdout.write(f"{role}: {count} permissions")
        for role, grants in report.undefined_grants.items():
            self.stdout.write(f"{role}: not defined yet (skipped): {', '.join(grants)}")
