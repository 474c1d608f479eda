"""Nonce allocation per signer and network, recorded in the ledger (stream signer/<network>:<address>).

Why in the ledger: a signed transaction keeps the nonce it was given forever; after a crash it is rebroadcast
with that nonce, never re-signed with another. Allocation happens in the same transaction as the event that
persists the signed bytes, under a per-signer lock, so two workers never get the same nonce and an allocation
never exists without its transaction (no gaps).

The chain's pending count is a floor: if the key was used outside shareledger (a manual transaction, another
system), we skip past those nonces instead of reusing one, and the skip raises an alert.
"""
from __future__ import annotations

from ledger.store import NewEvent, StreamAppend

from .chain_client import Network
from .locks import lock
from .models import SignerNonce


def signer_stream_id(network: Network, address: str) -> str:
    return f"{network.name}:{address}"


def allocate(network: Network, address: str, chain_pending_count: int, *, purpose: str,
             request_id: str) -> tuple[int, StreamAppend]:
    """The next nonce and the signer-stream append recording it. Call inside the transaction that also
    appends the signed transaction."""
    stream_id = signer_stream_id(network, address)
    lock(f"signer:{stream_id}")
    row = SignerNonce.objects.filter(id=stream_id).first()
    recorded_next = row.next_nonce if row else 0
    nonce = max(recorded_next, chain_pending_count)
    skipped_from = recorded_next if row is not None and nonce > recorded_next else None
    event = NewEvent("nonce_allocated", {"network": network.name, "address": address, "nonce": nonce,
                                         "purpose": purpose, "request_id": request_id, "skipped_from": skipped_from})
    return nonce, StreamAppend("signer", stream_id, [event], expected_version=row.stream_version if row else 0)
