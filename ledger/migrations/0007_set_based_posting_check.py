"""The postings trigger checks a statement's events in one query instead of one probe per event.

Migration 0004 made the check "every new leg belongs to an existing event and carries its times" a plpgsql
loop: one primary-key probe per event, the same plan whatever the statistics. Each probe is a statement of
its own, so a 5,000-event batch paid 5,000 executor start-ups: 26 ms of a 10,000-leg COPY that takes 57 ms
with no trigger at all (median of 9, never-analyzed tables, docs/performance.md). Now one query probes each
event through a scalar sub-select on the primary key. The planner cannot turn a scalar sub-select into a
join, so the plan stays the same whatever the statistics (a join could become a scan of the whole log on a
table never analyzed): 10 ms instead of 26. The balance check and the error messages are unchanged: the
function is migration 0004's with the loop replaced.
"""
import importlib

from django.db import migrations

plan_independent = importlib.import_module("ledger.migrations.0004_plan_independent_append")
version_probe = importlib.import_module("ledger.migrations.0005_stream_version_probe")

LOOP_DECLARE = """    ev record;
    bad record;"""
QUERY_DECLARE = """    orphan bigint;
    bad record;"""
QUERY_CHECK = """    SELECT g.event_position INTO orphan
      FROM (SELECT np.event_position, min(np.effective_at) AS eff_lo, max(np.effective_at) AS eff_hi,
                   min(np.recorded_at) AS rec_lo, max(np.recorded_at) AS rec_hi
              FROM new_postings np GROUP BY np.event_position) g
     WHERE (SELECT e.effective_at = g.eff_lo AND e.effective_at = g.eff_hi
                   AND e.recorded_at = g.rec_lo AND e.recorded_at = g.rec_hi
              FROM ledger_event e WHERE e.position = g.event_position) IS NOT TRUE  -- NULL: no such event
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting for event % has no such event or differs from its times', orphan
            USING ERRCODE = 'foreign_key_violation';
    END IF;"""

LOOP_TRIGGER = version_probe._function(plan_independent.FORWARD, "ledger_postings_balanced")
# The loop, from its FOR to its END LOOP, as migration 0004 wrote it.
LOOP_CHECK = LOOP_TRIGGER[LOOP_TRIGGER.index("    FOR ev IN"):LOOP_TRIGGER.index("    END LOOP;") + len("    END LOOP;")]
FORWARD = version_probe._replaced(version_probe._replaced(LOOP_TRIGGER, LOOP_DECLARE, QUERY_DECLARE),
                                  LOOP_CHECK, QUERY_CHECK)


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_balance_snapshots")]
    operations = [migrations.RunSQL(FORWARD, LOOP_TRIGGER)]
