"""Invariants PostgreSQL enforces by itself, whatever client writes: immutability of events, postings and
idempotency records, and zero-sum postings per event and asset.

The balance check is a statement-level AFTER INSERT trigger with a transition table rather than a deferred
per-row constraint trigger: a per-row trigger runs one aggregate query per posting at commit, which costs
more than the whole batch append. The store inserts all legs of an event in one statement, so checking at
the end of each statement enforces the same rule; a lone unbalanced leg inserted by hand is refused.
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
    SELECT p.event_position, p.asset, sum(p.amount) AS total INTO bad
      FROM ledger_posting p
     WHERE p.event_position IN (SELECT DISTINCT event_position FROM new_postings)
     GROUP BY p.event_position, p.asset
    HAVING sum(p.amount) <> 0
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
"""

REVERSE = r"""
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
