"""Invariants PostgreSQL enforces by itself, whatever client writes: immutability of events, postings and
idempotency records, zero-sum postings per event and asset, postings that belong to their event; plus
the single append lock and the function that takes it and reads the chain head in one round trip.

The balance check is a statement-level AFTER INSERT trigger with a transition table rather than a deferred
per-row constraint trigger: a per-row trigger runs one aggregate query per posting at commit, which costs
more than the whole batch append. It requires the legs inserted by each statement to balance per event and
asset, which implies every event balances in total; a lone unbalanced leg inserted by hand is refused.
"""
from django.db import migrations

FORWARD = r"""
CREATE FUNCTION ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger table % is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'Corrections are new events appended through ledger.store.append().';
END;
$$;

CREATE TRIGGER ledger_event_immutable BEFORE UPDATE OR DELETE ON ledger_event
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_event_no_truncate BEFORE TRUNCATE ON ledger_event
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_posting_immutable BEFORE UPDATE OR DELETE ON ledger_posting
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_posting_no_truncate BEFORE TRUNCATE ON ledger_posting
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_idempotency_immutable BEFORE UPDATE OR DELETE ON ledger_idempotency
    FOR EACH ROW EXECUTE FUNCTION ledger_refuse_change();
CREATE TRIGGER ledger_idempotency_no_truncate BEFORE TRUNCATE ON ledger_idempotency
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_refuse_change();

CREATE FUNCTION ledger_postings_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    bad record;
BEGIN
    -- Every new leg belongs to an existing event and carries that event's times (no FK: see models.py).
    -- LATERAL keeps this an index probe per leg: the transition table has no statistics to plan with.
    SELECT np.event_position INTO bad
      FROM new_postings np
      LEFT JOIN LATERAL (SELECT e.effective_at, e.recorded_at FROM ledger_event e
                          WHERE e.position = np.event_position) e ON true
     WHERE e.recorded_at IS NULL OR e.effective_at <> np.effective_at OR e.recorded_at <> np.recorded_at
     LIMIT 1;
    IF FOUND THEN
        RAISE EXCEPTION 'posting for event % has no such event or differs from its times', bad.event_position
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

CREATE TRIGGER ledger_posting_balanced AFTER INSERT ON ledger_posting
    REFERENCING NEW TABLE AS new_postings
    FOR EACH STATEMENT EXECUTE FUNCTION ledger_postings_balanced();

-- The single append lock. Held until commit, so positions are handed out in commit order and the hash
-- chain has one head. The key spells "SHLDGER1".
CREATE FUNCTION ledger_append_lock() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(6001130359608398385);  -- plpgsql: a volatile sql function is re-planned per call
END;
$$;

-- Take the lock, then read (in a fresh snapshot, after the lock) everything an append needs: the clock,
-- the chain head, the version of each stream written, and an earlier result for the idempotency key.
-- One round trip instead of four.
CREATE FUNCTION ledger_begin_append(p_stream_types text[], p_stream_ids text[], p_scope text, p_key text)
RETURNS TABLE (clock timestamptz, head_position bigint, head_hash text, head_recorded_at timestamptz,
               versions jsonb, earlier jsonb)
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    PERFORM ledger_append_lock();
    RETURN QUERY
    SELECT clock_timestamp(), h.position, h.hash::text, h.recorded_at,
           (SELECT coalesce(jsonb_object_agg(s.t || '/' || s.i,
                       (SELECT coalesce(max(e.version), 0) FROM ledger_event e
                         WHERE e.stream_type = s.t AND e.stream_id = s.i)), '{}'::jsonb)
              FROM unnest(p_stream_types, p_stream_ids) AS s(t, i)),
           (SELECT jsonb_build_object('request_hash', r.request_hash, 'result', r.result)
              FROM ledger_idempotency r WHERE r.scope = p_scope AND r.key = p_key)
      FROM (SELECT 1) AS one
      LEFT JOIN LATERAL (SELECT e.position, e.hash, e.recorded_at FROM ledger_event e
                          ORDER BY e.position DESC LIMIT 1) h ON true;
END;
$$;
"""

REVERSE = r"""
DROP FUNCTION ledger_begin_append(text[], text[], text, text);
DROP FUNCTION ledger_append_lock();
DROP TRIGGER ledger_posting_balanced ON ledger_posting;
DROP FUNCTION ledger_postings_balanced();
DROP TRIGGER ledger_idempotency_no_truncate ON ledger_idempotency;
DROP TRIGGER ledger_idempotency_immutable ON ledger_idempotency;
DROP TRIGGER ledger_posting_no_truncate ON ledger_posting;
DROP TRIGGER ledger_posting_immutable ON ledger_posting;
DROP TRIGGER ledger_event_no_truncate ON ledger_event;
DROP TRIGGER ledger_event_immutable ON ledger_event;
DROP FUNCTION ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
