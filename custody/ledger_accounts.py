"""Ledger account paths the custody app posts to, exactly as docs/chart-of-accounts.md names them.

Suspense accounts sit under `suspense:` and never under `custody:`: reconciliation sums every
`custody:*:<SYMBOL>` account, and a suspense balance in the same asset there would hide the very break
it is meant to show.
"""
from __future__ import annotations

from datetime import date


def custody_shares(account: str, symbol: str) -> str:
    return f"custody:{account}:{symbol}"


def custody_cash(account: str, currency: str) -> str:
    return f"custody:{account}:cash:{currency}"


def market(account: str, asset: str) -> str:
    """Counterparty of broker trades: shares bought (-) and cash paid (+)."""
    return f"market:{account}:{asset}"


def broker_fees(account: str, currency: str) -> str:
    return f"broker:{account}:fees:{currency}"


def broker_rounding(account: str, currency: str) -> str:
    """What fills settled to the cent differ from their exact value (qty x price): positive = cost to us."""
    return f"broker:{account}:rounding:{currency}"


def dividends_receivable(symbol: str, paid_on: date) -> str:
    """Alpaca's DIV activities carry no corporate action id; the pay date names the dividend instead."""
    return f"dividends:receivable:{symbol}:{paid_on.isoformat()}"


def split_counterparty(symbol: str, booked_on: date) -> str:
    return f"corporate-actions:split-{booked_on.isoformat()}:{symbol}"


def partner_pending_mint(partner_id: str, symbol: str) -> str:
    return f"partner:{partner_id}:pending-mint:{symbol}"


def partner_pending_redeem(partner_id: str, symbol: str) -> str:
    return f"partner:{partner_id}:pending-redeem:{symbol}"


def partner_cash(partner_id: str, currency: str) -> str:
    return f"partner:{partner_id}:cash:{currency}"


def unmatched_journal(account: str, asset: str) -> str:
    """Clearing account of journals INTO the account (JNLS q>0) and of cash journaled in or out (JNLC, and the
    cash a JNLS moves) that no journal matcher assigned to a partner. Negative: booked by custody, claimed by
    no request (held for operations); positive: claimed for a mint, not yet in the broker's feed."""
    return f"suspense:unmatched-journal:{account}:{asset}"


def outgoing_journal(account: str, symbol: str) -> str:
    """Clearing account of share journals OUT of the account (JNLS q<0) that no journal matcher assigned.
    Negative: shares released to a partner that custody's sync has not booked out yet (still in custody, no
    longer ours); positive: the broker journaled shares out that no release accounts for (held for operations).
    Kept apart from unmatched_journal so that a release waiting to leave and a mint's journal waiting to arrive
    cannot net to zero and hide each other from the reserve check."""
    return f"suspense:outgoing-journal:{account}:{symbol}"


def unclassified_activity(account: str, asset: str) -> str:
    """Counterparty of broker activities we have no rule for (REORG, SPIN, INT, CSD...), held for operations."""
    return f"suspense:broker-activity:{account}:{asset}"
