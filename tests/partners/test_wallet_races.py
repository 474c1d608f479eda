"""Wallet registration against concurrent changes to the partner, on committed data (other connections see it)."""
from __future__ import annotations

import threading
from decimal import Decimal

from django.db import connection

from partners import services
from partners.models import Partner
from partners.services import create_partner, register_wallet, set_caps


def test_an_operator_changing_the_partner_while_a_wallet_is_registered_blocks_neither(committed_db, unique,
                                                                                      monkeypatch):
    """The operator's change lands between the registration's locks and its append (no deadlock, no stale 409)."""
    partner_id = f"ops-race-{unique}"
    create_partner(partner_id, "Ops Race LLC", actor="user:ops")
    real_record, changed = services._record, []

    def operator_first(partner, event_type, payload, actor):
        if event_type == "wallet_registered" and not changed:
            def change_caps():
                try:
                    changed.append(set_caps(partner_id, per_request_cap="5", daily_cap=None, actor="user:ops"))
                finally:
                    connection.close()

            operator = threading.Thread(target=change_caps)
            operator.start()
            operator.join(15)
            assert changed, "the operator's change waited for the registration"
        return real_record(partner, event_type, payload, actor)

    monkeypatch.setattr(services, "_record", operator_first)
    address = "0x" + unique.ljust(40, "0")
    wallet = register_wallet(partner_id, "anvil", address, actor="user:ops")
    assert wallet.partner_id == partner_id and Partner.objects.get(id=partner_id).per_request_cap == Decimal(5)
