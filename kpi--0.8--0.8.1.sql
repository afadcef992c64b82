/* kpi--0.8--0.8.1.sql: release 0.8.1 of kpi.
 * - kpi.actual rows are locked (and created) period first, the order the
 *   0.8.1 library's trigger uses: reading one period of the scorecard
 *   touches that period's pages, whatever the years of history beside it.
 * - The PL/pgSQL trigger functions refuse a trigger they were not made for
 *   with SQLSTATE 39P01 (trigger_protocol_violated), as the C ones do,
 *   instead of the private code E0001. */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.8.1'" to load this file. \quit

-- kpi.alert_judge: as in 0.7, but the keys' kpi.actual rows are locked
-- period first (period, indicator, scope): the order in which the
-- trigger of the 0.8.1 library creates and locks them, so that an
-- evaluation and a writer cannot deadlock.
CREATE OR REPLACE FUNCTION kpi.alert_judge(ind bigint[], scp bigint[], per kpi.period[],
                                at timestamptz DEFAULT pg_catalog.now(), locked boolean DEFAULT false)
    RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    j record;
    a kpi.alert;
    n integer := 0;
    resolved_leads bigint[] := '{}';
    lead bigint;
BEGIN
    IF NOT locked THEN              -- (a writer holds its keys already)
        PERFORM FROM kpi.actual x
        JOIN ROWS FROM (pg_catalog.unnest(ind), pg_catalog.unnest(scp), pg_catalog.unnest(per)) AS u(i, s, p)
          ON x.indicator_id OPERATOR(pg_catalog.=) u.i AND x.scope_id OPERATOR(pg_catalog.=) u.s
         AND x.period OPERATOR(kpi.=) u.p
        ORDER BY x.period, x.indicator_id, x.scope_id
        FOR NO KEY UPDATE OF x;
    END IF;
    FOR j IN
        SELECT g.*, al AS alert
        FROM kpi.judgement(ind, scp, per, at) g
        LEFT JOIN kpi.alert al ON al.indicator_id OPERATOR(pg_catalog.=) g.indicator_id
                              AND al.scope_id OPERATOR(pg_catalog.=) g.scope_id
                              AND al.period OPERATOR(kpi.=) g.period
                              AND al.state OPERATOR(pg_catalog.<>) 'resolved'
        WHERE al.id IS NOT NULL OR (g.raise AND NOT g.silenced AND NOT g.dismissed)
        ORDER BY g.indicator_id, g.scope_id, g.period
    LOOP
        a := j.alert;
        -- nothing to change (the common case of a new measurement for a
        -- key that stays as bad): no lock, no write
        IF a.id IS NOT NULL AND j.kind IS NOT DISTINCT FROM a.kind AND j.hold
           AND j.severity OPERATOR(pg_catalog.=) a.severity AND j.basis IS NOT DISTINCT FROM a.basis THEN
            CONTINUE;
        END IF;
        IF a.id IS NOT NULL THEN
            SELECT * INTO a FROM kpi.alert x WHERE x.id OPERATOR(pg_catalog.=) a.id FOR UPDATE;
            IF a.state OPERATOR(pg_catalog.=) 'resolved' THEN
                a := NULL;
            ELSIF j.kind IS NOT DISTINCT FROM a.kind AND j.hold THEN
                -- still bad (or not recovered): follow the severity; the
                -- figures are those of the last change (a write per change
                -- of severity or basis, not per measurement)
                IF j.severity OPERATOR(pg_catalog.<>) a.severity OR j.basis IS DISTINCT FROM a.basis THEN
                    UPDATE kpi.alert x SET severity = j.severity, value = j.value, attainment = j.attainment,
                                           score = j.score, basis = j.basis, updated_at = at
                    WHERE x.id OPERATOR(pg_catalog.=) a.id;
                    IF j.severity OPERATOR(pg_catalog.<>) a.severity THEN
                        PERFORM kpi.alert_log(a.id, CASE WHEN j.severity OPERATOR(pg_catalog.<) a.severity
                                                         THEN 'worsen' ELSE 'improve' END, 'kpi');
                    END IF;
                END IF;
                CONTINUE;
            ELSE
                UPDATE kpi.alert x SET state = 'resolved', resolved_at = at, resolved_by = 'kpi',
                                       lease_until = NULL, updated_at = at,
                                       severity = coalesce(j.severity, x.severity),
                                       value = j.value, attainment = j.attainment,
                                       score = CASE WHEN j.kind IS NOT DISTINCT FROM x.kind THEN j.score ELSE x.score END,
                                       basis = CASE WHEN j.kind IS NOT DISTINCT FROM x.kind THEN j.basis ELSE x.basis END
                WHERE x.id OPERATOR(pg_catalog.=) a.id;
                -- recovered: judged better on the same basis, or the missing data came
                PERFORM kpi.alert_log(a.id, CASE WHEN j.kind IS NOT DISTINCT FROM a.kind
                                                      OR (a.kind OPERATOR(pg_catalog.=) 'no_data' AND j.value IS NOT NULL)
                                                 THEN 'recover' ELSE 'withdraw' END,
                                      'kpi', CASE WHEN j.kind IS NULL THEN 'nothing to judge: no rule, target or data'
                                                  WHEN j.kind IS DISTINCT FROM a.kind THEN format('now %s', j.kind) END);
                IF coalesce(a.incident_id, a.id) OPERATOR(pg_catalog.=) a.id THEN
                    resolved_leads := resolved_leads OPERATOR(pg_catalog.||) a.id;
                END IF;
                n := n + 1;
                a := NULL;
            END IF;
        END IF;
        IF a.id IS NULL AND j.raise AND NOT j.silenced AND NOT j.dismissed THEN
            IF kpi.alert_raise(j, at) THEN
                n := n + 1;
            END IF;
        END IF;
    END LOOP;
    -- incidents whose lead was resolved go on under their next alert: once
    -- per incident, after every key was judged (not once per alert resolved)
    FOREACH lead IN ARRAY resolved_leads LOOP
        PERFORM kpi.alert_promote(lead, at);
    END LOOP;
    RETURN n;
END
$$;

-- The PL/pgSQL trigger functions, as before, but refusing a trigger they
-- were not made for with 39P01 (trigger_protocol_violated).
CREATE OR REPLACE FUNCTION kpi.alert_inputs()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER'
       OR NOT TG_TABLE_NAME OPERATOR(pg_catalog.=) ANY ('{alert_rule,silence,indicator,link,scope,measurement,target}')
       OR (TG_LEVEL OPERATOR(pg_catalog.=) 'STATEMENT') OPERATOR(pg_catalog.<>) (TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE') THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = 'kpi.alert_inputs() fires only AFTER each row (or a TRUNCATE) of kpi''s alert inputs';
    END IF;
    IF kpi.in_restore() THEN
        RETURN NULL;                -- the alerts and the queue come with the dump
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' OR TG_TABLE_NAME OPERATOR(pg_catalog.=) 'scope' THEN
        INSERT INTO kpi.alert_queue (indicator_id) SELECT NULL WHERE kpi.alert_watched(NULL);
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'link' THEN
        INSERT INTO kpi.alert_queue (indicator_id)
        SELECT DISTINCT x FROM pg_catalog.unnest(ARRAY[
            CASE WHEN TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN OLD.parent_id END,
            CASE WHEN TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN OLD.child_id END,
            CASE WHEN TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN NEW.parent_id END,
            CASE WHEN TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN NEW.child_id END]) x
        WHERE x IS NOT NULL AND kpi.alert_watched(x);
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'indicator' THEN
        INSERT INTO kpi.alert_queue (indicator_id) SELECT NEW.id WHERE kpi.alert_watched(NEW.id);
    ELSE
        INSERT INTO kpi.alert_queue (indicator_id)
        SELECT DISTINCT x FROM pg_catalog.unnest(ARRAY[
            CASE WHEN TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN OLD.indicator_id END,
            CASE WHEN TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN NEW.indicator_id END]) x
        WHERE x IS NOT NULL AND kpi.alert_watched(x);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi.indicator_log()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET extra_float_digits = 1
AS $$
BEGIN
    IF TG_TABLE_SCHEMA <> 'kpi' OR TG_TABLE_NAME <> 'indicator' OR TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = 'kpi.indicator_log() fires only AFTER ... FOR EACH ROW on kpi.indicator';
    END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.indicator_history (indicator_id, op, changed_by, old_row, new_row)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP, kpi.actor(),
            CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi.indicator_restored()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'indicator'
       OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = 'kpi.indicator_restored() fires only AFTER ... FOR EACH STATEMENT on kpi.indicator';
    END IF;
    IF kpi.in_restore() THEN
        PERFORM kpi.actual_rebuild(NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi.lock_for_change()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_WHEN OPERATOR(pg_catalog.<>) 'BEFORE'
       OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = 'kpi.lock_for_change() fires only BEFORE ... FOR EACH STATEMENT on kpi''s tables';
    END IF;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) ANY ('{indicator,setting}') THEN
        LOCK TABLE kpi.measurement, kpi.target, kpi.actual IN SHARE ROW EXCLUSIVE MODE;
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'measurement' AND TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        LOCK TABLE kpi.target, kpi.actual IN SHARE ROW EXCLUSIVE MODE;
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) ANY ('{measurement,target}') THEN
        LOCK TABLE kpi.target IN ACCESS SHARE MODE;     -- read by the batch: before kpi.actual
        LOCK TABLE kpi.actual IN SHARE ROW EXCLUSIVE MODE;
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = format('kpi.lock_for_change() does not fire on kpi.%s', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi.restore_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- BEFORE the statement: origin -> replica; AFTER it: back
    from_role text := CASE TG_WHEN WHEN 'BEFORE' THEN 'origin' ELSE 'replica' END;
    to_role text := CASE TG_WHEN WHEN 'BEFORE' THEN 'replica' ELSE 'origin' END;
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = 'kpi.restore_guard() fires only FOR EACH STATEMENT on kpi''s tables';
    END IF;
    IF kpi.in_restore()
       AND pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) from_role THEN
        PERFORM pg_catalog.set_config('session_replication_role', to_role, false);
    END IF;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi.review_log()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
    SET extra_float_digits = 1
AS $$
DECLARE
    r record;
    rid bigint;
    st_old text;
    st_new text;
BEGIN
    IF TG_TABLE_SCHEMA <> 'kpi' OR TG_TABLE_NAME NOT IN ('review', 'finding', 'action')
       OR TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = 'kpi.review_log() fires only AFTER ... FOR EACH ROW on kpi.review, kpi.finding and kpi.action';
    END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'review' THEN
        rid := r.id;
    ELSIF TG_TABLE_NAME = 'finding' THEN
        rid := r.review_id;
    ELSE
        SELECT f.review_id INTO rid FROM kpi.finding f WHERE f.id OPERATOR(pg_catalog.=) r.finding_id;
        IF rid IS NULL THEN   -- the finding is being deleted with its review
            RETURN NULL;
        END IF;
    END IF;
    IF TG_TABLE_NAME = 'finding' THEN
        IF TG_OP <> 'INSERT' THEN st_old := OLD.kind; END IF;
        IF TG_OP <> 'DELETE' THEN st_new := NEW.kind; END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN st_old := OLD.state; END IF;
        IF TG_OP <> 'DELETE' THEN st_new := NEW.state; END IF;
    END IF;
    INSERT INTO kpi.review_history (review_id, entity, entity_id, op, old_state, new_state, changed_by,
                                    old_row, new_row)
    VALUES (rid, TG_TABLE_NAME, r.id, TG_OP, st_old, st_new,
            kpi.actor(),
            CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi.setting_sync()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'setting'
       OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER'
       OR (TG_LEVEL OPERATOR(pg_catalog.=) 'STATEMENT') OPERATOR(pg_catalog.<>) (TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE') THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = 'kpi.setting_sync() fires only AFTER each row (or a TRUNCATE) of kpi.setting';
    END IF;
    IF TG_LEVEL OPERATOR(pg_catalog.=) 'ROW' THEN
        IF NOT 'time_zone' OPERATOR(pg_catalog.=) ANY (ARRAY[
                CASE WHEN TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN OLD.name END,
                CASE WHEN TG_OP OPERATOR(pg_catalog.<>) 'DELETE' THEN NEW.name END]) THEN
            RETURN NULL;            -- not the zone: nothing to rebuild
        END IF;
    END IF;
    PERFORM kpi.actual_rebuild(NULL);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi.target_log()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r kpi.target;
BEGIN
    IF TG_TABLE_SCHEMA <> 'kpi' OR TG_TABLE_NAME <> 'target' OR TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = 'kpi.target_log() fires only AFTER ... FOR EACH ROW on kpi.target';
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op, old_goal, new_goal, note, changed_by)
    VALUES (r.id, r.indicator_id, r.scope_id, r.period, TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.goal END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.goal END, r.note, kpi.actor());
    RETURN NULL;
END
$$;


-- The PL/pgSQL validation triggers (BEFORE each row, with the caller's
-- rights) refuse, too, a table or an event they were not made for.
-- kpi.row_guard: what a validation trigger checks first: that it fires
-- BEFORE each row of its own table (39P01 otherwise, as the C triggers).
CREATE FUNCTION kpi.row_guard(fn text, tg_schema name, tg_table name, tg_when text, tg_level text, own text)
    RETURNS void
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF tg_schema OPERATOR(pg_catalog.<>) 'kpi' OR tg_table OPERATOR(pg_catalog.<>) own
       OR tg_when OPERATOR(pg_catalog.<>) 'BEFORE' OR tg_level OPERATOR(pg_catalog.<>) 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = format('kpi.%s() fires only BEFORE ... FOR EACH ROW on kpi.%s', fn, own);
    END IF;
END
$$;
COMMENT ON FUNCTION kpi.row_guard(text, name, name, text, text, text) IS
    'internal: refuse (39P01) a validation trigger fired other than BEFORE each row of its own table';

CREATE OR REPLACE FUNCTION kpi.action_check()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p kpi.period;
BEGIN
    PERFORM kpi.row_guard('action_check', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_WHEN, TG_LEVEL, 'action');
    IF NEW.state IS NULL OR NEW.state NOT IN ('open', 'in_progress', 'done', 'dropped') THEN
        PERFORM kpi.refuse(format('invalid action state: "%s"', NEW.state),
                           'An action is open, in_progress, done or dropped.');
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.state <> OLD.state
       AND NOT (OLD.state, NEW.state) IN (('open', 'in_progress'), ('open', 'done'), ('open', 'dropped'),
                                          ('in_progress', 'done'), ('in_progress', 'dropped')) THEN
        PERFORM kpi.refuse(format('action %s cannot go from %s to %s', NEW.id, OLD.state, NEW.state),
                           CASE WHEN OLD.state IN ('done', 'dropped')
                                THEN format('The action is %s, which is final; record a new action instead.', OLD.state)
                                ELSE 'An action goes open -> in_progress -> done or dropped.' END,
                           'object_not_in_prerequisite_state');
    END IF;
    IF NEW.state = 'dropped' AND coalesce(pg_catalog.btrim(NEW.outcome), '') = '' THEN
        PERFORM kpi.refuse(format('action %s cannot be dropped without an outcome', NEW.id),
                           'Say in outcome why the action was dropped.');
    END IF;
    IF NEW.state IN ('done', 'dropped') THEN
        IF TG_OP = 'INSERT' OR OLD.state NOT IN ('done', 'dropped') THEN
            NEW.closed_at := coalesce(NEW.closed_at, pg_catalog.now());
        END IF;
    ELSE
        NEW.closed_at := NULL;
    END IF;
    SELECT r.period INTO p FROM kpi.finding f JOIN kpi.review r ON r.id OPERATOR(pg_catalog.=) f.review_id
    WHERE f.id OPERATOR(pg_catalog.=) NEW.finding_id;
    IF NEW.due < kpi.start_date(p) THEN
        PERFORM kpi.refuse(format('action due %s is before the reviewed period %s', NEW.due, p),
                           format('%s starts on %s.', p, kpi.start_date(p)));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION kpi.finding_check()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rv kpi.review;
    al kpi.alert;
    have_review boolean;
    scope_code text;
BEGIN
    PERFORM kpi.row_guard('finding_check', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_WHEN, TG_LEVEL, 'finding');
    -- FOR SHARE: a review being closed concurrently is waited for and then
    -- seen closed, so no finding slips into a closed review
    SELECT * INTO rv FROM kpi.review r
    WHERE r.id OPERATOR(pg_catalog.=) CASE WHEN TG_OP = 'DELETE' THEN OLD.review_id ELSE NEW.review_id END
    FOR SHARE;
    have_review := FOUND;   -- not when the review is being deleted, or is unknown or unseen
    IF NOT have_review AND TG_OP <> 'DELETE' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = format('unknown review id: %s', NEW.review_id),
            HINT = 'A role sees the reviews of its scopes.';
    END IF;
    IF have_review AND rv.state = 'closed' THEN
        PERFORM kpi.refuse(format('review %s is closed', rv.id),
                           'Its findings no longer change; hold the review again to correct them.',
                           'object_not_in_prerequisite_state');
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.kind IS NULL OR NEW.kind NOT IN ('gap', 'success') THEN
        PERFORM kpi.refuse(format('invalid finding kind: "%s"', NEW.kind),
                           'A finding is a gap or a success.');
    END IF;
    IF NEW.alert_id IS NOT NULL THEN
        SELECT * INTO al FROM kpi.alert a WHERE a.id OPERATOR(pg_catalog.=) NEW.alert_id;
        IF NOT FOUND THEN   -- unknown, or outside the writer's scopes
            PERFORM kpi.alert_not_found(NEW.alert_id);
        END IF;
        IF al.indicator_id OPERATOR(pg_catalog.<>) NEW.indicator_id THEN
            PERFORM kpi.refuse(format('alert %s is about another indicator than finding %s', al.id, NEW.id),
                               'A finding and the alert that prompted it are about the same indicator.');
        END IF;
        NEW.scope_id := coalesce(NEW.scope_id, al.scope_id);
    END IF;
    NEW.scope_id := coalesce(NEW.scope_id, rv.scope_id);
    -- walk up from the finding's scope (an unknown one is the foreign key's to refuse)
    SELECT s.code INTO scope_code FROM kpi.scope s WHERE s.id OPERATOR(pg_catalog.=) NEW.scope_id;
    IF have_review AND scope_code IS NOT NULL
       AND NOT EXISTS (SELECT FROM kpi.scope_ancestors(scope_code) a
                       WHERE a.id OPERATOR(pg_catalog.=) rv.scope_id) THEN
        PERFORM kpi.refuse(format('finding of review %s is about a scope outside the review''s', rv.id),
                           'A finding''s scope is the review''s scope or one below it.');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION kpi.indicator_touch()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM kpi.row_guard('indicator_touch', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_WHEN, TG_LEVEL, 'indicator');
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION kpi.link_check()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent_code text;
    child_code text;
BEGIN
    PERFORM kpi.row_guard('link_check', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_WHEN, TG_LEVEL, 'link');
    SELECT i.code INTO parent_code FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) NEW.parent_id;
    SELECT i.code INTO child_code FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) NEW.child_id;
    IF NEW.weight IS NULL OR NOT (NEW.weight OPERATOR(pg_catalog.>) 0
                                  AND NEW.weight OPERATOR(pg_catalog.<) 'Infinity'::float8) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('link weight must be a positive number, not %s', NEW.weight),
            DETAIL = format('Link %s -> %s.', parent_code, child_code);
    END IF;
    IF NEW.parent_id OPERATOR(pg_catalog.=) NEW.child_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('indicator "%s" cannot be its own child', parent_code);
    END IF;
    -- one writer at a time, so two concurrent links cannot close a cycle
    LOCK TABLE kpi.link IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (
        WITH RECURSIVE below(id) AS (
            SELECT NEW.child_id
            UNION
            SELECT l.child_id FROM kpi.link l JOIN below b ON l.parent_id OPERATOR(pg_catalog.=) b.id
        )
        SELECT FROM below WHERE below.id OPERATOR(pg_catalog.=) NEW.parent_id)
    THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('link %s -> %s would create a cycle', parent_code, child_code),
            DETAIL = format('"%s" already lies below "%s" in the indicator tree.', parent_code, child_code);
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION kpi.review_check()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM kpi.row_guard('review_check', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_WHEN, TG_LEVEL, 'review');
    IF NEW.state IS NULL OR NEW.state NOT IN ('planned', 'held', 'closed') THEN
        PERFORM kpi.refuse(format('invalid review state: "%s"', NEW.state),
                           'A review is planned, held or closed.');
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.state <> OLD.state
       AND NOT (OLD.state, NEW.state) IN (('planned', 'held'), ('held', 'closed'), ('closed', 'held')) THEN
        PERFORM kpi.refuse(format('review %s cannot go from %s to %s', NEW.id, OLD.state, NEW.state),
                           'A review goes planned -> held -> closed; a closed review may be held again.',
                           'object_not_in_prerequisite_state');
    END IF;
    IF NEW.state <> 'planned' AND NEW.held_at IS NULL THEN
        NEW.held_at := pg_catalog.now();
    END IF;
    IF NEW.held_at IS NOT NULL AND kpi.today(NEW.held_at) < kpi.start_date(NEW.period) THEN
        PERFORM kpi.refuse(format('review of %s cannot be held on %s', NEW.period, kpi.today(NEW.held_at)),
                           format('%s starts on %s.', NEW.period, kpi.start_date(NEW.period)));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION kpi.scope_check()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM kpi.row_guard('scope_check', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_WHEN, TG_LEVEL, 'scope');
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    -- one writer at a time, so two concurrent moves cannot close a cycle
    LOCK TABLE kpi.scope IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (
        WITH RECURSIVE up(id) AS (
            SELECT NEW.parent_id
            UNION
            SELECT s.parent_id FROM kpi.scope s JOIN up ON s.id OPERATOR(pg_catalog.=) up.id
            WHERE s.parent_id IS NOT NULL
        )
        SELECT FROM up WHERE up.id OPERATOR(pg_catalog.=) NEW.id)
    THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('scope "%s" cannot be placed below itself', NEW.code),
            DETAIL = 'Its new parent lies in its own subtree.';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION kpi.scope_member_check()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM kpi.row_guard('scope_member_check', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_WHEN, TG_LEVEL, 'scope_member');
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) NEW.role) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_object',
            MESSAGE = format('role "%s" does not exist', NEW.role),
            HINT = 'Create the role first; kpi.scope_member names existing roles.';
    END IF;
    RETURN NEW;
END
$$;

CREATE OR REPLACE FUNCTION kpi.setting_check()
    RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM kpi.row_guard('setting_check', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_WHEN, TG_LEVEL, 'setting');
    IF NOT NEW.name OPERATOR(pg_catalog.=) ANY ('{time_zone,alert_in_writer}') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('unknown kpi setting: "%s"', NEW.name),
            HINT = 'The settings are: time_zone, alert_in_writer.';
    END IF;
    IF NEW.name OPERATOR(pg_catalog.=) 'time_zone'
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_timezone_names z WHERE z.name OPERATOR(pg_catalog.=) NEW.value) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('time zone "%s" not recognized', NEW.value),
            HINT = 'Use a name from pg_timezone_names, e.g. Asia/Shanghai or UTC.';
    END IF;
    IF NEW.name OPERATOR(pg_catalog.=) 'alert_in_writer'
       AND NOT NEW.value OPERATOR(pg_catalog.=) ANY ('{on,off}') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s is on or off, not "%s"', NEW.name, NEW.value);
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND NOT kpi.in_restore() THEN
        NEW.set_by := CURRENT_USER;
        NEW.set_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
