"""Balance reads: current (from the projection) and bi-temporal point-in-time (from postings).

`as_of` is valid time: "holdings on 2026-03-30" counts postings effective at or before it.
`known_at` is transaction time: "what the ledger said on 2026-03-31" ignores postings recorded later,
so corrections recorded afterwards do not rewrite what we knew then.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.db import connection

from .canonical import normalize_decimal
from .models import AccountBalance


def balance(account: str, asset: str, *, as_of: datetime | None = None, known_at: datetime | None = None) -> Decimal:
    if as_of is None and known_at is None:
        row = AccountBalance.objects.filter(account=account, asset=asset).values_list("balance", flat=True).first()
        return normalize_decimal(row) if row else Decimal(0)
    conditions = ["account = %s", "asset = %s"]
    params: list = [account, asset]
    if as_of is not None:
        conditions.append("effective_at <= %s")
        params.append(as_of)
    if known_at is not None:
        conditions.append("recorded_at <= %s")
        params.append(known_at)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(sum(amount), 0) FROM ledger_posting WHERE {' AND '.join(conditions)}", params)
        total = cursor.fetchone()[0]
    return normalize_decimal(total) if total else Decimal(0)


def balances_with_prefix(prefix: str, asset: str | None = None) -> dict[tuple[str, str], Decimal]:
    """Current balances of every account under a path prefix, e.g. "custody:alpaca-main:"."""
    rows = AccountBalance.objects.filter(account__startswith=prefix)
    if asset is not None:
        rows = rows.filter(asset=asset)
    return {(r.account, r.asset): normalize_decimal(r.balance) for r in rows if r.balance != 0}
