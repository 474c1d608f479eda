"""The postings trigger checks a statement's events in one query instead of one probe per event.

Migration 0004 made the check "every new leg belongs to an existing event and carries its times" a plpgsql
loop: one primary-key probe per event, the same plan whatever the statistics. Each probe is a statement of
its own, so a 5,000-event batch paid 5,000 executor start-ups: 26 ms of a 10,000-leg COPY that takes 57 ms
with no trigger at all (median of 9, never-analyzed tables, docs/performance.md). Now one query probes each
event through a scalar sub-select on the primary key. The planner cannot turn a scalar sub-select into a
join, so the plan stays the same whatever the statistics (a join could become a scan of the whole log on a
table never analyzed): 10 ms instead of 26. The balance check and the error messages are unchanged.
"""
import importlib

from django.db import migrations

plan_independent = importlib.import_module("ledger.migrations.0004_plan_independent_append")

FORWARD = r"""
CREATE OR REPLACE FUNCTION ledger_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    orphan bigint;
    bad record;
BEGIN
    -- Every new leg belongs to an existing event and carries that event's times (no FK: see models.py).
    SELECT g.event_position INTO orphan
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
    END IF;
    -- Each statement's own legs must balance per event and asset; then every event balances in total,
    -- however many statements add to it, and no existing row needs to be read.
    SELECT np.event_position, np.asset, sum(np.amount) AS total INTO bad
      FROM new_postings np
     GROUP BY np.event_position, np.asset
    HAVING sum(np.amount) <> 0
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'postings of event % do not balance in %: they sum to %',
            bad.event_position, bad.asset, bad.total
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NULL;
END;
$$;
"""


def _loop_trigger() -> str:
    """Migration 0004's version of the trigger function, restored on the way back."""
    sql = plan_independent.FORWARD
    start = sql.index("CREATE OR REPLACE FUNCTION ledger_postings_balanced()")
    return sql[start:sql.index("$$;", sql.index("AS $$", start) + 5) + 3]


class Migration(migrations.Migration):
    dependencies = [("ledger", "0006_balance_snapshots")]
    operations = [migrations.RunSQL(FORWARD, _loop_trigger())]
