"""Partner management: the only writer of partner/<id> events. Every call names its actor ("user:<name>").

Why events rather than admin edits: who allowlisted a wallet, and when, is part of the audit trail of every
mint that wallet later received.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from ledger import store
from ledger.errors import ConcurrencyError
from ledger.locks import transaction_lock
from ledger.store import NewEvent

from .addresses import checksum_address
from .errors import InvalidPartnerField, PartnerExists, UnknownPartner, UnknownWallet, WalletTaken
from .models import Partner, Wallet

PARTNER_ID = re.compile(r"^[a-z0-9][a-z0-9-]{1,63}$")
SYMBOL = re.compile(r"^[A-Z0-9.]{1,16}$")


def _actor(actor: str) -> dict:
    return {"actor": actor}


def _cap_text(value: Decimal | str | int | None, field: str) -> Decimal | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) or isinstance(value, bool):
        raise InvalidPartnerField(f"{field} must be a decimal, not {type(value).__name__}")
    try:
        cap = Decimal(str(value))
    except InvalidOperation:
        raise InvalidPartnerField(f"{field} {value!r} is not a decimal number") from None
    if not cap.is_finite() or cap <= 0:
        raise InvalidPartnerField(f"{field} must be greater than zero")
    return cap


def _symbols(symbols: Iterable[str]) -> list[str]:
    cleaned = sorted({str(symbol).strip().upper() for symbol in symbols})
    bad = [symbol for symbol in cleaned if not SYMBOL.match(symbol)]
    if bad:
        raise InvalidPartnerField(f"not instrument symbols: {', '.join(bad)}")
    return cleaned


def _network(network: str) -> str:
    if network not in settings.CHAIN_NETWORKS:
        raise InvalidPartnerField(f"unknown network {network!r}; configured: {', '.join(sorted(settings.CHAIN_NETWORKS))}")
    return network


def get_partner(partner_id: str) -> Partner:
    partner = Partner.objects.filter(id=partner_id).first()
    if partner is None:
        raise UnknownPartner(f"no partner {partner_id!r}")
    return partner


def create_partner(partner_id: str, name: str, *, actor: str, allowed_symbols: Iterable[str] = (),
                   per_request_cap: Decimal | str | None = None, daily_cap: Decimal | str | None = None,
                   broker_client_id: str = "", custody_account: str = "") -> Partner:
    """A new partner, KYC pending: it can do nothing until ops approve its KYC and allowlist a wallet."""
    if not PARTNER_ID.match(partner_id):
        raise InvalidPartnerField("partner id must be 2-64 lowercase letters, digits or dashes")
    if Partner.objects.filter(id=partner_id).exists():
        raise PartnerExists(f"partner {partner_id!r} already exists")
    payload = {
        "name": name, "kyc_status": Partner.KycStatus.PENDING.value, "allowed_symbols": _symbols(allowed_symbols),
        "per_request_cap": _cap_text(per_request_cap, "per_request_cap"),
        "daily_cap": _cap_text(daily_cap, "daily_cap"),
        "broker_client_id": broker_client_id, "custody_account": custody_account,
    }
    store.append("partner", partner_id, [NewEvent("partner_created", payload)], metadata=_actor(actor),
                 expected_version=0)
    return get_partner(partner_id)


def _record(partner: Partner, event_type: str, payload: dict, actor: str) -> Partner:
    store.append("partner", partner.id, [NewEvent(event_type, payload)], metadata=_actor(actor),
                 expected_version=partner.stream_version)
    return get_partner(partner.id)


def set_kyc_status(partner_id: str, kyc_status: str, *, actor: str, reason: str = "") -> Partner:
    if kyc_status not in Partner.KycStatus.values:
        raise InvalidPartnerField(f"KYC status must be one of {', '.join(Partner.KycStatus.values)}")
    return _record(get_partner(partner_id), "partner_kyc_changed", {"kyc_status": str(kyc_status), "reason": reason}, actor)


def set_allowed_instruments(partner_id: str, symbols: Iterable[str], *, actor: str) -> Partner:
    return _record(get_partner(partner_id), "partner_instruments_set", {"allowed_symbols": _symbols(symbols)}, actor)


def set_caps(partner_id: str, *, per_request_cap: Decimal | str | None, daily_cap: Decimal | str | None,
             actor: str) -> Partner:
    """Caps in tokens; None removes a cap."""
    payload = {"per_request_cap": _cap_text(per_request_cap, "per_request_cap"),
               "daily_cap": _cap_text(daily_cap, "daily_cap")}
    return _record(get_partner(partner_id), "partner_caps_changed", payload, actor)


def set_broker_link(partner_id: str, *, broker_client_id: str, custody_account: str, actor: str) -> Partner:
    """How the partner is known at the broker (ITN client_id) and which custody account its journals use."""
    return _record(get_partner(partner_id), "partner_broker_link_set",
                   {"broker_client_id": broker_client_id, "custody_account": custody_account}, actor)


def register_wallet(partner_id: str, network: str, address: str, *, actor: str, label: str = "") -> Wallet:
    """Record a wallet the partner says it controls. It receives nothing until ops allowlist it.

    Concurrent registrations wait for each other, per address then per partner, and read under those locks:
    two partners racing for one address get the wallet and WalletTaken (not a unique violation), and two
    wallets of one partner registered at once both append (not a stale expected version). The partner's row is
    not locked: an operator's change to the partner updates it under the append lock, which this registration
    waits for next, so a row lock would deadlock with it."""
    get_partner(partner_id)
    network, address = _network(network), checksum_address(address)
    with transaction.atomic():
        transaction_lock("partners", f"wallet:{network}:{address}")
        transaction_lock("partners", f"partner:{partner_id}")  # not a row lock: the partner projector updates that row under the append lock
        partner = get_partner(partner_id)
        existing = Wallet.objects.filter(network=network, address=address).first()
        if existing is not None:
            if existing.partner_id != partner.id:
                raise WalletTaken(f"{address} on {network} belongs to another partner")
            return existing
        registered = {"network": network, "address": address, "label": label}
        try:
            _record(partner, "wallet_registered", registered, actor)
        except ConcurrencyError:  # an operator changed the partner meanwhile (caps, KYC...); registering does not
            _record(get_partner(partner_id), "wallet_registered", registered, actor)  # depend on it: once more
    return Wallet.objects.get(network=network, address=address)


def _wallet(partner_id: str, network: str, address: str) -> Wallet:
    wallet = Wallet.objects.filter(partner_id=partner_id, network=network, address=checksum_address(address)).first()
    if wallet is None:
        raise UnknownWallet(f"partner {partner_id!r} has no wallet {address} on {network}")
    return wallet


def allowlist_wallet(partner_id: str, network: str, address: str, *, actor: str) -> Wallet:
    wallet = _wallet(partner_id, network, address)
    if wallet.status != Wallet.Status.ALLOWLISTED:
        _record(get_partner(partner_id), "wallet_allowlisted", {"network": network, "address": wallet.address}, actor)
    return Wallet.objects.get(pk=wallet.pk)


def revoke_wallet(partner_id: str, network: str, address: str, *, actor: str, reason: str = "") -> Wallet:
    wallet = _wallet(partner_id, network, address)
    if wallet.status != Wallet.Status.REVOKED:
        _record(get_partner(partner_id), "wallet_revoked",
                {"network": network, "address": wallet.address, "reason": reason}, actor)
    return Wallet.objects.get(pk=wallet.pk)


def onboard_partner(partner_id: str, name: str, *, actor: str, network: str, wallet_address: str,
                    allowed_symbols: Iterable[str], per_request_cap: Decimal | str | None = None,
                    daily_cap: Decimal | str | None = None, broker_client_id: str = "",
                    custody_account: str = "") -> Partner:
    """Create, approve KYC, register and allowlist one wallet: what the demo and ops scripts do in one go."""
    with transaction.atomic():
        create_partner(partner_id, name, actor=actor, allowed_symbols=allowed_symbols,
                       per_request_cap=per_request_cap, daily_cap=daily_cap, broker_client_id=broker_client_id,
                       custody_account=custody_account)
        set_kyc_status(partner_id, Partner.KycStatus.APPROVED, actor=actor)
        register_wallet(partner_id, network, wallet_address, actor=actor)
        allowlist_wallet(partner_id, network, wallet_address, actor=actor)
    return get_partner(partner_id)


def allowlisted_wallet_owner(network: str, address: str) -> Partner | None:
    """The partner whose allowlisted wallet this is, or None (unknown, registered only, or revoked)."""
    wallet = (Wallet.objects.select_related("partner")
              .filter(network=network, address=address, status=Wallet.Status.ALLOWLISTED).first())
    return wallet.partner if wallet else None
