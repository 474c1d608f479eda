"""Shared by the api commands: a named refusal (DomainError) is one line on stderr and exit code 1."""
from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from ledger.errors import DomainError
from partners.errors import UnknownPartner
from partners.models import Partner


class ApiCommand(BaseCommand):
    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except DomainError as refusal:
            raise CommandError(f"{refusal.code}: {refusal.message}", returncode=1) from refusal


def partner_id_for(name_or_id: str) -> str:
    """Ops name partners by id or by their exact display name; an ambiguous name is refused."""
    if Partner.objects.filter(id=name_or_id).exists():
        return name_or_id
    matches = list(Partner.objects.filter(name=name_or_id).values_list("id", flat=True)[:2])
    if len(matches) != 1:
        raise UnknownPartner(f"no partner with id or name {name_or_id!r}" if not matches else
                             f"several partners are named {name_or_id!r}; use the partner id")
    return matches[0]
