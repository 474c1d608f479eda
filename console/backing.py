"""Shares in custody vs tokens outstanding per instrument, now and at the end of each past day.

Both come from ledger balances (docs/chart-of-accounts.md): shares in custody are `custody:<account>:<SYM>`,
tokens outstanding are minus `chain:<network>:<SYM>:supply` (in share equivalents). Current values come from
the balance projection, and the current ratio counts only the shares free to back tokens: custody less the
shares owed back to partners, released and leaving, or journaled in and claimed by no request (issuance's
shares_not_backing, the reserve check's rule). The end-of-day history is current minus what moved after each day, reading only the
postings of the charted window through the (account, asset, effective_at) index.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Q

from issuance.services import shares_not_backing
from ledger.balances import EARLY, last_position_recorded_by
from ledger.canonical import normalize_decimal
from ledger.models import AccountBalance

RATIO_PLACES = Decimal("0.0001")


@dataclass(frozen=True)
class Backing:
    symbol: str
    shares_in_custody: Decimal
    tokens_outstanding: Decimal
    shares_not_backing: Decimal  # in custody, but owed back, leaving or unclaimed

    @property
    def shares_free(self) -> Decimal:
        return normalize_decimal(self.shares_in_custody - self.shares_not_backing)

    @property
    def backing_ratio(self) -> Decimal | None:
        """Free shares per token outstanding; None while no token is outstanding."""
        if self.tokens_outstanding == 0:
            return None
        return (self.shares_free / self.tokens_outstanding).quantize(RATIO_PLACES)

    @property
    def under_backed(self) -> bool:
        return self.tokens_outstanding > self.shares_free


@dataclass(frozen=True)
class DailyBacking:
    day: date
    shares_in_custody: Decimal
    tokens_outstanding: Decimal


@dataclass(frozen=True)
class _Accounts:
    custody: dict[str, Decimal]  # account -> current balance
    supply: dict[str, Decimal]


def symbol_of(account: str, asset: str) -> tuple[str, str] | None:
    """("custody" | "supply", symbol) when the account holds shares of `asset` or its token supply."""
    parts = account.split(":")
    if len(parts) == 3 and parts[0] == "custody" and parts[2] == asset:
        return "custody", asset
    if len(parts) == 4 and parts[0] == "chain" and parts[2] == asset and parts[3] == "supply":
        return "supply", asset
    return None


def _accounts_by_symbol(symbol: str | None = None) -> dict[str, _Accounts]:
    rows = AccountBalance.objects.filter(Q(account__startswith="custody:") | Q(account__startswith="chain:", account__endswith=":supply"))
    if symbol is not None:
        rows = rows.filter(asset=symbol)
    found: dict[str, _Accounts] = defaultdict(lambda: _Accounts({}, {}))
    for account, asset, balance in rows.values_list("account", "asset", "balance"):
        kind = symbol_of(account, asset)
        if kind is not None:
            accounts = found[asset]
            (accounts.custody if kind[0] == "custody" else accounts.supply)[account] = normalize_decimal(balance)
    return dict(found)


def current_backing(symbols: list[str]) -> list[Backing]:
    """One row per symbol in `symbols` and per symbol with custody or supply accounts, sorted by symbol."""
    accounts = _accounts_by_symbol()
    rows = []
    for symbol in sorted(set(symbols) | set(accounts)):
        held = accounts.get(symbol, _Accounts({}, {}))
        rows.append(Backing(symbol, _total(held.custody.values()), -_total(held.supply.values()),
                            shares_not_backing(symbol)))
    return rows


def daily_backing(symbol: str, days: int, *, today: date | None = None) -> list[DailyBacking]:
    """Balances as of the end (UTC) of each of the last `days` days, oldest first."""
    today = today or datetime.now(UTC).date()
    first_day = today - timedelta(days=days - 1)
    held = _accounts_by_symbol(symbol).get(symbol, _Accounts({}, {}))
    accounts = [*held.custody, *held.supply]
    moved: dict[date, list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])  # day -> [custody, supply]
    if accounts:
        since = datetime.combine(first_day + timedelta(days=1), time.min, tzinfo=UTC)
        recorded_before = last_position_recorded_by(since - timedelta(microseconds=1))
        with connection.cursor() as cursor:
            # Legs effective since then were recorded since then (above that position), or are the rare legs
            # recorded before they took effect: both reached by index, never the accounts' whole history.
            cursor.execute(
                f"""
                SELECT (effective_at AT TIME ZONE 'UTC')::date, account LIKE 'custody:%%', sum(amount)
                  FROM (SELECT effective_at, account, amount FROM ledger_posting
                         WHERE account = ANY(%(accounts)s) AND asset = %(asset)s
                           AND event_position > %(before)s AND effective_at >= %(since)s
                        UNION ALL
                        SELECT effective_at, account, amount FROM ledger_posting
                         WHERE account = ANY(%(accounts)s) AND asset = %(asset)s AND {EARLY}
                           AND event_position <= %(before)s AND effective_at >= %(since)s) AS legs
                 GROUP BY 1, 2
                """,
                {"accounts": accounts, "asset": symbol, "since": since, "before": recorded_before},
            )
            for day, is_custody, amount in cursor.fetchall():
                moved[day][0 if is_custody else 1] += amount
    custody = _total(held.custody.values()) - sum((m[0] for d, m in moved.items() if d > today), Decimal(0))
    supply = _total(held.supply.values()) - sum((m[1] for d, m in moved.items() if d > today), Decimal(0))
    series = []
    for offset in range(days):
        day = today - timedelta(days=offset)
        series.append(DailyBacking(day, normalize_decimal(custody), normalize_decimal(-supply)))
        custody -= moved[day][0] if day in moved else 0
        supply -= moved[day][1] if day in moved else 0
    series.reverse()
    return series


def _total(amounts) -> Decimal:
    return normalize_decimal(sum(amounts, Decimal(0)))
