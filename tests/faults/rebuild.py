"""Compare the live projection tables with what a rebuild from the log gives."""
from __future__ import annotations

from django.db import connection, transaction

from ledger import projections


class _RolledBack(Exception):
    pass


def projection_tables() -> dict[str, list[str]]:
    """Every projection row (the core balances and stream heads, and the tables of each app with a projector),
    without surrogate serial keys, which a rebuild hands out afresh."""
    from django.apps import apps
    from django.db.models import AutoField, BigAutoField

    from ledger.models import AccountBalance, StreamState

    models = [AccountBalance, StreamState]
    for name in projections.names()[len(projections.CORE):]:
        models += list(apps.get_app_config(name).get_models())
    snapshot = {}
    with connection.cursor() as cursor:
        for model in models:
            columns = [f.column for f in model._meta.concrete_fields if not isinstance(f, (AutoField, BigAutoField))]
            cursor.execute(f"SELECT {', '.join(columns)} FROM {model._meta.db_table}")
            snapshot[model._meta.db_table] = sorted(map(repr, cursor.fetchall()))
    return snapshot


def rebuilt_differs_from_live() -> list[str]:
    """Names of projection tables whose rebuilt rows differ from the live ones. The rebuild runs in a
    transaction that is rolled back, so committed read models are left exactly as they were."""
    differing: list[str] = []
    try:
        with transaction.atomic():
            live = projection_tables()
            projections.rebuild()
            rebuilt = projection_tables()
            differing = [table for table in live if live[table] != rebuilt[table]]
            raise _RolledBack
    except _RolledBack:
        pass
    return differing
