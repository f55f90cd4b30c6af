"""The PostgreSQL server-side function that records a step with user events in one round trip.

``polos_record_step`` does, in one transaction (the caller's, or the statement's own in autocommit
mode): the fencing-token check (locking the execution row), the advisory locks of the events'
topics (sorted, so two writers never deadlock), the step row, the event rows, and the wake-up of the
``wait_for_event`` waits on those topics.  It is PL/pgSQL on purpose: each statement of a volatile
function takes a fresh snapshot, so the waits are read *after* the topic locks are held — a waiter
that registered under the lock is either seen here or saw these events (a single CTE statement would
read the waits with the snapshot taken before the locks).

It returns one row per event (``'e'``, sequence id, topic, event type) and one per woken execution
(``'w'``, its priority, execution id, queue name, concurrency key, concurrency limit); no rows when
the fence refused the write.  Installed by migration ``0006_step_function``; ``0009`` replaced it
with the version that returns the woken execution's priority.
"""

from __future__ import annotations

from typing import Any

NAME = "polos_record_step"

CREATE = f"""
CREATE OR REPLACE FUNCTION {NAME}(
    p_execution_id text, p_token bigint, p_key text, p_kind text, p_status text, p_output text,
    p_error text, p_state text, p_project_id text, p_now timestamptz, p_now_iso text,
    p_topics text[], p_types text[], p_data text[], p_wakes boolean[]
) RETURNS TABLE (r_kind text, r_id bigint, r_a text, r_b text, r_c text, r_d integer)
LANGUAGE plpgsql VOLATILE AS $fn$
DECLARE
    t text;
    i integer;
    new_id bigint;
    first integer;
    ids bigint[] := '{{}}';
    wake_topics text[] := '{{}}';
    w record;
    q record;
BEGIN
    PERFORM 1 FROM polos_execution
        WHERE id = p_execution_id AND lease_token = p_token AND status = 'running'
          AND cancel_requested = false
        FOR NO KEY UPDATE;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    FOR t IN SELECT DISTINCT u FROM unnest(p_topics) AS u ORDER BY u LOOP
        PERFORM pg_advisory_xact_lock(hashtextextended(t, 0));
    END LOOP;
    INSERT INTO polos_step (execution_id, key, kind, status, output, error, state, created_at)
        VALUES (p_execution_id, p_key, p_kind, p_status, p_output, p_error, p_state, p_now);
    FOR i IN 1 .. coalesce(array_length(p_topics, 1), 0) LOOP
        INSERT INTO polos_event (project_id, topic, event_type, data, execution_id, created_at)
            VALUES (p_project_id, p_topics[i], p_types[i], p_data[i], p_execution_id, p_now)
            RETURNING id INTO new_id;
        ids := ids || new_id;
        IF p_wakes[i] THEN
            wake_topics := wake_topics || p_topics[i];
        END IF;
        r_kind := 'e'; r_id := new_id; r_a := p_topics[i]; r_b := p_types[i]; r_c := NULL; r_d := NULL;
        RETURN NEXT;
    END LOOP;
    IF cardinality(wake_topics) = 0 THEN
        RETURN;
    END IF;
    FOR w IN SELECT pw.id, pw.execution_id, pw.step_key, pw.after_sequence, pw.topic FROM polos_wait pw
             WHERE pw.kind = 'event' AND pw.topic = ANY (wake_topics) ORDER BY pw.id LOOP
        -- The first of these events (ids grow with i) on the wait's topic after its cursor.
        first := NULL;
        FOR i IN 1 .. cardinality(ids) LOOP
            IF p_wakes[i] AND p_topics[i] = w.topic AND ids[i] > w.after_sequence THEN
                first := i;
                EXIT;
            END IF;
        END LOOP;
        CONTINUE WHEN first IS NULL;
        DELETE FROM polos_wait WHERE id = w.id;
        CONTINUE WHEN NOT FOUND;
        INSERT INTO polos_step (execution_id, key, kind, status, output, error, state, created_at)
            VALUES (w.execution_id, w.step_key, 'wait_for_event', 'completed',
                    json_build_object('id', ids[first]::text, 'sequence_id', ids[first], 'topic', w.topic,
                                      'event_type', p_types[first], 'data', p_data[first]::json,
                                      'created_at', p_now_iso)::text,
                    NULL, NULL, p_now)
            ON CONFLICT DO NOTHING;
        UPDATE polos_execution SET status = 'queued', rung_at = p_now
            WHERE id = w.execution_id AND status = 'waiting'
            RETURNING queue_name, concurrency_key, concurrency_limit, priority INTO q;
        IF FOUND THEN
            r_kind := 'w'; r_id := q.priority; r_a := w.execution_id; r_b := q.queue_name;
            r_c := q.concurrency_key; r_d := q.concurrency_limit;
            RETURN NEXT;
        END IF;
    END LOOP;
END
$fn$;
"""

_ARGS = "text, bigint, text, text, text, text, text, text, text, timestamptz, text, text[], text[], text[], boolean[]"
DROP = f"DROP FUNCTION IF EXISTS {NAME}({_ARGS});"


def install(apps: Any, schema_editor: Any) -> None:
    """Migration step: create the function (PostgreSQL only; SQLite records steps in Python)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def uninstall(apps: Any, schema_editor: Any) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)
