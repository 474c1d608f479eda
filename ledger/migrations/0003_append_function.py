"""The whole append of a few events in one server-side call: lock, idempotency lookup, version checks,
hash chain, inserts, core projections. The append lock is then held only while PostgreSQL works (plus the
commit), never across a client round trip, which raises the ceiling on appends per second for all writers
together. The client sends the events as one JSON document (cheaper to encode than a dozen arrays), each with its
canonical document in three pre-encoded parts around the fields only known under the lock (position, prev_hash, recorded_at, version, and effective_at when it
defaults to recorded_at); ledger/canonical.py and tools/verify_export.py compute the same hash, and the
tests verify events written this way with both.
"""
from django.db import migrations

FORWARD = r"""
CREATE FUNCTION ledger_append_small(p_events jsonb, p_legs jsonb, p_metadata text, p_scope text, p_key text,
                                    p_request_hash text, p_projections text[])
RETURNS TABLE (first_position bigint, first_prev_hash text, recorded_at timestamptz, versions int[], hashes text[],
               earlier jsonb)
LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head_pos bigint; head_hash text; head_rec timestamptz;
    rec timestamptz; rec_text text; eff_text text;
    pos bigint; prev text; v int; h text; stream text; ev jsonb;
    stream_versions jsonb := '{}';
    out_positions bigint[] := '{}'; out_versions int[] := '{}'; out_hashes text[] := '{}';
    out_prev text[] := '{}'; out_eff timestamptz[] := '{}';
    earlier_row record;
BEGIN
    PERFORM ledger_append_lock();
    IF p_key IS NOT NULL THEN
        SELECT r.request_hash, r.result INTO earlier_row FROM ledger_idempotency r
         WHERE r.scope = p_scope AND r.key = p_key;
        IF FOUND THEN
            RETURN QUERY SELECT NULL::bigint, NULL::text, NULL::timestamptz, NULL::int[], NULL::text[],
                jsonb_build_object('request_hash', earlier_row.request_hash, 'result', earlier_row.result);
            RETURN;
        END IF;
    END IF;
    SELECT e.position, e.hash, e.recorded_at INTO head_pos, head_hash, head_rec
      FROM ledger_event e ORDER BY e.position DESC LIMIT 1;
    rec := greatest(clock_timestamp(), head_rec);  -- never goes backwards along positions
    rec_text := to_char(rec AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"');
    pos := coalesce(head_pos, 0);
    prev := coalesce(head_hash, repeat('0', 64));
    FOR ev IN SELECT value FROM jsonb_array_elements(p_events) WITH ORDINALITY ORDER BY ordinality LOOP
        stream := (ev ->> 'stream_type') || '/' || (ev ->> 'stream_id');
        IF stream_versions ? stream THEN
            v := (stream_versions ->> stream)::int;
        ELSE
            SELECT coalesce(max(e.version), 0) INTO v FROM ledger_event e
             WHERE e.stream_type = ev ->> 'stream_type' AND e.stream_id = ev ->> 'stream_id';
            IF ev ->> 'expected_version' IS NOT NULL AND v <> (ev ->> 'expected_version')::int THEN
                RAISE EXCEPTION 'stream % is at version %, caller expected %', stream, v, ev ->> 'expected_version'
                    USING ERRCODE = 'SL409', DETAIL = json_build_object('stream', stream, 'actual', v)::text;
            END IF;
        END IF;
        v := v + 1;
        stream_versions := stream_versions || jsonb_build_object(stream, v);
        pos := pos + 1;
        eff_text := coalesce(ev ->> 'effective_at', rec_text);
        h := encode(sha256(convert_to(
                 '{"effective_at":"' || eff_text || (ev ->> 'doc_head') || pos || (ev ->> 'doc_mid') || prev
                 || '","recorded_at":"' || rec_text || '"' || (ev ->> 'doc_tail') || v || '}', 'UTF8')), 'hex');
        out_positions := out_positions || pos;
        out_versions := out_versions || v;
        out_prev := out_prev || prev;
        out_hashes := out_hashes || h;
        out_eff := out_eff || coalesce((ev ->> 'effective_at')::timestamptz, rec);
        prev := h;
    END LOOP;

    INSERT INTO ledger_event (position, stream_type, stream_id, version, event_type, schema_version, payload,
                              metadata, recorded_at, effective_at, prev_hash, hash)
    SELECT out_positions[e.ord], e.value ->> 'stream_type', e.value ->> 'stream_id', out_versions[e.ord],
           e.value ->> 'event_type', (e.value ->> 'schema_version')::smallint, (e.value ->> 'payload')::jsonb,
           p_metadata::jsonb, rec, out_eff[e.ord], out_prev[e.ord], out_hashes[e.ord]
      FROM jsonb_array_elements(p_events) WITH ORDINALITY AS e(value, ord);
    IF jsonb_array_length(p_legs) > 0 THEN
        INSERT INTO ledger_posting (event_position, seq, account, asset, amount, effective_at, recorded_at)
        SELECT out_positions[l.ev], l.seq, l.account, l.asset, l.amount, out_eff[l.ev], rec
          FROM jsonb_to_recordset(p_legs) AS l(ev int, seq int, account text, asset text, amount numeric);
    END IF;
    PERFORM ledger_project_core(coalesce(head_pos, 0) + 1, pos, p_projections);
    IF p_key IS NOT NULL THEN
        INSERT INTO ledger_idempotency (scope, key, request_hash, result, created_at)
        VALUES (p_scope, p_key, p_request_hash,
                jsonb_build_object('first_position', coalesce(head_pos, 0) + 1, 'last_position', pos,
                                   'stream_versions', stream_versions),
                rec);
    END IF;
    RETURN QUERY SELECT coalesce(head_pos, 0) + 1, out_prev[1], rec, out_versions, out_hashes, NULL::jsonb;
END;
$$;

-- Core projections over positions [p_first, p_last]: balance per account and asset, head of each stream,
-- checkpoints. The append path and rebuild_projections both use it.
CREATE FUNCTION ledger_project_core(p_first bigint, p_last bigint, p_projections text[]) RETURNS void
LANGUAGE plpgsql VOLATILE AS $$  -- plpgsql, not sql: its statement plans are cached per session
BEGIN
    INSERT INTO ledger_account_balance (account, asset, balance, last_position)
    SELECT account, asset, sum(amount), max(event_position) FROM ledger_posting
     WHERE event_position BETWEEN p_first AND p_last
     GROUP BY account, asset
    ON CONFLICT (account, asset) DO UPDATE
       SET balance = ledger_account_balance.balance + EXCLUDED.balance, last_position = EXCLUDED.last_position;
    INSERT INTO ledger_stream_state (stream_type, stream_id, version, last_position, last_event_type, updated_at)
    SELECT DISTINCT ON (stream_type, stream_id) stream_type, stream_id, version, position, event_type, recorded_at
      FROM ledger_event WHERE position BETWEEN p_first AND p_last
     ORDER BY stream_type, stream_id, version DESC
    ON CONFLICT (stream_type, stream_id) DO UPDATE
       SET version = EXCLUDED.version, last_position = EXCLUDED.last_position,
           last_event_type = EXCLUDED.last_event_type, updated_at = EXCLUDED.updated_at;
    INSERT INTO ledger_projection_checkpoint (name, position)
    SELECT unnest(p_projections), p_last
    ON CONFLICT (name) DO UPDATE SET position = EXCLUDED.position;
END;
$$;
"""

REVERSE = r"""
DROP FUNCTION ledger_append_small(jsonb, jsonb, text, text, text, text, text[]);
DROP FUNCTION ledger_project_core(bigint, bigint, text[]);
"""


class Migration(migrations.Migration):
    dependencies = [("ledger", "0002_database_invariants")]
    operations = [migrations.RunSQL(FORWARD, REVERSE)]
