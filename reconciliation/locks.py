"""Two runs never overlap: a PostgreSQL advisory lock per scope, taken with try-lock (never waiting).

A run over all instruments holds the "all" lock exclusively. A run over some instruments holds "all" shared
and each of its instruments exclusively, so it excludes a full run and any run sharing an instrument, while
runs over disjoint instruments proceed side by side. Session-level locks on the run's own connection: they
are released in `finally`, or by PostgreSQL when the process dies.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection

from .errors import RunAlreadyInProgress

NAMESPACE = "reconciliation.run:"


def _lock_sql(key: str, shared: bool) -> tuple[str, str, list[str]]:
    suffix = "_shared" if shared else ""
    return (f"SELECT pg_try_advisory_lock{suffix}(hashtextextended(%s, 0))",
            f"SELECT pg_advisory_unlock{suffix}(hashtextextended(%s, 0))", [NAMESPACE + key])


def _scope_locks(symbols: Sequence[str] | None) -> list[tuple[str, bool]]:
    if symbols is None:
        return [("all", False)]
    return [("all", True), *((symbol, False) for symbol in sorted(set(symbols)))]


@contextmanager
def scope_lock(symbols: Sequence[str] | None) -> Iterator[None]:
    """Hold the scope's locks for the block; RunAlreadyInProgress at once if an overlapping run holds one."""
    held: list[tuple[str, list[str]]] = []
    try:
        with connection.cursor() as cursor:
            for key, shared in _scope_locks(symbols):
                take, release, params = _lock_sql(key, shared)
                cursor.execute(take, params)
                if not cursor.fetchone()[0]:
                    what = "all instruments" if key == "all" else key
                    raise RunAlreadyInProgress(f"a reconciliation covering {what} is already running")
                held.append((release, params))
        yield
    finally:
        with connection.cursor() as cursor:
            for release, params in reversed(held):
                cursor.execute(release, params)


def check_scope_free(symbols: Sequence[str] | None) -> None:
    """RunAlreadyInProgress if a run of an overlapping scope is running now (for callers that enqueue a run)."""
    with scope_lock(symbols):
        pass
