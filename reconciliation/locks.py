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
                    raise RunAlreadyInProgress(_holder(key, shared))
                held.append((release, params))
        yield
    finally:
        with connection.cursor() as cursor:
            for release, params in reversed(held):
                cursor.execute(release, params)


def _holder(key: str, shared: bool) -> str:
    """Which run holds the lock we could not take: "all" taken exclusively fails for a full run and for any
    partial run alike, and a caller deciding whether to wait needs to know which."""
    if key != "all":
        return f"a reconciliation covering {key} is already running"
    if shared or full_run_running():
        return "a reconciliation covering all instruments is already running"
    return "a reconciliation of some instruments is already running; a run of all instruments must wait for it"


def full_run_running() -> bool:
    """Whether a run over all instruments holds its lock now: only its exclusive hold refuses a shared one."""
    take, release, params = _lock_sql("all", shared=True)
    with connection.cursor() as cursor:
        cursor.execute(take, params)
        if not cursor.fetchone()[0]:
            return True
        cursor.execute(release, params)
    return False


def check_scope_free(symbols: Sequence[str] | None) -> None:
    """RunAlreadyInProgress if a run of an overlapping scope is running now (for callers that enqueue a run)."""
    with scope_lock(symbols):
        pass
