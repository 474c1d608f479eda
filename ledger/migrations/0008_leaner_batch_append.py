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
(type, id, version) index behind LIMIT 1, which the planner cannot turn into a join. Each function is the
earlier migration's text with one part replaced (below), so this file reads as the change.
"""
import importlib

from django.db import migrations

append_function = importlib.import_module("ledger.migrations.0003_append_function")
version_probe = importlib.import_module("ledger.migrations.0005_stream_version_probe")

ARRAYS_SIGNATURE = "ledger_begin_append(p_stream_types text[], p_stream_ids text[], p_scope text, p_key text)"
JSON_SIGNATURE = "ledger_begin_append(p_streams jsonb, p_scope text, p_key text)"
EVERY_STREAM = """           (SELECT coalesce(jsonb_object_agg(s.t || '/' || s.i,
""" + version_probe.BEGIN_AFTER + """
              FROM unnest(p_stream_types, p_stream_ids) AS s(t, i)),"""
EXISTING_STREAMS = """           -- only the streams that exist: one missing from the answer is new
           (SELECT coalesce(jsonb_object_agg((s.value ->> 0) || '/' || (s.value ->> 1), v.version), '{}'::jsonb)
              FROM jsonb_array_elements(p_streams) AS s
             CROSS JOIN LATERAL (SELECT e.version FROM ledger_event e
                                  WHERE e.stream_type = s.value ->> 0 AND e.stream_id = s.value ->> 1
                                  ORDER BY e.version DESC LIMIT 1) v),"""

UPSERT_HEADS = """    INSERT INTO ledger_stream_state (stream_type, stream_id, version, last_position, last_event_type, updated_at)
    SELECT DISTINCT ON (stream_type, stream_id) stream_type, stream_id, version, position, event_type, recorded_at
      FROM ledger_event WHERE position BETWEEN p_first AND p_last
     ORDER BY stream_type, stream_id, version DESC
    ON CONFLICT (stream_type, stream_id) DO UPDATE"""
INSERT_NEW_UPSERT_CONTINUED = """    -- A stream whose last version in the range equals its number of events there began in the range: it
    -- has no head yet, so a plain insert. Only the others can conflict.
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
    ON CONFLICT (stream_type, stream_id) DO UPDATE"""

ARRAYS_BEGIN = version_probe._replaced(version_probe.OLD_BEGIN, version_probe.BEGIN_BEFORE, version_probe.BEGIN_AFTER)
JSON_BEGIN = version_probe._replaced(
    version_probe._replaced(ARRAYS_BEGIN, ARRAYS_SIGNATURE, JSON_SIGNATURE), EVERY_STREAM, EXISTING_STREAMS)
OLD_PROJECT_CORE = version_probe._function(append_function.FORWARD, "ledger_project_core")
NEW_PROJECT_CORE = version_probe._replaced(OLD_PROJECT_CORE, UPSERT_HEADS, INSERT_NEW_UPSERT_CONTINUED)

FORWARD = "\n".join(["DROP FUNCTION ledger_begin_append(text[], text[], text, text);", JSON_BEGIN, NEW_PROJECT_CORE])
REVERSE = "\n".join(["DROP FUNCTION ledger_begin_append(jsonb, text, text);", ARRAYS_BEGIN, OLD_PROJECT_CORE])


class Migration(migrations.Migration):
    dependencies = [("ledger", "0007_set_based_posting_check")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
