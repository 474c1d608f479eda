"""A batch append spends less of its time under the lock on streams.

Measured per 5,000 events on 5,000 new streams (docs/performance.md, fifth session):
- `ledger_begin_append` took the streams as two text arrays, which the driver builds element by element,
  and answered a version for every stream, 0 for the new ones. It now takes one JSON array and answers only
  the streams that exist (a stream not in the answer is new): 19 -> 9 ms.
- `ledger_project_core` upserted every stream head with ON CONFLICT, whose speculative insertion costs a
  third more than a plain insert. A stream whose first event lies in the range projected cannot have a head
  yet (appends hold the lock; a rebuild empties the table first), so those heads are plainly inserted and
  only the others upserted: 32 -> 24 ms.
Both keep their plans whatever the statistics: each stream's version is one backward probe of the
(type, id, version) index behind LIMIT 1, which the planner cannot turn into a join.
"""
import importlib

from django.db import migrations

invariants = importlib.import_module("ledger.migrations.0002_database_invariants")
append_function = importlib.import_module("ledger.migrations.0003_append_function")
version_probe = importlib.import_module("ledger.migrations.0005_stream_version_probe")

FORWARD = r"""
DROP FUNCTION ledger_begin_append(text[], text[], text, text);

-- Take the lock, then read (in a fresh snapshot, after the lock) everything an append needs: the clock,
-- the chain head, the version of each stream written that exists ("type/id" -> version; a stream missing
-- from the answer is new), and an earlier result for the idempotency key. One round trip instead of four.
CREATE FUNCTION ledger_begin_append(p_streams jsonb, p_scope text, p_key text)
RETURNS TABLE (clock timestamptz, head_position bigint, head_hash text, head_recorded_at timestamptz,
               versions jsonb, earlier jsonb)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM ledger_append_lock();
    RETURN QUERY
    SELECT clock_timestamp(), h.position, h.hash::text, h.recorded_at,
           (SELECT coalesce(jsonb_object_agg((s.value ->> 0) || '/' || (s.value ->> 1), v.version), '{}'::jsonb)
              FROM jsonb_array_elements(p_streams) AS s
             CROSS JOIN LATERAL (SELECT e.version FROM ledger_event e
                                  WHERE e.stream_type = s.value ->> 0 AND e.stream_id = s.value ->> 1
                                  ORDER BY e.version DESC LIMIT 1) v),
           (SELECT jsonb_build_object('request_hash', r.request_hash, 'result', r.result)
              FROM ledger_idempotency r WHERE r.scope = p_scope AND r.key = p_key)
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (SELECT e.position, e.hash, e.recorded_at FROM ledger_event e
                          ORDER BY e.position DESC LIMIT 1) h ON true;
END;
$$;

-- Core projections over positions [p_first, p_last]: balance per account and asset, head of each stream,
-- checkpoints. The batch append and rebuild_projections both use it.
CREATE OR REPLACE FUNCTION ledger_project_core(p_first bigint, p_last bigint, p_projections text[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$  -- plpgsql, not sql: its statement plans are cached per session
BEGIN
    INSERT INTO ledger_account_balance (account, asset, balance, last_position)
    SELECT account, asset, sum(amount), max(event_position) FROM ledger_posting
     WHERE event_position BETWEEN p_first AND p_last
     GROUP BY account, asset
    ON CONFLICT (account, asset) DO UPDATE
       SET balance = ledger_account_balance.balance + EXCLUDED.balance, last_position = EXCLUDED.last_position;
    -- A stream whose versions in the range start at 1 (its last version equals its number of events here)
    -- began in the range: it has no head yet, so a plain insert. Only the others can conflict.
    WITH heads AS MATERIALIZED (
        SELECT DISTINCT ON (stream_type, stream_id) stream_type, stream_id, version, position, event_type,
               recorded_at, count(*) OVER (PARTITION BY stream_type, stream_id) AS events_in_range
          FROM ledger_event WHERE position BETWEEN p_first AND p_last
         ORDER BY stream_type, stream_id, version DESC
    ), new_streams AS (
        INSERT INTO ledger_stream_state (stream_type, stream_id, version, last_position, last_event_type, updated_at)
        SELECT stream_type, stream_id, version, position, event_type, recorded_at FROM heads
         WHERE version = events_in_range
    )
    INSERT INTO ledger_stream_state (stream_type, stream_id, version, last_position, last_event_type, updated_at)
    SELECT stream_type, stream_id, version, position, event_type, recorded_at FROM heads
     WHERE version > events_in_range
    ON CONFLICT (stream_type, stream_id) DO UPDATE
       SET version = EXCLUDED.version, last_position = EXCLUDED.last_position,
           last_event_type = EXCLUDED.last_event_type, updated_at = EXCLUDED.updated_at;
    INSERT INTO ledger_projection_checkpoint (name, position)
    SELECT unnest(p_projections), p_last
    ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position;
END;
$$;
"""


def _old_project_core() -> str:
    """Migration 0003's ledger_project_core, as CREATE OR REPLACE."""
    sql = append_function.FORWARD
    start = sql.index("CREATE FUNCTION ledger_project_core(")
    text = sql[start:sql.index("$$;", sql.index("AS $$", start) + 5) + 3]
    return text.replace("CREATE FUNCTION", "CREATE OR REPLACE FUNCTION", 1)


REVERSE = (
    "DROP FUNCTION ledger_begin_append(jsonb, text, text);\n"
    + version_probe._replaced(version_probe.OLD_BEGIN, version_probe.BEGIN_BEFORE, version_probe.BEGIN_AFTER)
    + "\n" + _old_project_core()
)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_set_based_posting_check")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
