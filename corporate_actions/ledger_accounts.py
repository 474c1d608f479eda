"""Ledger account paths this app posts to (docs/chart-of-accounts.md).

The receivable is the one custody books the broker's DIV activity to (named by pay date, since Alpaca's
activities carry no corporate action id). Fees, carried and forfeited amounts are not in the chart yet:
    dividends:fees:<SYM>:<action_id>                  fees charged on a dividend's payouts (issuer income)
    dividends:carried:<SYM>:<network>:<address>       below-minimum payouts kept for the holder's next dividend
    dividends:forfeited:<SYM>:<action_id>             below-minimum payouts forfeited to the issuer
"""
from __future__ import annotations

from datetime import date


def receivable(symbol: str, pay_date: date) -> str:
    return f"dividends:receivable:{symbol}:{pay_date.isoformat()}"


def receivable_prefix(symbol: str) -> str:
    return f"dividends:receivable:{symbol}:"


def payable(symbol: str, action_id: str) -> str:
    return f"dividends:payable:{symbol}:{action_id}"


def paid(symbol: str, action_id: str) -> str:
    return f"dividends:paid:{symbol}:{action_id}"


def tax_withheld(country: str) -> str:
    return f"tax:withheld:{country}"


def fees(symbol: str, action_id: str) -> str:
    return f"dividends:fees:{symbol}:{action_id}"


def carried(symbol: str, network: str, address: str) -> str:
    return f"dividends:carried:{symbol}:{network}:{address}"


def carried_prefix(symbol: str) -> str:
    return f"dividends:carried:{symbol}:"


def forfeited(symbol: str, action_id: str) -> str:
    return f"dividends:forfeited:{symbol}:{action_id}"


def residue(symbol: str) -> str:
    return f"dividends:residue:{symbol}"


def corporate_action(action_id: str, symbol: str) -> str:
    """Counterparty of share count changes from a split (custody and token supply) and of reinvested shares."""
    return f"corporate-actions:{action_id}:{symbol}"


def broker_split(symbol: str, booked_on: date) -> str:
    """Where custody books the broker's SPLIT activity (custody/ledger_accounts.split_counterparty)."""
    return f"corporate-actions:split-{booked_on.isoformat()}:{symbol}"


def custody_shares(account: str, symbol: str) -> str:
    return f"custody:{account}:{symbol}"


def custody_cash(account: str, currency: str) -> str:
    return f"custody:{account}:cash:{currency}"


def market(account: str, symbol: str) -> str:
    return f"market:{account}:{symbol}"


def supply(network: str, symbol: str) -> str:
    return f"chain:{network}:{symbol}:supply"
