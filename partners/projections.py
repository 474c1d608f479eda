"""Keeps Partner and Wallet in step with partner/<id> events, inside the append transaction.

Each event carries everything its row change needs, so a replay from an empty table gives the same rows.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from django.db import connection

from ledger.store import RecordedEvent

from .models import Partner, Wallet


def _cap(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


class PartnerProjector:
    name = "partners"
    stream_types = frozenset({"partner"})

    def apply(self, events: Sequence[RecordedEvent]) -> None:
        for event in events:
            if event.stream_type == "partner":
                self._apply(event)

    def reset(self) -> None:
        # Raw deletes: issuance rows point at partners with deferred FKs and are rebuilt in the same transaction.
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM partners_wallet")
            cursor.execute("DELETE FROM partners_partner")

    def _apply(self, event: RecordedEvent) -> None:
        data, at = event.payload, event.recorded_at
        if event.event_type == "partner_created":
            Partner.objects.create(
                id=event.stream_id, name=data["name"], kyc_status=data["kyc_status"],
                allowed_symbols=data["allowed_symbols"], per_request_cap=_cap(data["per_request_cap"]),
                daily_cap=_cap(data["daily_cap"]), broker_client_id=data["broker_client_id"],
                custody_account=data["custody_account"], created_at=at, updated_at=at, stream_version=event.version,
            )
            return
        changes: dict = {"updated_at": at, "stream_version": event.version}
        if event.event_type == "partner_kyc_changed":
            changes["kyc_status"] = data["kyc_status"]
        elif event.event_type == "partner_instruments_set":
            changes["allowed_symbols"] = data["allowed_symbols"]
        elif event.event_type == "partner_caps_changed":
            changes.update(per_request_cap=_cap(data["per_request_cap"]), daily_cap=_cap(data["daily_cap"]))
        elif event.event_type == "partner_broker_link_set":
            changes.update(broker_client_id=data["broker_client_id"], custody_account=data["custody_account"])
        elif event.event_type == "wallet_registered":
            Wallet.objects.create(partner_id=event.stream_id, network=data["network"], address=data["address"],
                                  label=data["label"], registered_at=at, updated_at=at)
        elif event.event_type in ("wallet_allowlisted", "wallet_revoked"):
            status = Wallet.Status.ALLOWLISTED if event.event_type == "wallet_allowlisted" else Wallet.Status.REVOKED
            Wallet.objects.filter(partner_id=event.stream_id, network=data["network"], address=data["address"]).update(
                status=status, allowlisted_by=event.metadata["actor"] if status == Wallet.Status.ALLOWLISTED else "",
                updated_at=at)
        Partner.objects.filter(id=event.stream_id).update(**changes)
