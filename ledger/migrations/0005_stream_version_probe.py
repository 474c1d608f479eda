"""A stream's version is read by one backward index probe, whatever the stream's length and the statistics.

`max(version) ... WHERE stream_type = ? AND stream_id = ?` is only turned into "the last index entry" when
the planner expects many rows; on a table it never analyzed it expected one and aggregated the whole
stream instead: a stream with 12,000 events cost 8 ms per append (auto_explain: Index Only Scan, rows=12002,
Heap Fetches: 12002), growing with every event. Long-lived streams are real here (a signer's nonces, the
chain watcher's cursor, a custody account), so both append paths now say what they mean: ORDER BY version
DESC LIMIT 1. The functions are otherwise unchanged: they are taken from the migrations that created them.
"""
import importlib

from django.db import migrations

invariants = importlib.import_module("ledger.migrations.0002_database_invariants")
plan_independent = importlib.import_module("ledger.migrations.0004_plan_independent_append")

SMALL_BEFORE = """            SELECT coalesce(max(e.version), 0) INTO v FROM ledger_event e
             WHERE e.stream_type = ev ->> 'stream_type' AND e.stream_id = ev ->> 'stream_id';"""
SMALL_AFTER = """            v := coalesce((SELECT e.version FROM ledger_event e
                            WHERE e.stream_type = ev ->> 'stream_type' AND e.stream_id = ev ->> 'stream_id'
                            ORDER BY e.version DESC LIMIT 1), 0);"""
BEGIN_BEFORE = """                       (SELECT coalesce(max(e.version), 0) FROM ledger_event e
                         WHERE e.stream_type = s.t AND e.stream_id = s.i)), '{}'::jsonb)"""
BEGIN_AFTER = """                       coalesce((SELECT e.version FROM ledger_event e
                                  WHERE e.stream_type = s.t AND e.stream_id = s.i
                                  ORDER BY e.version DESC LIMIT 1), 0)), '{}'::jsonb)"""


def _function(sql: str, name: str) -> str:
    """The statement creating function `name` in an earlier migration's SQL, as CREATE OR REPLACE."""
    start = sql.index(f"FUNCTION {name}(")
    start = sql.rindex("CREATE", 0, start)
    body = sql.index("$$", sql.index("AS $$", start) + 5)
    text = sql[start:sql.index("$$;", body) + 3]
    return text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


def _replaced(function_sql: str, before: str, after: str) -> str:
    assert function_sql.count(before) == 1, "the statement to replace is not in the earlier migration"
    return function_sql.replace(before, after)


OLD_SMALL = _function(plan_independent.FORWARD, "ledger_append_small")
OLD_BEGIN = _function(invariants.FORWARD, "ledger_begin_append")
FORWARD = _replaced(OLD_SMALL, SMALL_BEFORE, SMALL_AFTER) + "\n" + _replaced(OLD_BEGIN, BEGIN_BEFORE, BEGIN_AFTER)
REVERSE = OLD_SMALL + "\n" + OLD_BEGIN


class Migration(migrations.Migration):
    dependencies = [("ledger", "0004_plan_independent_append")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
