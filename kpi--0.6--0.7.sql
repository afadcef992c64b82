/* kpi--0.6--0.7.sql: release 0.7 of kpi: alerts judged whenever an input
 * changes, at every level of the scope tree, on pace while a period runs,
 * with missing-data and anomaly alerts, grouped into incidents, and a
 * time-driven kpi.evaluate() for what time alone changes.  docs/alerts.md
 * explains the model; this script only changes objects. */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.7'" to load this file. \quit

-- ---------------------------------------------------------------------
-- 1. What an alert is judged on
-- ---------------------------------------------------------------------

-- Rules: basis auto (the default: pace while a cumulative indicator's
-- period runs, attainment once it has ended or for other indicators) and
-- anomaly (a value outside its own history's normal range, no target
-- needed).  Rules on 'attainment', the old default, become 'auto': an
-- attainment rule compared a quarter's first month with the whole
-- quarter's goal (docs/operations.md, upgrading to 0.7).
ALTER TABLE kpi.alert_rule DROP CONSTRAINT alert_rule_basis_check;
UPDATE kpi.alert_rule SET basis = 'auto' WHERE basis OPERATOR(pg_catalog.=) 'attainment';
ALTER TABLE kpi.alert_rule
    ALTER COLUMN basis SET DEFAULT 'auto',
    ADD CONSTRAINT alert_rule_basis_check CHECK (basis IN ('auto', 'attainment', 'pace', 'anomaly')),
    ADD COLUMN anomaly_window integer NOT NULL DEFAULT 12 CHECK (anomaly_window BETWEEN 4 AND 120),
    ADD COLUMN anomaly_threshold float8 NOT NULL DEFAULT 3
        CHECK (anomaly_threshold > 0 AND anomaly_threshold < 'Infinity'),
    ADD COLUMN max_deliveries integer NOT NULL DEFAULT 5 CHECK (max_deliveries >= 1),
    ADD COLUMN plan_within interval DEFAULT '7 days' CHECK (plan_within >= '0');
COMMENT ON COLUMN kpi.alert_rule.basis IS
    'auto (pace while a sum or count indicator''s period runs, attainment once it ended and for other indicators), attainment, pace, or anomaly (outside the key''s own history, no target needed)';
COMMENT ON COLUMN kpi.alert_rule.min_breaches IS
    'consecutive bad periods of the key''s grain before an alert is raised: 2 = this period and the one before (earlier periods judged on attainment)';
COMMENT ON COLUMN kpi.alert_rule.repeat_after IS
    're-notify an alert nobody acknowledged this long after its last notification (kpi.evaluate)';
COMMENT ON COLUMN kpi.alert_rule.anomaly_window IS
    'anomaly basis: how many earlier periods of the same grain make the normal range';
COMMENT ON COLUMN kpi.alert_rule.anomaly_threshold IS
    'anomaly basis: robust z (distance from the median in scaled median absolute deviations) at which a value is abnormal; red at twice it';
COMMENT ON COLUMN kpi.alert_rule.max_deliveries IS
    'claims without an acknowledgement after which an alert is dead-lettered (state dead) and escalated';
COMMENT ON COLUMN kpi.alert_rule.plan_within IS
    'a red alert with no action item this long after it was raised is flagged (kpi.alert.unplanned_at); NULL = never';

-- Indicators declare when their data are due.
ALTER TABLE kpi.indicator ADD COLUMN data_due interval CHECK (data_due >= '0');
COMMENT ON COLUMN kpi.indicator.data_due IS
    'data for a period are due this long after it ends (company time); a scope with a target and no data by then raises a no_data alert; NULL = not declared';
-- r.* stood for the columns of 0.6: the same function, with data_due
CREATE OR REPLACE FUNCTION kpi.indicator_as_of(at timestamptz) RETURNS SETOF kpi.indicator
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT r.*
    FROM (SELECT DISTINCT ON (h.indicator_id) h.op, h.new_row
          FROM kpi.indicator_history h
          WHERE h.changed_at OPERATOR(pg_catalog.<=) at
          ORDER BY h.indicator_id, h.changed_at DESC, h.id DESC) last_change,
         LATERAL pg_catalog.jsonb_populate_record(NULL::kpi.indicator, last_change.new_row) r
    WHERE last_change.op OPERATOR(pg_catalog.<>) 'DELETE'
    ORDER BY r.code;
END;
COMMENT ON FUNCTION kpi.indicator_as_of(timestamptz) IS
    'the dictionary as it was at a time: each indicator''s row after its last change up to then';

-- Alerts: their kind, what they were judged on, the incident they belong to.
-- (kpi.has_action takes the alert's row type and kpi.alert_followup calls
-- it: both are created again below, unchanged but for new columns.)
-- The privileges granted on them by hand are kept (in a transaction-local
-- setting, as a GRANT statement each) and given back below.
SELECT pg_catalog.set_config('kpi.upgrade_grants', coalesce(pg_catalog.string_agg(g, ';'), ''), true)
FROM (SELECT pg_catalog.format('GRANT %s ON %s TO %s%s', a.privilege_type, x.object,
                               CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
                               CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS g
      FROM (SELECT 'TABLE kpi.alert_followup' AS object, c.relacl AS acl, c.relowner AS owner
            FROM pg_catalog.pg_class c WHERE c.oid OPERATOR(pg_catalog.=) 'kpi.alert_followup'::pg_catalog.regclass
            UNION ALL
            SELECT 'FUNCTION kpi.has_action(kpi.alert)', p.proacl, p.proowner
            FROM pg_catalog.pg_proc p WHERE p.oid OPERATOR(pg_catalog.=) 'kpi.has_action(kpi.alert)'::pg_catalog.regprocedure) x,
           pg_catalog.aclexplode(x.acl) a
      WHERE a.grantee OPERATOR(pg_catalog.<>) x.owner AND a.grantee OPERATOR(pg_catalog.<>) 0) grants;
DROP VIEW kpi.alert_followup;
DROP FUNCTION kpi.has_action(kpi.alert);
ALTER TABLE kpi.alert DROP CONSTRAINT alert_state_check;
ALTER TABLE kpi.alert
    ADD CONSTRAINT alert_state_check CHECK (state IN ('open', 'acked', 'dead', 'resolved')),
    ADD COLUMN kind text NOT NULL DEFAULT 'status' CHECK (kind IN ('status', 'no_data', 'anomaly')),
    ADD COLUMN basis text CHECK (basis IN ('attainment', 'pace', 'anomaly', 'due')),
    ADD COLUMN score float8,
    ADD COLUMN incident_id bigint,
    ADD COLUMN unplanned_at timestamptz;
-- every alert of 0.6 is its own incident
UPDATE kpi.alert a
SET incident_id = a.id,
    basis = CASE WHEN r.basis OPERATOR(pg_catalog.=) 'pace' THEN 'pace' ELSE 'attainment' END,
    score = CASE WHEN r.basis OPERATOR(pg_catalog.=) 'pace' THEN NULL ELSE a.attainment END
FROM kpi.alert a2
LEFT JOIN kpi.alert_rule r ON r.id OPERATOR(pg_catalog.=) a2.rule_id
WHERE a2.id OPERATOR(pg_catalog.=) a.id;
DROP INDEX kpi.alert_claimable;
CREATE INDEX alert_claimable ON kpi.alert (severity, raised_at)
    WHERE state = 'open' AND coalesce(incident_id, id) = id;
CREATE INDEX alert_incident ON kpi.alert (indicator_id, incident_id) WHERE state <> 'resolved';
-- a key's alerts, latest last (was its last alert resolved by a person?)
CREATE INDEX alert_key ON kpi.alert (indicator_id, scope_id, period, id);
COMMENT ON COLUMN kpi.alert.state IS
    'open (unacknowledged), acked, dead (delivered max_deliveries times without an acknowledgement) or resolved';
COMMENT ON COLUMN kpi.alert.kind IS 'status (a bad attainment or pace), no_data (data overdue) or anomaly (outside the normal range)';
COMMENT ON COLUMN kpi.alert.basis IS 'what the alert was judged on: attainment, pace, anomaly or due';
COMMENT ON COLUMN kpi.alert.score IS 'the judged figure: attainment, pace (attainment of the share of the goal due by the data''s time) or robust z';
COMMENT ON COLUMN kpi.alert.incident_id IS
    'the incident: the id of its lead alert (NULL for an alert inserted by hand: its own incident); an alert joins an open incident whose lead is a related key (same indicator, a scope on one line up or down, an overlapping period); only the lead is delivered';
COMMENT ON COLUMN kpi.alert.unplanned_at IS 'when kpi.evaluate() flagged the red alert for having no action item (red without a plan)';

ALTER TABLE kpi.alert_event DROP CONSTRAINT alert_event_kind_check;
ALTER TABLE kpi.alert_event ADD CONSTRAINT alert_event_kind_check
    CHECK (kind IN ('raise', 'worsen', 'improve', 'repeat', 'escalate', 'claim', 'ack', 'resolve', 'recover',
                    'repair', 'withdraw', 'promote', 'dead_letter', 'unplanned'));

-- Streaks counted evaluations; min_breaches now counts periods, judged
-- afresh from the actuals, so there is nothing to keep.
ALTER EXTENSION kpi DROP TABLE kpi.alert_streak;   -- and from the tables pg_dump keeps
DROP TABLE kpi.alert_streak;

-- The restore switches fire only in a restore session: outside one they
-- did nothing but cost every statement that loads a table (every
-- kpi.record, every alert event) two PL/pgSQL calls.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['indicator', 'scope', 'link', 'setting', 'target', 'measurement', 'alert_rule', 'silence',
                             'alert', 'alert_event',
                             'scope_member', 'review', 'finding', 'action', 'review_history'] LOOP
        EXECUTE pg_catalog.format('DROP TRIGGER restore_begin ON kpi.%I', t);
        EXECUTE pg_catalog.format('DROP TRIGGER zz_restore_end ON kpi.%I', t);
        EXECUTE pg_catalog.format('CREATE TRIGGER restore_begin BEFORE INSERT ON kpi.%I'
                                  ' FOR EACH STATEMENT WHEN (kpi.in_restore()) EXECUTE FUNCTION kpi.restore_guard()', t);
        EXECUTE pg_catalog.format('CREATE TRIGGER zz_restore_end AFTER INSERT ON kpi.%I'
                                  ' FOR EACH STATEMENT WHEN (kpi.in_restore()) EXECUTE FUNCTION kpi.restore_guard()', t);
        EXECUTE pg_catalog.format('ALTER TABLE kpi.%I ENABLE ALWAYS TRIGGER zz_restore_end', t);
    END LOOP;
END
$$;

-- whether an alert has an action item (as in 0.6)
CREATE FUNCTION kpi.has_action(a kpi.alert) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT EXISTS (SELECT FROM kpi.action x JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
                   WHERE f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id);
END;
COMMENT ON FUNCTION kpi.has_action(kpi.alert) IS
    'true when an action exists for the alert, through a finding it prompted or was resolved with';

-- ---------------------------------------------------------------------
-- 2. The queue of changed keys and the evaluation clock
-- ---------------------------------------------------------------------

-- Keys whose inputs changed and that wait for kpi.evaluate().  Writers
-- only append (no unique key, so writers on different branches never wait
-- on one another for a region's or the company's key); a NULL column is a
-- wildcard: (indicator, NULL, NULL) = every key of the indicator, all NULL
-- = every key.
CREATE TABLE kpi.alert_queue (
    indicator_id bigint,
    scope_id     bigint,
    period       kpi.period,
    queued_at    timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE kpi.alert_queue IS
    'keys whose inputs changed and whose alerts kpi.evaluate() judges next (NULL = every); writers only append';
COMMENT ON COLUMN kpi.alert_queue.indicator_id IS 'the indicator, NULL = every indicator';
COMMENT ON COLUMN kpi.alert_queue.scope_id IS 'the scope, NULL = every scope';
COMMENT ON COLUMN kpi.alert_queue.period IS 'the period, NULL = every period';
COMMENT ON COLUMN kpi.alert_queue.queued_at IS 'when the change was queued';

-- When kpi.evaluate() last ran: time-driven judgements cover what became
-- due since then.  One row; its lock also runs evaluations one at a time.
CREATE TABLE kpi.alert_clock (
    id           boolean PRIMARY KEY DEFAULT true CHECK (id),
    evaluated_at timestamptz NOT NULL
);
COMMENT ON TABLE kpi.alert_clock IS 'when kpi.evaluate() last ran (one row)';
COMMENT ON COLUMN kpi.alert_clock.id IS 'always true: the table has one row';
COMMENT ON COLUMN kpi.alert_clock.evaluated_at IS 'the at of the last kpi.evaluate()';

SELECT pg_catalog.pg_extension_config_dump('kpi.alert_queue', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_clock', '');

-- ---------------------------------------------------------------------
-- A setting: alert_in_writer (on, the default: keys of leaf scopes are
-- judged in the writer's transaction; off: every key waits for
-- kpi.evaluate(), for bulk loads and replays).  And a configuration
-- parameter, kpi.log_claims (on, the default: every delivery is logged as
-- a claim event; off: only the row's claimed_by, delivery_count and lease
-- say it).  Only a change of the time zone rebuilds kpi.actual now.
-- ---------------------------------------------------------------------

CREATE OR REPLACE FUNCTION kpi.setting_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
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
COMMENT ON FUNCTION kpi.setting_check() IS 'trigger: refuse unknown settings, unknown time zones and on/off settings set to anything else';

CREATE OR REPLACE FUNCTION kpi.setting_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'setting'
       OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER'
       OR (TG_LEVEL OPERATOR(pg_catalog.=) 'STATEMENT') OPERATOR(pg_catalog.<>) (TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE') THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
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
COMMENT ON FUNCTION kpi.setting_sync() IS 'trigger: rebuild kpi.actual when the company''s time zone changes';
DROP TRIGGER setting_sync ON kpi.setting;
CREATE TRIGGER setting_sync AFTER INSERT OR UPDATE OR DELETE ON kpi.setting
    FOR EACH ROW EXECUTE FUNCTION kpi.setting_sync();
CREATE TRIGGER setting_sync_truncate AFTER TRUNCATE ON kpi.setting
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.setting_sync();
-- in a restore too: a company time zone restored after the measurements
-- rebuilds kpi.actual in it
ALTER TABLE kpi.setting ENABLE ALWAYS TRIGGER setting_sync;
ALTER TABLE kpi.setting ENABLE ALWAYS TRIGGER setting_sync_truncate;
COMMENT ON TABLE kpi.setting IS
    'settings of the indicator system kept in the database (time_zone: the company''s zone, default UTC; alert_in_writer: on or off, default on)';
COMMENT ON COLUMN kpi.setting.name IS 'the setting: time_zone or alert_in_writer';
COMMENT ON COLUMN kpi.setting.value IS 'its value (time_zone: a name from pg_timezone_names; alert_in_writer: on or off)';

CREATE FUNCTION kpi.alert_in_writer() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce((SELECT s.value FROM kpi.setting s WHERE s.name OPERATOR(pg_catalog.=) 'alert_in_writer'), 'on')
           OPERATOR(pg_catalog.=) 'on';
END;
-- Whether claims are logged: the configuration parameter kpi.log_claims
-- (on unless set to off), so that a consumer needs no privilege on
-- kpi.setting to claim, and a DBA sets it per database or role.
CREATE FUNCTION kpi.alert_log_claims() RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT pg_catalog.lower(coalesce(pg_catalog.current_setting('kpi.log_claims', true), 'on'))
           OPERATOR(pg_catalog.<>) ALL ('{off,false,no,0}');
END;
COMMENT ON FUNCTION kpi.alert_log_claims() IS
    'whether kpi.alert_claim logs each delivery as a claim event (configuration parameter kpi.log_claims, default on); acknowledgements and resolutions are always logged';

COMMENT ON FUNCTION kpi.alert_in_writer() IS
    'whether writers judge the keys of leaf scopes in their own transaction (kpi.setting alert_in_writer, default on); off: everything waits for kpi.evaluate()';

-- ---------------------------------------------------------------------
-- 3. The judgement: what the alert of each key should be, afresh
-- ---------------------------------------------------------------------

-- kpi.scope_descendants: a scope and every scope below it.
CREATE FUNCTION kpi.scope_descendants(root bigint) RETURNS bigint[]
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE d(id) AS (
        SELECT scope_descendants.root
        UNION ALL
        SELECT s.id FROM kpi.scope s JOIN d ON s.parent_id OPERATOR(pg_catalog.=) d.id)
    SELECT pg_catalog.array_agg(d.id) FROM d;
END;
COMMENT ON FUNCTION kpi.scope_descendants(bigint) IS 'the scope and every scope below it';

-- kpi.rolled_up: an indicator's actual over a set of scopes for a period,
-- as kpi.scope_actual computes it for a scope's subtree (flows merged,
-- levels summed across scopes), read for one key through the primary key
-- of kpi.actual instead of for every key.  agg is the indicator's.
CREATE FUNCTION kpi.rolled_up(indicator_id bigint, agg kpi.agg_kind, scopes bigint[], period kpi.period)
    RETURNS TABLE (tally kpi.tally, value float8)
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT kpi.merge(a.tally),
           CASE WHEN rolled_up.agg OPERATOR(pg_catalog.=) ANY ('{first,last}'::kpi.agg_kind[])
                THEN pg_catalog.sum(kpi.value(a.tally, rolled_up.agg))
                ELSE kpi.value(kpi.merge(a.tally), rolled_up.agg) END
    FROM kpi.actual a
    WHERE a.indicator_id OPERATOR(pg_catalog.=) rolled_up.indicator_id
      AND a.period OPERATOR(kpi.=) rolled_up.period
      AND a.scope_id OPERATOR(pg_catalog.=) ANY (rolled_up.scopes)
    HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0;
END;
COMMENT ON FUNCTION kpi.rolled_up(bigint, kpi.agg_kind, bigint[], kpi.period) IS
    'an indicator''s actual (tally and value) over a set of scopes for one period, as kpi.scope_actual rolls a subtree up (agg: the indicator''s)';

-- kpi.judgement: for each (indicator, scope, period) key, the alert it
-- should have at `at`, from the current data alone:
--   * the figure is the scope's rolled-up actual, the one kpi.scope_actual
--     and the scorecard show (kpi.rolled_up), against that scope's own
--     target; a member judges only the scopes it sees whole;
--   * the rule is the scope's own, else the indicator's (scope NULL),
--     which then applies to every scope with a target;
--   * basis auto: while the period of a sum or count indicator runs, its
--     pace: the attainment of the share of the goal due by the time of
--     the latest data (phased by the targets of the periods inside it
--     when they cover it, linearly otherwise); once it ended, and for
--     other indicators, its attainment;
--   * min_breaches N: the N - 1 periods before must have been bad too;
--   * anomaly: the robust z of the value against the previous
--     anomaly_window periods: its distance from their median in units of
--     their spread (the scaled median or mean absolute deviation); for a
--     sum or count indicator only once the period has ended;
--   * no_data: a target, no data, and the indicator's data_due passed.
-- raise: the key should have an alert; hold: an alert it has stays (raise,
-- or not yet recovered past the band edge by recovery_margin); silenced:
-- a silence covers it; dismissed: a person resolved its last alert of this
-- kind and it is no worse now (a finished period that stays red is not
-- raised again after its review closed it).
CREATE FUNCTION kpi.judgement(ind bigint[], scp bigint[], per kpi.period[],
                              at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (indicator_id bigint, scope_id bigint, period kpi.period, rule_id bigint,
                   kind text, basis text, value float8, attainment float8, score float8,
                   severity kpi.status, raise boolean, hold boolean, silenced boolean,
                   dismissed boolean)
    LANGUAGE plpgsql STABLE
    -- one plan, planned once per session and kept (planning it costs more
    -- than running it for a statement's keys); never compiled by JIT
    SET search_path = pg_catalog, pg_temp SET jit = off SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    tz text := kpi.time_zone();
BEGIN
    -- PL/pgSQL, so that the plan is kept for the session (a writer calls
    -- this once per statement)
    RETURN QUERY
    WITH d AS MATERIALIZED (
        SELECT DISTINCT u.i, u.s, u.p
        FROM ROWS FROM (pg_catalog.unnest(ind), pg_catalog.unnest(scp), pg_catalog.unnest(per)) AS u(i, s, p)
        WHERE u.i IS NOT NULL AND u.s IS NOT NULL AND u.p IS NOT NULL
          -- a member judges only the scopes it sees whole
          AND ((SELECT kpi.visible_scopes()) IS NULL
               OR u.s OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]))
    ),
    -- each scope's subtree, and each (indicator, scope)'s rule (its own,
    -- else the indicator's), once, however many periods are judged
    sc AS MATERIALIZED (
        SELECT x.s, kpi.scope_descendants(x.s) AS subtree FROM (SELECT DISTINCT d.s FROM d) x
    ),
    rr AS MATERIALIZED (
        SELECT DISTINCT ON (x.i, x.s) x.i, x.s, r.*
        FROM (SELECT DISTINCT d.i, d.s FROM d) x
        JOIN kpi.alert_rule r ON r.indicator_id OPERATOR(pg_catalog.=) x.i AND r.enabled
                             AND (r.scope_id OPERATOR(pg_catalog.=) x.s OR r.scope_id IS NULL)
        ORDER BY x.i, x.s, r.scope_id NULLS LAST
    ),
    k AS (
        SELECT d.i, d.s, d.p, sc.subtree FROM d JOIN sc ON sc.s OPERATOR(pg_catalog.=) d.s
    ),
    b AS (
        SELECT k.i, k.s, k.p, x.agg, x.bands, x.data_due, x.lifecycle, tz AS zone, k.subtree,
               r.id AS rule_id, r.basis AS rule_basis, r.raise_at, r.min_breaches, r.recovery_margin,
               r.anomaly_window, r.anomaly_threshold,
               v.tally, v.value, g.goal,
               kpi.progress(k.p, at, tz) AS elapsed
        FROM k
        JOIN kpi.indicator x ON x.id OPERATOR(pg_catalog.=) k.i
        LEFT JOIN rr r ON r.i OPERATOR(pg_catalog.=) k.i AND r.s OPERATOR(pg_catalog.=) k.s
        LEFT JOIN kpi.target g ON g.indicator_id OPERATOR(pg_catalog.=) k.i AND g.scope_id OPERATOR(pg_catalog.=) k.s
                              AND g.period OPERATOR(kpi.=) k.p
        LEFT JOIN LATERAL kpi.rolled_up(k.i, x.agg, k.subtree, k.p) v ON true
    ),
    -- materialized: each key's basis is decided once, not in every
    -- expression that uses it
    j AS MATERIALIZED (
        SELECT b.*,
               CASE WHEN b.rule_basis IS NULL THEN NULL
                    -- a running sum is no match for whole earlier periods
                    WHEN b.rule_basis OPERATOR(pg_catalog.=) 'anomaly'
                         AND b.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[])
                         AND b.elapsed OPERATOR(pg_catalog.<) 1 THEN NULL
                    WHEN b.rule_basis OPERATOR(pg_catalog.=) 'anomaly' THEN 'anomaly'
                    WHEN b.elapsed OPERATOR(pg_catalog.>=) 1 THEN 'attainment'
                    WHEN b.rule_basis OPERATOR(pg_catalog.=) 'pace' THEN 'pace'
                    WHEN b.rule_basis OPERATOR(pg_catalog.=) 'auto'
                         AND b.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[]) THEN 'pace'
                    ELSE 'attainment' END AS how,
               kpi.attainment(b.value, b.goal) AS att
        FROM b
    ),
    scored AS (
        SELECT j.*,
               CASE j.how
                   WHEN 'attainment' THEN j.att
                   WHEN 'pace' THEN kpi.pace(j.value, j.goal, coalesce(ph.share, kpi.progress(j.p, dt.t, j.zone)))
                   WHEN 'anomaly' THEN
                       CASE WHEN j.value IS NULL OR an.n OPERATOR(pg_catalog.<) GREATEST(4, j.anomaly_window OPERATOR(pg_catalog./) 2) THEN NULL
                            WHEN an.scale OPERATOR(pg_catalog.>) 0
                                THEN pg_catalog.abs(j.value OPERATOR(pg_catalog.-) an.med)
                                     OPERATOR(pg_catalog./) an.scale
                            WHEN j.value OPERATOR(pg_catalog.=) an.med THEN 0
                            ELSE 'Infinity'::float8 END END AS score,
               cb.bad_before
        FROM j
        -- the time of the latest data, never after `at`
        CROSS JOIN LATERAL (SELECT LEAST(at, coalesce(kpi.last_at(j.tally), at)) AS t) dt
        -- pace phased by the targets of the periods inside (months of a
        -- quarter ...), when those cover it: the share of their sum due by t
        LEFT JOIN LATERAL (
            SELECT pg_catalog.sum(kpi.target(st.goal) OPERATOR(pg_catalog.*) kpi.progress(st.period, dt.t, j.zone))
                   OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(kpi.target(st.goal)), 0) AS share
            FROM (SELECT kpi.grain(t.period) AS grain, t.period, t.goal FROM kpi.target t
                  WHERE j.how OPERATOR(pg_catalog.=) 'pace'
                    AND t.indicator_id OPERATOR(pg_catalog.=) j.i AND t.scope_id OPERATOR(pg_catalog.=) j.s
                    AND t.period OPERATOR(kpi.<@) j.p
                    AND kpi.grain(t.period) OPERATOR(pg_catalog.<>) kpi.grain(j.p)) st
            GROUP BY st.grain
            HAVING pg_catalog.count(*) OPERATOR(pg_catalog.=)
                   (SELECT pg_catalog.count(*) FROM kpi.periods(j.p, st.grain) q
                    WHERE q OPERATOR(kpi.<@) j.p)
               AND pg_catalog.bool_and(kpi.target(st.goal) OPERATOR(pg_catalog.>) 0)
            ORDER BY pg_catalog.count(*) DESC LIMIT 1) ph ON true
        -- the normal range: median and median absolute deviation of the
        -- previous anomaly_window periods
        LEFT JOIN LATERAL (
            WITH h AS (
                SELECT v.value
                FROM pg_catalog.generate_series(1, CASE WHEN j.how OPERATOR(pg_catalog.=) 'anomaly'
                                                        THEN j.anomaly_window ELSE 0 END) g
                CROSS JOIN LATERAL kpi.rolled_up(j.i, j.agg, j.subtree, j.p OPERATOR(kpi.-) g) v
                WHERE v.value IS NOT NULL),
            m AS (SELECT pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY h.value) AS med,
                         pg_catalog.count(*) AS n FROM h)
            -- the spread: the median absolute deviation, or (for small
            -- counts, where most values are equal and it is 0) the mean
            -- absolute deviation, each scaled to a normal distribution's
            -- standard deviation; the larger of the two
            SELECT m.med, m.n,
                   GREATEST(1.4826 OPERATOR(pg_catalog.*)
                                (SELECT pg_catalog.percentile_cont(0.5) WITHIN GROUP
                                        (ORDER BY pg_catalog.abs(h.value OPERATOR(pg_catalog.-) m.med)) FROM h),
                            1.2533 OPERATOR(pg_catalog.*)
                                (SELECT pg_catalog.avg(pg_catalog.abs(h.value OPERATOR(pg_catalog.-) m.med)) FROM h)) AS scale
            FROM m) an ON j.how OPERATOR(pg_catalog.=) 'anomaly'
        -- consecutive periods: how many of the min_breaches - 1 before were bad
        LEFT JOIN LATERAL (
            SELECT pg_catalog.count(*) AS bad_before
            FROM pg_catalog.generate_series(1, CASE WHEN j.how OPERATOR(pg_catalog.<>) 'anomaly'
                                                    THEN j.min_breaches OPERATOR(pg_catalog.-) 1 ELSE 0 END) g
            CROSS JOIN LATERAL kpi.rolled_up(j.i, j.agg, j.subtree, j.p OPERATOR(kpi.-) g) v
            JOIN kpi.target pt ON pt.indicator_id OPERATOR(pg_catalog.=) j.i AND pt.scope_id OPERATOR(pg_catalog.=) j.s
                              AND pt.period OPERATOR(kpi.=) (j.p OPERATOR(kpi.-) g)
            WHERE kpi.status(kpi.attainment(v.value, pt.goal), j.bands) OPERATOR(pg_catalog.<=) j.raise_at) cb
            ON j.min_breaches OPERATOR(pg_catalog.>) 1 AND j.how OPERATOR(pg_catalog.<>) 'anomaly'
    ),
    levels AS (
        SELECT s.*,
               CASE WHEN s.how OPERATOR(pg_catalog.=) 'anomaly' THEN
                        CASE WHEN s.score OPERATOR(pg_catalog.>=) (2 OPERATOR(pg_catalog.*) s.anomaly_threshold) THEN 'red'
                             WHEN s.score OPERATOR(pg_catalog.>=) s.anomaly_threshold THEN 'amber'
                             ELSE 'green' END::kpi.status
                    ELSE kpi.status(s.score, s.bands) END AS level,
               -- no data although due: a target, nothing measured, data_due passed
               (s.data_due IS NOT NULL AND s.goal IS NOT NULL AND s.value IS NULL
                AND at OPERATOR(pg_catalog.>=)
                    (((kpi.end_date(s.p) OPERATOR(pg_catalog.+) 1)::timestamp OPERATOR(pg_catalog.+) s.data_due)
                     AT TIME ZONE s.zone)) AS missing
        FROM scored s
        WHERE s.lifecycle OPERATOR(pg_catalog.<>) 'retired'
    )
    SELECT l.i, l.s, l.p,
           CASE WHEN l.missing THEN NULL ELSE l.rule_id END,
           CASE WHEN l.missing THEN 'no_data'
                WHEN l.score IS NULL THEN NULL
                WHEN l.how OPERATOR(pg_catalog.=) 'anomaly' THEN 'anomaly'
                ELSE 'status' END,
           CASE WHEN l.missing THEN 'due' WHEN l.score IS NOT NULL THEN l.how END,
           l.value, l.att,
           CASE WHEN NOT l.missing THEN l.score END,
           CASE WHEN l.missing THEN 'amber'::kpi.status ELSE l.level END,
           l.missing OR coalesce(l.level OPERATOR(pg_catalog.<=) l.raise_at
                                 AND coalesce(l.bad_before, 0) OPERATOR(pg_catalog.>=) (l.min_breaches OPERATOR(pg_catalog.-) 1),
                                 false),
           l.missing OR coalesce(CASE WHEN l.how OPERATOR(pg_catalog.=) 'anomaly'
                                      THEN l.level OPERATOR(pg_catalog.<=) l.raise_at
                                      ELSE kpi.status(l.score OPERATOR(pg_catalog.-) l.recovery_margin, l.bands)
                                           OPERATOR(pg_catalog.<=) l.raise_at END, false),
           EXISTS (SELECT FROM kpi.silence si
                   WHERE si.indicator_id OPERATOR(pg_catalog.=) l.i
                     AND (si.scope_id IS NULL OR si.scope_id OPERATOR(pg_catalog.=) l.s)
                     AND si.until OPERATOR(pg_catalog.>) at),
           -- a person resolved the key's last alert and it got no worse since
           coalesce(pa.resolved_by OPERATOR(pg_catalog.<>) 'kpi'
                    AND pa.kind OPERATOR(pg_catalog.=) CASE WHEN l.missing THEN 'no_data'
                                                            WHEN l.how OPERATOR(pg_catalog.=) 'anomaly' THEN 'anomaly'
                                                            ELSE 'status' END
                    AND CASE WHEN l.missing THEN 'amber'::kpi.status ELSE l.level END OPERATOR(pg_catalog.>=) pa.severity,
                    false)
    FROM levels l
    LEFT JOIN LATERAL (
        SELECT pa.resolved_by, pa.kind, pa.severity FROM kpi.alert pa
        WHERE pa.indicator_id OPERATOR(pg_catalog.=) l.i AND pa.scope_id OPERATOR(pg_catalog.=) l.s
          AND pa.period OPERATOR(kpi.=) l.p
        ORDER BY pa.id DESC LIMIT 1) pa ON true;
END

$$;
COMMENT ON FUNCTION kpi.judgement(bigint[], bigint[], kpi.period[], timestamptz) IS
    'the alert each (indicator, scope, period) key should have at `at`, judged afresh from the data: kind, basis, score, severity, whether to raise and whether an open alert holds';

-- kpi.judge: the judgement of one key, by codes: why a key has an alert,
-- or why not.  Nothing is written.
CREATE FUNCTION kpi.judge(indicator text, scope text, period kpi.period,
                          at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (kind text, basis text, value float8, attainment float8, score float8,
                   severity kpi.status, raise boolean, hold boolean, silenced boolean, dismissed boolean)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT j.kind, j.basis, j.value, j.attainment, j.score, j.severity, j.raise, j.hold, j.silenced, j.dismissed
    FROM kpi.judgement(ARRAY[kpi.indicator_id(indicator)], ARRAY[kpi.scope_id(scope)], ARRAY[period], at) j
$$;
COMMENT ON FUNCTION kpi.judge(text, text, kpi.period, timestamptz) IS
    'the judgement of one key at a time (kpi.judgement by codes): kind, basis, score, severity, whether it raises, holds, is silenced or was dismissed by hand; writes nothing';

-- ---------------------------------------------------------------------
-- 4. Applying the judgement: raise, follow, resolve; incidents
-- ---------------------------------------------------------------------

-- kpi.alert_log: one event of an alert, with the alert's state after it.
CREATE FUNCTION kpi.alert_log(alert_id bigint, kind text, actor text, note text DEFAULT NULL)
    RETURNS void
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
    SELECT a.id, alert_log.kind, alert_log.actor, a.state, a.severity, a.value, a.attainment, alert_log.note
    FROM kpi.alert a WHERE a.id OPERATOR(pg_catalog.=) alert_log.alert_id;
END;
COMMENT ON FUNCTION kpi.alert_log(bigint, text, text, text) IS
    'log an event of an alert with its current state, severity and figures (with the caller''s rights)';
-- (it runs with the caller's rights: a consumer's acknowledgement logs
-- what it may log anyway)

-- kpi.alert_promote: the lead of an incident was resolved; the oldest
-- alert of the incident still unresolved leads it now.  If nobody had
-- acknowledged the incident, it is delivered again under its new lead.
CREATE FUNCTION kpi.alert_promote(old_lead bigint, at timestamptz) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lead kpi.alert;
    ind bigint := (SELECT o.indicator_id FROM kpi.alert o WHERE o.id OPERATOR(pg_catalog.=) old_lead);
BEGIN
    -- (the indicator lets the (indicator_id, incident_id) index find them)
    SELECT * INTO lead FROM kpi.alert a
    WHERE a.indicator_id OPERATOR(pg_catalog.=) ind
      AND a.incident_id OPERATOR(pg_catalog.=) old_lead AND a.state OPERATOR(pg_catalog.<>) 'resolved'
      AND a.id OPERATOR(pg_catalog.<>) old_lead
    ORDER BY a.id LIMIT 1 FOR UPDATE;
    IF NOT FOUND THEN
        RETURN NULL;
    END IF;
    UPDATE kpi.alert a SET incident_id = lead.id, updated_at = at
    WHERE a.indicator_id OPERATOR(pg_catalog.=) ind
      AND a.incident_id OPERATOR(pg_catalog.=) old_lead AND a.state OPERATOR(pg_catalog.<>) 'resolved'
      AND a.id OPERATOR(pg_catalog.<>) old_lead;
    -- the incident keeps its escalation: the new lead starts where the old
    -- one was, with its assignee
    UPDATE kpi.alert a SET notified_at = at, lease_until = NULL,
                           escalation_level = GREATEST(a.escalation_level, o.escalation_level),
                           assignee = CASE WHEN o.escalation_level OPERATOR(pg_catalog.>) a.escalation_level
                                           THEN o.assignee ELSE a.assignee END
    FROM kpi.alert o
    WHERE a.id OPERATOR(pg_catalog.=) lead.id AND o.id OPERATOR(pg_catalog.=) old_lead;
    PERFORM kpi.alert_log(lead.id, 'promote', 'kpi', format('leads incident %s after alert %s', lead.id, old_lead));
    IF lead.state OPERATOR(pg_catalog.=) 'open' THEN
        PERFORM pg_catalog.pg_notify('kpi_alert', lead.id::text);
    END IF;
    RETURN lead.id;
END
$$;
COMMENT ON FUNCTION kpi.alert_promote(bigint, timestamptz) IS
    'after an incident''s lead is resolved, make its oldest unresolved alert the lead (delivered again unless acknowledged); with the caller''s rights';
-- (with the caller's rights: a consumer resolving a lead hands on the
-- alerts it sees; kpi.evaluate() hands on any it could not)

-- kpi.alert_raise: a new alert for a key.  It joins the oldest open
-- incident of its indicator that holds a related key: a scope above or
-- below it (or the same) and an overlapping period (the month's quarter
-- and year, the region and company it drags down).  No notification then
-- (the lead was delivered and shows its members), unless the new alert is
-- worse than all the incident holds and the lead was not notified in this
-- same cycle: then the lead is notified again.
-- Otherwise it leads a new incident and is delivered.  Raisers of one indicator take turns here,
-- so two writers cannot both open an incident for one problem.
CREATE FUNCTION kpi.alert_raise(j record, at timestamptz) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lead kpi.alert;
    new_id bigint;
    who text;
    worse boolean;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(7040105, pg_catalog.hashint8(j.indicator_id));
    -- the oldest open incident with an unresolved alert on a related key
    SELECT l.* INTO lead FROM kpi.alert l
    WHERE l.id OPERATOR(pg_catalog.=) (
        SELECT pg_catalog.min(coalesce(a.incident_id, a.id)) FROM kpi.alert a
        WHERE a.indicator_id OPERATOR(pg_catalog.=) j.indicator_id AND a.state OPERATOR(pg_catalog.<>) 'resolved'
          AND a.period OPERATOR(kpi.&&) j.period
          AND (a.scope_id OPERATOR(pg_catalog.=) ANY (kpi.scope_descendants(j.scope_id))
               OR j.scope_id OPERATOR(pg_catalog.=) ANY (kpi.scope_descendants(a.scope_id))));
    -- is the new alert worse than everything the incident holds?
    worse := lead.id IS NOT NULL AND j.severity OPERATOR(pg_catalog.<) (
        SELECT pg_catalog.min(a.severity) FROM kpi.alert a
        WHERE coalesce(a.incident_id, a.id) OPERATOR(pg_catalog.=) lead.id AND a.state OPERATOR(pg_catalog.<>) 'resolved');
    SELECT i.owner INTO who FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) j.indicator_id;
    new_id := pg_catalog.nextval('kpi.alert_id_seq');
    INSERT INTO kpi.alert (id, indicator_id, scope_id, period, rule_id, state, severity, value, attainment,
                           assignee, raised_at, notified_at, updated_at, acked_at, acked_by,
                           kind, basis, score, incident_id)
    VALUES (new_id, j.indicator_id, j.scope_id, j.period, j.rule_id,
            CASE WHEN lead.state OPERATOR(pg_catalog.=) 'acked' THEN 'acked' ELSE 'open' END,
            j.severity, j.value, j.attainment, who, at, at, at,
            CASE WHEN lead.state OPERATOR(pg_catalog.=) 'acked' THEN at END, lead.acked_by,
            j.kind, j.basis, j.score, coalesce(lead.id, new_id))
    ON CONFLICT (indicator_id, scope_id, period) WHERE state OPERATOR(pg_catalog.<>) 'resolved' DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;               -- another transaction's alert is unresolved
    END IF;
    IF lead.id IS NULL THEN
        PERFORM kpi.alert_log(new_id, 'raise', 'kpi');
        PERFORM pg_catalog.pg_notify('kpi_alert', new_id::text);
    ELSE
        PERFORM kpi.alert_log(new_id, 'raise', 'kpi', format('in incident %s', lead.id));
        IF worse AND lead.notified_at OPERATOR(pg_catalog.<) at THEN
            -- a worse problem joined the incident: its people hear of it,
            -- acknowledged or not (it is new, not a repeat)
            UPDATE kpi.alert a SET notified_at = at, updated_at = at WHERE a.id OPERATOR(pg_catalog.=) lead.id;
            PERFORM kpi.alert_log(lead.id, 'worsen', 'kpi', format('alert %s joined, %s', new_id, j.severity));
            PERFORM pg_catalog.pg_notify('kpi_alert', lead.id::text);
        END IF;
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION kpi.alert_raise(record, timestamptz) IS
    'internal: raise an alert for a judged key, in its indicator''s open incident or as the lead of a new one';
REVOKE EXECUTE ON FUNCTION kpi.alert_raise(record, timestamptz) FROM PUBLIC;

-- kpi.alert_judge: judge the keys afresh and bring their alerts in line:
-- raise where one is due, follow the severity, resolve where the key
-- recovered ('recover') or its basis went away ('withdraw': no rule, no
-- target, no data, another kind).  The keys' kpi.actual rows are locked
-- first, in the order every writer locks them, so a writer and an
-- evaluation of one key take turns and the later one sees the other's
-- data.  Returns the number of alerts raised or resolved.
CREATE FUNCTION kpi.alert_judge(ind bigint[], scp bigint[], per kpi.period[],
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
        ORDER BY x.indicator_id, x.scope_id, x.period
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
COMMENT ON FUNCTION kpi.alert_judge(bigint[], bigint[], kpi.period[], timestamptz, boolean) IS
    'internal: judge keys afresh (kpi.judgement) and raise, update or resolve their alerts; returns alerts raised or resolved';
REVOKE EXECUTE ON FUNCTION kpi.alert_judge(bigint[], bigint[], kpi.period[], timestamptz, boolean) FROM PUBLIC;

-- kpi.alert_watched_ids: the indicators (of those given, or of all) whose
-- keys are judged for alerts: an enabled rule, a data_due, or an
-- unresolved alert.  The one definition of "watched".
CREATE FUNCTION kpi.alert_watched_ids(among bigint[] DEFAULT NULL) RETURNS bigint[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT pg_catalog.array_agg(x.id ORDER BY x.id) FROM kpi.indicator x
    WHERE (among IS NULL OR x.id OPERATOR(pg_catalog.=) ANY (among))
      AND (x.data_due IS NOT NULL
           OR EXISTS (SELECT FROM kpi.alert_rule r WHERE r.indicator_id OPERATOR(pg_catalog.=) x.id AND r.enabled)
           OR EXISTS (SELECT FROM kpi.alert a WHERE a.indicator_id OPERATOR(pg_catalog.=) x.id
                                              AND a.state OPERATOR(pg_catalog.<>) 'resolved'));
END;
COMMENT ON FUNCTION kpi.alert_watched_ids(bigint[]) IS
    'the indicators (among those given, NULL = all) whose keys are judged for alerts: an enabled rule, a data_due or an unresolved alert; NULL when none';

CREATE FUNCTION kpi.alert_watched(indicator_id bigint) RETURNS boolean
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT kpi.alert_watched_ids(CASE WHEN alert_watched.indicator_id IS NOT NULL
                                      THEN ARRAY[alert_watched.indicator_id] END) IS NOT NULL;
END;
COMMENT ON FUNCTION kpi.alert_watched(bigint) IS
    'whether an indicator''s keys are judged for alerts (kpi.alert_watched_ids); NULL: whether any indicator''s are';

-- kpi.alert_written: called by the measurement and target triggers with
-- the keys a statement wrote.  A key of a scope without children is
-- judged at once, in the writer's transaction (its kpi.actual row is
-- locked by the writer already).  Every other key (a region's, the
-- company's, and each written key's ancestors) goes to kpi.alert_queue
-- for the next kpi.evaluate(): judging them here would make writers on
-- different branches wait for one another on the shared keys.
CREATE FUNCTION kpi.alert_written(ind bigint[], scp bigint[], per kpi.period[]) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    li bigint[];
    ls bigint[];
    lp kpi.period[];
BEGIN
    WITH RECURSIVE w AS MATERIALIZED (
        -- the statement's indicators whose keys are judged
        SELECT pg_catalog.unnest(kpi.alert_watched_ids(ARRAY(SELECT DISTINCT x.i FROM pg_catalog.unnest(ind) AS x(i)))) AS i
    ),
    k AS (
        SELECT DISTINCT u.i, u.s, u.p FROM ROWS FROM (pg_catalog.unnest(ind), pg_catalog.unnest(scp), pg_catalog.unnest(per)) AS u(i, s, p)
        WHERE u.i OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT w.i FROM w))
    ),
    -- each written scope (depth 0) and its ancestors
    up(origin, id, parent_id, depth) AS (
        SELECT s.id, s.id, s.parent_id, 0 FROM kpi.scope s
        WHERE s.id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT DISTINCT k.s FROM k))
        UNION ALL
        SELECT up.origin, s.id, s.parent_id, up.depth OPERATOR(pg_catalog.+) 1
        FROM up JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) up.parent_id
    ),
    kk AS (
        SELECT k.i, up.id AS s, k.p,
               up.depth OPERATOR(pg_catalog.=) 0 AND kpi.alert_in_writer()
               AND NOT EXISTS (SELECT FROM kpi.scope c WHERE c.parent_id OPERATOR(pg_catalog.=) up.id) AS now
        FROM k JOIN up ON up.origin OPERATOR(pg_catalog.=) k.s
    ),
    -- later periods whose judgement reads this one: the next min_breaches
    -- - 1 (consecutive periods) or anomaly_window (the normal range)
    ahead AS (
        SELECT r.indicator_id AS i,
               pg_catalog.max(CASE WHEN r.basis OPERATOR(pg_catalog.=) 'anomaly' THEN r.anomaly_window
                                   ELSE r.min_breaches OPERATOR(pg_catalog.-) 1 END) AS n
        FROM kpi.alert_rule r
        WHERE r.enabled AND r.indicator_id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT w.i FROM w))
        GROUP BY r.indicator_id
        HAVING pg_catalog.max(CASE WHEN r.basis OPERATOR(pg_catalog.=) 'anomaly' THEN r.anomaly_window
                                   ELSE r.min_breaches OPERATOR(pg_catalog.-) 1 END) OPERATOR(pg_catalog.>) 0
    ),
    later AS (
        SELECT kk.i, kk.s, kk.p OPERATOR(kpi.+) g AS p
        FROM kk
        JOIN ahead ON ahead.i OPERATOR(pg_catalog.=) kk.i
        CROSS JOIN LATERAL pg_catalog.generate_series(1, ahead.n) g
        WHERE kpi.end_date(kk.p) OPERATOR(pg_catalog.<) '9999-01-01'::date
    ),
    queued AS (
        INSERT INTO kpi.alert_queue (indicator_id, scope_id, period)
        SELECT kk.i, kk.s, kk.p FROM kk WHERE NOT kk.now
        UNION
        SELECT l.i, l.s, l.p FROM later l
        RETURNING 1
    )
    SELECT pg_catalog.array_agg(kk.i), pg_catalog.array_agg(kk.s), pg_catalog.array_agg(kk.p)
      INTO li, ls, lp
    FROM kk WHERE kk.now;
    IF li IS NOT NULL THEN
        PERFORM kpi.alert_judge(li, ls, lp, pg_catalog.now(), true);
    END IF;
END
$$;
COMMENT ON FUNCTION kpi.alert_written(bigint[], bigint[], kpi.period[]) IS
    'internal (the measurement and target triggers): judge the written keys of leaf scopes now, queue the others and every ancestor for kpi.evaluate()';
REVOKE EXECUTE ON FUNCTION kpi.alert_written(bigint[], bigint[], kpi.period[]) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- 5. Inputs that change many keys at once queue them
-- ---------------------------------------------------------------------

-- kpi.alert_inputs: a change of a rule or silence queues every key of its
-- indicator; of an indicator's agg, bands, grains, data_due or lifecycle,
-- every key of that indicator; of a link, both indicators'; a scope moved
-- or removed, and a TRUNCATE, every key.  kpi.evaluate() judges them.
CREATE FUNCTION kpi.alert_inputs() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER'
       OR NOT TG_TABLE_NAME OPERATOR(pg_catalog.=) ANY ('{alert_rule,silence,indicator,link,scope,measurement,target}')
       OR (TG_LEVEL OPERATOR(pg_catalog.=) 'STATEMENT') OPERATOR(pg_catalog.<>) (TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE') THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
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
COMMENT ON FUNCTION kpi.alert_inputs() IS
    'trigger: queue the keys whose alerts a change of rules, silences, indicators, links or scopes (or a TRUNCATE) can change';
REVOKE EXECUTE ON FUNCTION kpi.alert_inputs() FROM PUBLIC;

CREATE TRIGGER alert_inputs AFTER INSERT OR UPDATE OR DELETE ON kpi.alert_rule
    FOR EACH ROW EXECUTE FUNCTION kpi.alert_inputs();
CREATE TRIGGER alert_inputs_truncate AFTER TRUNCATE ON kpi.alert_rule
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.alert_inputs();
CREATE TRIGGER alert_inputs AFTER INSERT OR UPDATE OR DELETE ON kpi.silence
    FOR EACH ROW EXECUTE FUNCTION kpi.alert_inputs();
CREATE TRIGGER alert_inputs_truncate AFTER TRUNCATE ON kpi.silence
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.alert_inputs();
CREATE TRIGGER alert_inputs AFTER UPDATE OF agg, bands, grains, data_due, lifecycle ON kpi.indicator
    FOR EACH ROW EXECUTE FUNCTION kpi.alert_inputs();
CREATE TRIGGER alert_inputs AFTER INSERT OR UPDATE OR DELETE ON kpi.link
    FOR EACH ROW EXECUTE FUNCTION kpi.alert_inputs();
CREATE TRIGGER alert_inputs AFTER UPDATE OF parent_id OR DELETE ON kpi.scope
    FOR EACH ROW EXECUTE FUNCTION kpi.alert_inputs();
CREATE TRIGGER alert_inputs_truncate AFTER TRUNCATE ON kpi.measurement
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.alert_inputs();
CREATE TRIGGER alert_inputs_truncate AFTER TRUNCATE ON kpi.target
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.alert_inputs();

-- ---------------------------------------------------------------------
-- 6. kpi.evaluate(): the queue, and what time alone changes
-- ---------------------------------------------------------------------

-- kpi.alert_keys: the keys a queued entry stands for (NULL = every):
-- every key with data in the subtree (each scope's rolled-up key), with a
-- target, or with an unresolved alert.
CREATE FUNCTION kpi.alert_keys(ind bigint, scp bigint, per kpi.period)
    RETURNS TABLE (indicator_id bigint, scope_id bigint, period kpi.period)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT ind, scp, per WHERE ind IS NOT NULL AND scp IS NOT NULL AND per IS NOT NULL
    UNION
    SELECT a.indicator_id, t.ancestor_id, a.period
    FROM kpi.actual a JOIN kpi.scope_tree t ON t.scope_id OPERATOR(pg_catalog.=) a.scope_id
    WHERE (scp IS NULL OR per IS NULL)
      AND (ind IS NULL OR a.indicator_id OPERATOR(pg_catalog.=) ind)
      AND (scp IS NULL OR t.ancestor_id OPERATOR(pg_catalog.=) scp)
      AND (per IS NULL OR a.period OPERATOR(kpi.=) per)
      AND a.indicator_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.alert_watched_ids())::bigint[])
    UNION
    SELECT a.indicator_id, a.scope_id, a.period FROM kpi.alert a
    WHERE (scp IS NULL OR per IS NULL) AND a.state OPERATOR(pg_catalog.<>) 'resolved'
      AND (ind IS NULL OR a.indicator_id OPERATOR(pg_catalog.=) ind)
      AND (scp IS NULL OR a.scope_id OPERATOR(pg_catalog.=) scp)
      AND (per IS NULL OR a.period OPERATOR(kpi.=) per)
$$;
COMMENT ON FUNCTION kpi.alert_keys(bigint, bigint, kpi.period) IS
    'the keys a queued entry stands for (NULL = every): rolled-up keys with data or a target, and keys with an unresolved alert';

-- kpi.periods_ended: the periods of every grain whose end (the midnight
-- after their last day, in zone tz) falls in (after, upto].  NULL when the
-- window spans more than 400 days (then every period counts: the caller
-- sweeps all keys).
CREATE FUNCTION kpi.periods_ended(after timestamptz, upto timestamptz, tz text)
    RETURNS kpi.period[]
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT CASE WHEN after OPERATOR(pg_catalog.<) (upto OPERATOR(pg_catalog.-) interval '400 days') THEN NULL
                ELSE coalesce(pg_catalog.array_agg(DISTINCT p.period), '{}') END
    FROM pg_catalog.generate_series(
             (GREATEST(after, upto OPERATOR(pg_catalog.-) interval '400 days') AT TIME ZONE tz)::date
                 OPERATOR(pg_catalog.-) 1,
             (upto AT TIME ZONE tz)::date, interval '1 day') d
    CROSS JOIN pg_catalog.unnest('{day,week,month,quarter,half,year}'::text[]) g
    CROSS JOIN LATERAL (SELECT kpi.period(d::date, g) AS period) p
    WHERE ((kpi.end_date(p.period) OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz) OPERATOR(pg_catalog.>) after
      AND ((kpi.end_date(p.period) OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz) OPERATOR(pg_catalog.<=) upto
$$;
COMMENT ON FUNCTION kpi.periods_ended(timestamptz, timestamptz, text) IS
    'the periods of every grain that ended (in zone tz) after one time and up to another; NULL for a window of more than 400 days';

-- kpi.evaluate(at): run it every minute (pg_cron, docs/alerts.md).  It
--   1. judges the queued keys (levels above the written scope, changed
--      rules, silences, indicators ...);
--   2. judges what time alone changed since the last run: periods that
--      ended (pace gives way to attainment), data that became overdue,
--      silences that expired;
--   3. re-notifies unacknowledged incidents after their rule's
--      repeat_after, dead-letters those delivered max_deliveries times
--      without an acknowledgement, escalates due steps, and flags red
--      alerts without an action item after plan_within.
-- Until it runs, nothing is wrong, only late.  Evaluations run one at a
-- time (they lock kpi.alert_clock).
CREATE FUNCTION kpi.evaluate(at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (judged integer, changed integer, repeated integer, dead_lettered integer,
                   escalated integer, unplanned integer)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
DECLARE
    last timestamptz;
    ki bigint[];
    ks bigint[];
    kp kpi.period[];
    r record;
BEGIN
    IF at IS NULL OR NOT pg_catalog.isfinite(at) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'kpi.evaluate needs a finite time';
    END IF;
    INSERT INTO kpi.alert_clock (id, evaluated_at) VALUES (true, '-infinity') ON CONFLICT (id) DO NOTHING;
    SELECT c.evaluated_at INTO last FROM kpi.alert_clock c FOR UPDATE;
    judged := 0; changed := 0; repeated := 0; dead_lettered := 0; escalated := 0; unplanned := 0;

    -- 1 and 2: the keys to judge
    WITH q AS (
        DELETE FROM kpi.alert_queue RETURNING indicator_id, scope_id, period
    ), timed AS (
        -- keys with a target whose period ended, or whose data became due,
        -- since the last run (all of them on the first run, or after a
        -- pause of more than 400 days)
        SELECT a.indicator_id, a.scope_id, a.period
        FROM kpi.actual a
        CROSS JOIN (SELECT kpi.periods_ended(last, at, kpi.time_zone()) AS ended) e
        WHERE a.target IS NOT NULL AND a.indicator_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.alert_watched_ids())::bigint[])
          AND (e.ended IS NULL OR a.period OPERATOR(kpi.=) ANY (e.ended))
        UNION ALL
        SELECT a.indicator_id, a.scope_id, a.period
        FROM (SELECT DISTINCT i.data_due FROM kpi.indicator i WHERE i.data_due IS NOT NULL) d
        CROSS JOIN LATERAL (SELECT kpi.periods_ended(last OPERATOR(pg_catalog.-) d.data_due,
                                                     at OPERATOR(pg_catalog.-) d.data_due,
                                                     kpi.time_zone()) AS ended) e
        JOIN kpi.indicator i ON i.data_due OPERATOR(pg_catalog.=) d.data_due
        JOIN kpi.actual a ON a.indicator_id OPERATOR(pg_catalog.=) i.id
        WHERE a.target IS NOT NULL AND (e.ended IS NULL OR a.period OPERATOR(kpi.=) ANY (e.ended))
        UNION ALL
        -- anomaly rules need no target: every scope's key of an ended period
        SELECT DISTINCT ar.indicator_id, NULL::bigint, e.p
        FROM kpi.alert_rule ar
        CROSS JOIN (SELECT kpi.periods_ended(last, at, kpi.time_zone()) AS ended) x
        CROSS JOIN LATERAL (SELECT pg_catalog.unnest(x.ended) AS p WHERE x.ended IS NOT NULL
                            UNION ALL SELECT NULL::kpi.period WHERE x.ended IS NULL) e
        WHERE ar.enabled AND ar.basis OPERATOR(pg_catalog.=) 'anomaly'
        UNION ALL
        -- silences that expired
        SELECT s.indicator_id, NULL, NULL FROM kpi.silence s
        WHERE s.until OPERATOR(pg_catalog.>) last AND s.until OPERATOR(pg_catalog.<=) at
    ), wanted AS (
        SELECT * FROM q UNION SELECT * FROM timed
    ), keys AS (
        SELECT DISTINCT x.indicator_id, x.scope_id, x.period
        FROM wanted w CROSS JOIN LATERAL kpi.alert_keys(w.indicator_id, w.scope_id, w.period) x
    )
    SELECT pg_catalog.array_agg(k.indicator_id ORDER BY k.indicator_id, k.scope_id, k.period),
           pg_catalog.array_agg(k.scope_id ORDER BY k.indicator_id, k.scope_id, k.period),
           pg_catalog.array_agg(k.period ORDER BY k.indicator_id, k.scope_id, k.period)
      INTO ki, ks, kp
    FROM keys k;
    IF ki IS NOT NULL THEN
        judged := pg_catalog.cardinality(ki);
        changed := kpi.alert_judge(ki, ks, kp, at);
    END IF;

    -- 3a. unacknowledged incidents: repeat after repeat_after
    FOR r IN
        SELECT a.id FROM kpi.alert a JOIN kpi.alert_rule ru ON ru.id OPERATOR(pg_catalog.=) a.rule_id
        WHERE a.state OPERATOR(pg_catalog.=) 'open' AND coalesce(a.incident_id, a.id) OPERATOR(pg_catalog.=) a.id
          AND ru.repeat_after IS NOT NULL
          AND a.notified_at OPERATOR(pg_catalog.+) ru.repeat_after OPERATOR(pg_catalog.<=) at
        ORDER BY a.id FOR UPDATE OF a SKIP LOCKED
    LOOP
        UPDATE kpi.alert a SET notified_at = at, lease_until = NULL, updated_at = at
        WHERE a.id OPERATOR(pg_catalog.=) r.id;
        PERFORM kpi.alert_log(r.id, 'repeat', 'kpi');
        PERFORM pg_catalog.pg_notify('kpi_alert', r.id::text);
        repeated := repeated + 1;
    END LOOP;

    -- 3b. delivered max_deliveries times, lease over, no acknowledgement:
    -- dead letter (no longer delivered), and the next escalation step now
    FOR r IN
        SELECT a.id, a.escalation_level, ru.escalate_to FROM kpi.alert a
        LEFT JOIN kpi.alert_rule ru ON ru.id OPERATOR(pg_catalog.=) a.rule_id
        WHERE a.state OPERATOR(pg_catalog.=) 'open'
          AND a.delivery_count OPERATOR(pg_catalog.>=) coalesce(ru.max_deliveries, 5)
          AND (a.lease_until IS NULL OR a.lease_until OPERATOR(pg_catalog.<=) at)
        ORDER BY a.id FOR UPDATE OF a SKIP LOCKED
    LOOP
        UPDATE kpi.alert a SET state = 'dead', lease_until = NULL, updated_at = at,
               escalation_level = LEAST(a.escalation_level OPERATOR(pg_catalog.+) 1,
                                        coalesce(pg_catalog.cardinality(r.escalate_to), 0)),
               assignee = coalesce(r.escalate_to[r.escalation_level OPERATOR(pg_catalog.+) 1], a.assignee),
               notified_at = at
        WHERE a.id OPERATOR(pg_catalog.=) r.id;
        PERFORM kpi.alert_log(r.id, 'dead_letter', 'kpi',
                              CASE WHEN r.escalate_to[r.escalation_level OPERATOR(pg_catalog.+) 1] IS NOT NULL
                                   THEN format('escalated to %s', r.escalate_to[r.escalation_level OPERATOR(pg_catalog.+) 1]) END);
        PERFORM pg_catalog.pg_notify('kpi_alert', r.id::text);
        dead_lettered := dead_lettered + 1;
    END LOOP;

    -- 3b'. incidents whose lead was resolved by a consumer that could not
    -- see all of its alerts: handed on here
    FOR r IN
        SELECT DISTINCT m.incident_id FROM kpi.alert m
        JOIN kpi.alert l ON l.id OPERATOR(pg_catalog.=) m.incident_id
        WHERE m.state OPERATOR(pg_catalog.<>) 'resolved' AND l.state OPERATOR(pg_catalog.=) 'resolved'
          AND m.id OPERATOR(pg_catalog.<>) m.incident_id
        ORDER BY m.incident_id
    LOOP
        PERFORM kpi.alert_promote(r.incident_id, at);
    END LOOP;

    -- 3c. escalation steps that fell due
    escalated := kpi.alert_escalate(at);

    -- 3d. red without a plan
    FOR r IN
        SELECT a.id FROM kpi.alert a JOIN kpi.alert_rule ru ON ru.id OPERATOR(pg_catalog.=) a.rule_id
        WHERE a.state OPERATOR(pg_catalog.<>) 'resolved' AND a.severity OPERATOR(pg_catalog.=) 'red'
          AND a.unplanned_at IS NULL AND ru.plan_within IS NOT NULL
          AND a.raised_at OPERATOR(pg_catalog.+) ru.plan_within OPERATOR(pg_catalog.<=) at
          AND NOT kpi.has_action(a)
        ORDER BY a.id FOR UPDATE OF a SKIP LOCKED
    LOOP
        UPDATE kpi.alert a SET unplanned_at = at, updated_at = at WHERE a.id OPERATOR(pg_catalog.=) r.id;
        PERFORM kpi.alert_log(r.id, 'unplanned', 'kpi', 'red with no action item');
        unplanned := unplanned + 1;
    END LOOP;

    UPDATE kpi.alert_clock c SET evaluated_at = GREATEST(c.evaluated_at, at);
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION kpi.evaluate(timestamptz) IS
    'judge the queued keys and what time changed (ended periods, overdue data, expired silences), repeat, dead-letter, escalate and flag red alerts without a plan; run it every minute (pg_cron); returns what it did';
REVOKE EXECUTE ON FUNCTION kpi.evaluate(timestamptz) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- 7. The consumer's side: incidents
-- ---------------------------------------------------------------------

-- kpi.alert_claim: as before, but only the lead of each incident is
-- delivered (the other alerts of the incident are shown with it in
-- kpi.incident), dead letters are not, and the claim event is written
-- only while kpi.log_claims is on.
CREATE OR REPLACE FUNCTION kpi.alert_claim(consumer text, max integer DEFAULT 1,
                                           lease interval DEFAULT '30 seconds') RETURNS SETOF kpi.alert
    LANGUAGE plpgsql VOLATILE
    -- the plan is the same whatever max is: plan it once per session
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
AS $$
BEGIN
    IF consumer IS NULL OR max IS NULL OR max < 1 OR lease IS NULL OR lease <= interval '0' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'kpi.alert_claim needs a consumer, max >= 1 and a positive lease';
    END IF;
    RETURN QUERY
    WITH picked AS (
        SELECT a.id FROM kpi.alert a
        WHERE a.state OPERATOR(pg_catalog.=) 'open' AND coalesce(a.incident_id, a.id) OPERATOR(pg_catalog.=) a.id
          AND (a.lease_until IS NULL OR a.lease_until OPERATOR(pg_catalog.<=) pg_catalog.now())
        ORDER BY a.severity, a.raised_at, a.id
        LIMIT max
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE kpi.alert a
        SET lease_until = pg_catalog.now() OPERATOR(pg_catalog.+) lease,
            claimed_by = consumer,
            delivery_count = a.delivery_count OPERATOR(pg_catalog.+) 1,
            updated_at = pg_catalog.now()
        FROM picked WHERE a.id OPERATOR(pg_catalog.=) picked.id
        RETURNING a.*
    ), logged AS (
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment)
        SELECT c.id, 'claim', consumer, c.state, c.severity, c.value, c.attainment FROM claimed c
        WHERE kpi.alert_log_claims()
    )
    SELECT * FROM claimed ORDER BY severity, raised_at, id;
END
$$;
COMMENT ON FUNCTION kpi.alert_claim(text, integer, interval) IS
    'lease up to max incidents (their lead alerts) to a consumer (SKIP LOCKED), worst first; expired leases are claimable again, dead letters are not';

-- kpi.alert_transition: acknowledging an incident's lead acknowledges
-- the incident (every alert of it not yet acknowledged); resolving a lead
-- hands the incident to its next alert.  Dead letters take both.
CREATE OR REPLACE FUNCTION kpi.alert_transition(alert_id bigint, who text, note text, target_state text,
                                                finding bigint DEFAULT NULL)
    RETURNS kpi.alert
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a kpi.alert;
    f kpi.finding;
BEGIN
    SELECT * INTO a FROM kpi.alert x WHERE x.id OPERATOR(pg_catalog.=) alert_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM kpi.alert_not_found(alert_id);
    END IF;
    IF a.state OPERATOR(pg_catalog.=) 'resolved' OR (target_state = 'acked' AND a.state = 'acked') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('alert %s is already %s', alert_id, a.state),
            HINT = CASE WHEN a.state = 'resolved' THEN 'A resolved alert takes no further transitions.'
                        ELSE 'Resolve it with kpi.alert_resolve().' END;
    END IF;
    IF finding IS NOT NULL THEN
        SELECT * INTO f FROM kpi.finding x WHERE x.id OPERATOR(pg_catalog.=) finding;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('unknown finding id: %s', finding),
                HINT = 'A role sees the findings of the reviews of its scopes.';
        END IF;
        IF f.indicator_id OPERATOR(pg_catalog.<>) a.indicator_id THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('finding %s is about another indicator than alert %s', finding, alert_id),
                DETAIL = 'An alert is resolved with a finding on its own indicator.';
        END IF;
    END IF;
    IF target_state = 'acked' THEN
        UPDATE kpi.alert x SET state = 'acked', acked_at = pg_catalog.now(), acked_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now()
        WHERE x.id OPERATOR(pg_catalog.=) alert_id RETURNING * INTO a;
    ELSE
        UPDATE kpi.alert x SET state = 'resolved', resolved_at = pg_catalog.now(), resolved_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now(),
                               finding_id = coalesce(finding, x.finding_id)
        WHERE x.id OPERATOR(pg_catalog.=) alert_id RETURNING * INTO a;
    END IF;
    INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
    VALUES (a.id, CASE target_state WHEN 'acked' THEN 'ack' ELSE 'resolve' END, who, a.state,
            a.severity, a.value, a.attainment,
            CASE WHEN finding IS NULL THEN note
                 ELSE concat_ws(' ', note, format('(finding %s)', finding)) END);
    IF coalesce(a.incident_id, a.id) OPERATOR(pg_catalog.=) a.id THEN
        IF target_state = 'acked' THEN
            PERFORM kpi.alert_ack_members(ARRAY[a.id], who, note);
        ELSE
            PERFORM kpi.alert_promote(a.id, pg_catalog.now());
        END IF;
    END IF;
    RETURN a;
END
$$;

-- kpi.alert_ack: one statement in the common case (an open or dead alert
-- the caller sees: update and log together); anything else goes through
-- kpi.alert_transition for its checks and errors.  Acknowledging a lead
-- acknowledges its incident.
CREATE OR REPLACE FUNCTION kpi.alert_ack(id bigint, who text, note text DEFAULT NULL) RETURNS kpi.alert
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    a kpi.alert;
BEGIN
    WITH acked AS (
        UPDATE kpi.alert x SET state = 'acked', acked_at = pg_catalog.now(), acked_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now()
        WHERE x.id OPERATOR(pg_catalog.=) alert_ack.id AND x.state OPERATOR(pg_catalog.=) ANY ('{open,dead}')
        RETURNING x.*
    ), logged AS (
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
        SELECT acked.id, 'ack', who, acked.state, acked.severity, acked.value, acked.attainment, alert_ack.note
        FROM acked
    )
    SELECT * INTO a FROM acked;
    IF NOT FOUND THEN
        -- unknown, not visible, already acknowledged or resolved
        RETURN kpi.alert_transition(alert_ack.id, who, alert_ack.note, 'acked');
    END IF;
    IF coalesce(a.incident_id, a.id) OPERATOR(pg_catalog.=) a.id THEN
        PERFORM kpi.alert_ack_members(ARRAY[a.id], who, alert_ack.note);
    END IF;
    RETURN a;
END
$$;
COMMENT ON FUNCTION kpi.alert_ack(bigint, text, text) IS
    'acknowledge an open (or dead-lettered) alert, and for a lead its whole incident: no more deliveries, repeats or escalation; errors on unknown, unseen, acknowledged or resolved alerts';

-- kpi.alert_ack_members: acknowledge the unacknowledged alerts of the
-- incidents these leads lead (logged, with the incident in the note).
CREATE FUNCTION kpi.alert_ack_members(leads bigint[], who text, note text) RETURNS integer
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
    WITH m AS (
        SELECT x.id, l.id AS lead FROM kpi.alert l
        JOIN kpi.alert x ON x.indicator_id OPERATOR(pg_catalog.=) l.indicator_id
                        AND x.incident_id OPERATOR(pg_catalog.=) l.id AND x.id OPERATOR(pg_catalog.<>) l.id
                        AND x.state OPERATOR(pg_catalog.=) ANY ('{open,dead}')
        WHERE l.id OPERATOR(pg_catalog.=) ANY (leads)
        ORDER BY x.id FOR UPDATE OF x
    ), acked AS (
        UPDATE kpi.alert x SET state = 'acked', acked_at = pg_catalog.now(), acked_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now()
        FROM m WHERE x.id OPERATOR(pg_catalog.=) m.id
        RETURNING x.*, m.lead
    ), logged AS (
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
        SELECT acked.id, 'ack', who, acked.state, acked.severity, acked.value, acked.attainment,
               pg_catalog.concat_ws(' ', note, pg_catalog.format('(incident %s)', acked.lead))
        FROM acked ORDER BY acked.id
        RETURNING 1
    )
    SELECT pg_catalog.count(*)::integer FROM logged
$$;
COMMENT ON FUNCTION kpi.alert_ack_members(bigint[], text, text) IS
    'acknowledge, with the caller''s rights, the open alerts of the incidents the given leads lead (kpi.alert_ack and kpi.alert_ack_many use it)';

-- kpi.alert_ack_many: acknowledge a consumer's whole batch in one call
-- (all or nothing, in id order): what a consumer that claims ten at a time
-- calls once instead of ten times.
CREATE FUNCTION kpi.alert_ack_many(ids bigint[], who text, note text DEFAULT NULL) RETURNS SETOF kpi.alert
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
    done bigint[];
    missing bigint;
BEGIN
    WITH acked AS (
        UPDATE kpi.alert x SET state = 'acked', acked_at = pg_catalog.now(), acked_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now()
        WHERE x.id OPERATOR(pg_catalog.=) ANY (ids) AND x.state OPERATOR(pg_catalog.=) ANY ('{open,dead}')
        RETURNING x.*
    ), logged AS (
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
        SELECT acked.id, 'ack', who, acked.state, acked.severity, acked.value, acked.attainment, alert_ack_many.note
        FROM acked ORDER BY acked.id
    )
    SELECT pg_catalog.array_agg(acked.id) INTO done FROM acked;
    -- an id not acknowledged (unknown, unseen, acknowledged or resolved):
    -- its error, and nothing of the batch is kept
    SELECT u.i INTO missing FROM pg_catalog.unnest(ids) u(i)
    WHERE u.i IS NULL OR NOT u.i OPERATOR(pg_catalog.=) ANY (coalesce(done, '{}')) LIMIT 1;
    IF FOUND THEN
        PERFORM kpi.alert_transition(missing, who, alert_ack_many.note, 'acked');
    END IF;
    PERFORM kpi.alert_ack_members(done, who, alert_ack_many.note);
    RETURN QUERY SELECT * FROM kpi.alert x WHERE x.id OPERATOR(pg_catalog.=) ANY (done) ORDER BY x.id;
END
$$;
COMMENT ON FUNCTION kpi.alert_ack_many(bigint[], text, text) IS
    'acknowledge a batch of alerts (and the incidents they lead) in one call, all or nothing; errors as kpi.alert_ack for the first id that cannot be acknowledged';

-- kpi.alert_escalate: only leads escalate (an incident moves as one), and
-- dead letters keep escalating on schedule.
CREATE OR REPLACE FUNCTION kpi.alert_escalate(at timestamptz DEFAULT pg_catalog.now()) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN
        SELECT a.id, step.k, r2.escalate_to[step.k] AS assignee, a.escalation_level AS from_level,
               r2.escalate_to AS chain
        FROM kpi.alert a
        JOIN kpi.alert_rule r2 ON r2.id OPERATOR(pg_catalog.=) a.rule_id
        CROSS JOIN LATERAL (
            SELECT max(k) AS k
            FROM pg_catalog.generate_subscripts(r2.escalate_after, 1) k
            WHERE a.raised_at OPERATOR(pg_catalog.+) r2.escalate_after[k] OPERATOR(pg_catalog.<=) at) step
        WHERE a.state OPERATOR(pg_catalog.=) ANY ('{open,dead}') AND coalesce(a.incident_id, a.id) OPERATOR(pg_catalog.=) a.id
          AND step.k OPERATOR(pg_catalog.>) a.escalation_level
        ORDER BY a.id
        FOR UPDATE OF a SKIP LOCKED
    LOOP
        UPDATE kpi.alert a SET escalation_level = r.k, assignee = r.assignee,
                               notified_at = at, lease_until = NULL,
                               updated_at = at
        WHERE a.id OPERATOR(pg_catalog.=) r.id;
        -- every step passed is logged (a cycle that comes late may pass
        -- several); one notification, to the last
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
        SELECT a.id, 'escalate', CURRENT_USER, a.state, a.severity, a.value, a.attainment,
               format('step %s: to %s', st, r.chain[st])
        FROM kpi.alert a, pg_catalog.generate_series(r.from_level OPERATOR(pg_catalog.+) 1, r.k) st
        WHERE a.id OPERATOR(pg_catalog.=) r.id
        ORDER BY st;
        PERFORM pg_catalog.pg_notify('kpi_alert', r.id::text);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION kpi.alert_escalate(timestamptz) IS
    'escalate unacknowledged incidents whose next step is due (kpi.evaluate() calls it); returns the count';

-- kpi.incident: one row per open incident: its lead, how many alerts it
-- groups and which, the worst severity among them.
CREATE VIEW kpi.incident WITH (security_invoker = true) AS
SELECT l.id                                        AS incident_id,
       i.code                                      AS indicator,
       l.assignee,
       l.state,
       (SELECT pg_catalog.min(m.severity) FROM kpi.alert m
        WHERE coalesce(m.incident_id, m.id) OPERATOR(pg_catalog.=) l.id AND m.state OPERATOR(pg_catalog.<>) 'resolved')::text AS severity,
       (SELECT pg_catalog.count(*) FROM kpi.alert m
        WHERE coalesce(m.incident_id, m.id) OPERATOR(pg_catalog.=) l.id AND m.state OPERATOR(pg_catalog.<>) 'resolved') AS alerts,
       (SELECT pg_catalog.string_agg(s.code OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) m.period::text
                                     OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) m.severity::text,
                                     ', ' ORDER BY m.id)
        FROM kpi.alert m JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) m.scope_id
        WHERE coalesce(m.incident_id, m.id) OPERATOR(pg_catalog.=) l.id AND m.state OPERATOR(pg_catalog.<>) 'resolved') AS keys,
       l.raised_at                                 AS opened_at,
       l.notified_at,
       l.delivery_count,
       l.escalation_level
FROM kpi.alert l
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) l.indicator_id
WHERE coalesce(l.incident_id, l.id) OPERATOR(pg_catalog.=) l.id AND l.state OPERATOR(pg_catalog.<>) 'resolved';
COMMENT ON VIEW kpi.incident IS
    'open incidents: related alerts of one indicator (scopes on one line, overlapping periods), led and delivered by the first of them';
COMMENT ON COLUMN kpi.incident.incident_id IS 'the incident, = the id of its lead alert';
COMMENT ON COLUMN kpi.incident.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.incident.assignee IS 'who it is assigned to (the indicator''s owner, or an escalation step)';
COMMENT ON COLUMN kpi.incident.state IS 'the lead''s state: open, acked or dead';
COMMENT ON COLUMN kpi.incident.severity IS 'the worst severity among its unresolved alerts';
COMMENT ON COLUMN kpi.incident.alerts IS 'how many unresolved alerts it groups';
COMMENT ON COLUMN kpi.incident.keys IS 'its unresolved alerts: scope, period and severity of each';
COMMENT ON COLUMN kpi.incident.opened_at IS 'when its lead was raised';
COMMENT ON COLUMN kpi.incident.notified_at IS 'its last notification';
COMMENT ON COLUMN kpi.incident.delivery_count IS 'how many times it was claimed';
COMMENT ON COLUMN kpi.incident.escalation_level IS 'escalation steps taken';

-- kpi.alert_followup gains red without a plan.
CREATE VIEW kpi.alert_followup WITH (security_invoker = true) AS
SELECT a.id                                       AS alert_id,
       i.code                                     AS indicator,
       s.code                                     AS scope,
       a.period::text                             AS period,
       a.state,
       a.severity::text                           AS severity,
       a.raised_at,
       a.finding_id                               AS resolved_with,
       (SELECT pg_catalog.array_agg(f.id ORDER BY f.id) FROM kpi.finding f
        WHERE f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id) AS findings,
       (SELECT pg_catalog.count(*) FROM kpi.action x JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
        WHERE f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id) AS actions,
       (SELECT pg_catalog.count(*) FROM kpi.action x JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
        WHERE (f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id)
          AND x.state IN ('open', 'in_progress')) AS open_actions,
       kpi.has_action(a)                          AS has_action,
       a.unplanned_at IS NOT NULL AND a.state OPERATOR(pg_catalog.<>) 'resolved'
           AND NOT kpi.has_action(a)              AS red_without_plan
FROM kpi.alert a
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) a.scope_id;
COMMENT ON VIEW kpi.alert_followup IS
    'every alert with what the review loop did about it: the findings it prompted or was resolved with, and their actions';
COMMENT ON COLUMN kpi.alert_followup.alert_id IS 'the alert';
COMMENT ON COLUMN kpi.alert_followup.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.alert_followup.scope IS 'scope code';
COMMENT ON COLUMN kpi.alert_followup.period IS 'the period judged';
COMMENT ON COLUMN kpi.alert_followup.state IS 'open, acked, dead or resolved';
COMMENT ON COLUMN kpi.alert_followup.severity IS 'red, amber ... while open';
COMMENT ON COLUMN kpi.alert_followup.raised_at IS 'when it was raised';
COMMENT ON COLUMN kpi.alert_followup.resolved_with IS 'the finding it was resolved with, if any';
COMMENT ON COLUMN kpi.alert_followup.findings IS 'ids of the findings it prompted or was resolved with';
COMMENT ON COLUMN kpi.alert_followup.actions IS 'actions on those findings';
COMMENT ON COLUMN kpi.alert_followup.open_actions IS 'of which open or in progress';
COMMENT ON COLUMN kpi.alert_followup.has_action IS 'an action exists for the alert';
COMMENT ON COLUMN kpi.alert_followup.red_without_plan IS
    'an unresolved red alert that kpi.evaluate() flagged for having no action item after its rule''s plan_within';

-- Privileges granted by hand on the two objects created again above.
DO $$
DECLARE
    g text;
BEGIN
    FOREACH g IN ARRAY pg_catalog.string_to_array(pg_catalog.current_setting('kpi.upgrade_grants'), ';') LOOP
        EXECUTE g;
    END LOOP;
END
$$;

-- The next kpi.evaluate() judges every key under the rules of 0.7.
INSERT INTO kpi.alert_queue (indicator_id) SELECT NULL WHERE kpi.alert_watched(NULL);

-- ---------------------------------------------------------------------
-- 8. kpi.verify() judges every key afresh; kpi.repair() re-judges
-- ---------------------------------------------------------------------

CREATE OR REPLACE FUNCTION kpi.verify()
    RETURNS TABLE (problem text, indicator text, scope text, period text, detail text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp SET jit = off
BEGIN ATOMIC
    WITH z AS (SELECT kpi.time_zone() AS zone),
    -- every measurement summarised afresh at its indicator's grains
    summed AS (
        SELECT m.indicator_id, m.scope_id, kpi.period(m.at, g.grain, z.zone) AS period,
               kpi.tally(m.value, m.at) FILTER (WHERE m.denominator IS NULL) AS t1,
               kpi.tally(m.value, m.denominator, m.at) FILTER (WHERE m.denominator IS NOT NULL) AS t2
        FROM kpi.measurement m
        JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
        CROSS JOIN LATERAL pg_catalog.unnest(i.grains) AS g(grain)
        CROSS JOIN z
        GROUP BY 1, 2, 3),
    fresh AS (
        SELECT coalesce(s.indicator_id, t.indicator_id) AS indicator_id,
               coalesce(s.scope_id, t.scope_id) AS scope_id,
               coalesce(s.period, t.period) AS period,
               coalesce(s.t1 OPERATOR(kpi.+) s.t2, s.t1, s.t2) AS tally
        FROM summed s
        FULL JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) s.indicator_id
                              AND t.scope_id OPERATOR(pg_catalog.=) s.scope_id
                              AND t.period OPERATOR(kpi.=) s.period),
    keys AS (
        SELECT coalesce(a.indicator_id, f.indicator_id) AS indicator_id,
               coalesce(a.scope_id, f.scope_id) AS scope_id,
               coalesce(a.period, f.period) AS period,
               a.indicator_id IS NOT NULL AS in_actual, f.indicator_id IS NOT NULL AS expected,
               a.tally AS kept, f.tally AS fresh,
               a.value, a.target, a.attainment, a.status
        FROM kpi.actual a
        FULL JOIN fresh f ON f.indicator_id OPERATOR(pg_catalog.=) a.indicator_id
                         AND f.scope_id OPERATOR(pg_catalog.=) a.scope_id
                         AND f.period OPERATOR(kpi.=) a.period),
    actual_problems AS (
        SELECT 'actual missing' AS problem, k.indicator_id, k.scope_id, k.period,
               'the key has measurements or a target but no kpi.actual row' AS detail
        FROM keys k WHERE NOT k.in_actual
        UNION ALL
        SELECT 'actual extra', k.indicator_id, k.scope_id, k.period,
               'kpi.actual has a row for a key with neither measurements nor a target'
        FROM keys k WHERE k.in_actual AND NOT k.expected
        UNION ALL
        SELECT 'actual tally', k.indicator_id, k.scope_id, k.period,
               format('kept %s, fresh %s', k.kept, coalesce(k.fresh::text, 'empty'))
        FROM keys k
        CROSS JOIN LATERAL (SELECT coalesce(k.fresh, kpi.tally(NULL::float8)) AS f) x
        WHERE k.in_actual AND k.expected
          AND (kpi.value(k.kept, 'count') IS DISTINCT FROM kpi.value(x.f, 'count')
               OR kpi.value(k.kept, 'min') IS DISTINCT FROM kpi.value(x.f, 'min')
               OR kpi.value(k.kept, 'max') IS DISTINCT FROM kpi.value(x.f, 'max')
               OR kpi.value(k.kept, 'first') IS DISTINCT FROM kpi.value(x.f, 'first')
               OR kpi.value(k.kept, 'last') IS DISTINCT FROM kpi.value(x.f, 'last')
               OR pg_catalog.abs(coalesce(kpi.value(k.kept, 'sum'), 0) OPERATOR(pg_catalog.-) coalesce(kpi.value(x.f, 'sum'), 0))
                  OPERATOR(pg_catalog.>) (1e-12 OPERATOR(pg_catalog.*) GREATEST(pg_catalog.abs(coalesce(kpi.value(x.f, 'sum'), 0)), 1))
               OR pg_catalog.abs(coalesce(kpi.value(k.kept, 'ratio'), 0) OPERATOR(pg_catalog.-) coalesce(kpi.value(x.f, 'ratio'), 0))
                  OPERATOR(pg_catalog.>) (1e-12 OPERATOR(pg_catalog.*) GREATEST(pg_catalog.abs(coalesce(kpi.value(x.f, 'ratio'), 0)), 1))
               OR (kpi.value(k.kept, 'ratio') IS NULL) OPERATOR(pg_catalog.<>) (kpi.value(x.f, 'ratio') IS NULL))
        UNION ALL
        SELECT 'actual evaluation', k.indicator_id, k.scope_id, k.period,
               format('kept value %s, target %s, attainment %s, status %s; fresh %s, %s, %s, %s',
                      k.value, k.target, k.attainment, k.status, e.value, e.target, e.attainment, e.status)
        FROM keys k
        JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) k.indicator_id
        LEFT JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) k.indicator_id
                              AND t.scope_id OPERATOR(pg_catalog.=) k.scope_id
                              AND t.period OPERATOR(kpi.=) k.period
        CROSS JOIN LATERAL (SELECT kpi.value(k.kept, i.agg) AS value, kpi.target(t.goal) AS target,
                                   kpi.attainment(kpi.value(k.kept, i.agg), t.goal) AS attainment,
                                   kpi.status(kpi.attainment(kpi.value(k.kept, i.agg), t.goal), i.bands) AS status) e
        WHERE k.in_actual
          AND (k.value IS DISTINCT FROM e.value OR k.target IS DISTINCT FROM e.target
               OR k.attainment IS DISTINCT FROM e.attainment OR k.status IS DISTINCT FROM e.status)),
    data_problems AS (
        SELECT 'target grain' AS problem, t.indicator_id, t.scope_id, t.period,
               format('a target at grain %s, which the indicator does not keep', kpi.grain(t.period)) AS detail
        FROM kpi.target t JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) t.indicator_id
        WHERE NOT kpi.grain(t.period) OPERATOR(pg_catalog.=) ANY (i.grains)
        UNION ALL
        SELECT 'ratio denominator', m.indicator_id, m.scope_id, NULL::kpi.period,
               format('measurement %s of a ratio indicator has no denominator', m.id)
        FROM kpi.measurement m JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
        WHERE i.agg OPERATOR(pg_catalog.=) 'ratio' AND m.denominator IS NULL),
    alert_problems AS (
        SELECT 'alert state' AS problem, a.indicator_id, a.scope_id, a.period,
               format('alert %s is %s with acked_at %s and resolved_at %s', a.id, a.state,
                      coalesce(a.acked_at::text, 'NULL'), coalesce(a.resolved_at::text, 'NULL')) AS detail
        FROM kpi.alert a
        WHERE (a.state OPERATOR(pg_catalog.=) 'resolved') OPERATOR(pg_catalog.<>) (a.resolved_at IS NOT NULL)
           OR (a.state OPERATOR(pg_catalog.=) 'acked' AND a.acked_at IS NULL)
        UNION ALL
        SELECT 'alert events', a.indicator_id, a.scope_id, a.period,
               format('alert %s is %s, its last event says %s; raise event: %s', a.id, a.state,
                      coalesce(last_event.state, 'nothing'), coalesce(raised.n, 0))
        FROM kpi.alert a
        LEFT JOIN LATERAL (SELECT e.state FROM kpi.alert_event e WHERE e.alert_id OPERATOR(pg_catalog.=) a.id
                           ORDER BY e.id DESC LIMIT 1) last_event ON true
        LEFT JOIN LATERAL (SELECT pg_catalog.count(*) AS n FROM kpi.alert_event e
                           WHERE e.alert_id OPERATOR(pg_catalog.=) a.id AND e.kind OPERATOR(pg_catalog.=) 'raise') raised ON true
        WHERE last_event.state IS DISTINCT FROM a.state OR raised.n OPERATOR(pg_catalog.<>) 1
        UNION ALL
        SELECT 'alerts pending', NULL::bigint, NULL::bigint, NULL::kpi.period,
               format('%s queued changes wait for kpi.evaluate()', pg_catalog.count(*))
        FROM kpi.alert_queue HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0
        UNION ALL
        -- every key judged afresh now, once nothing waits in the queue
        SELECT CASE WHEN a.id IS NULL THEN 'alert missing' ELSE 'alert stale' END,
               g.indicator_id, g.scope_id, g.period,
               CASE WHEN a.id IS NULL THEN format('judged %s on %s %s, but no alert is open', g.severity, g.basis, g.score)
                    ELSE format('alert %s (%s) is %s, but the key is judged %s on %s %s', a.id, a.kind, a.state,
                                coalesce(g.severity::text, 'nothing'), coalesce(g.basis, 'nothing'), g.score) END
        FROM (SELECT pg_catalog.array_agg(k.indicator_id) AS i, pg_catalog.array_agg(k.scope_id) AS s,
                     pg_catalog.array_agg(k.period) AS p
              FROM kpi.alert_keys(NULL, NULL, NULL) k
              WHERE NOT EXISTS (SELECT FROM kpi.alert_queue)) ks
        -- judged when the alerts were: at the last evaluation (the cycle
        -- judges what time changes), or now if there was none
        CROSS JOIN LATERAL kpi.judgement(ks.i, ks.s, ks.p,
                                         coalesce((SELECT c.evaluated_at FROM kpi.alert_clock c
                                                   WHERE pg_catalog.isfinite(c.evaluated_at)), pg_catalog.now())) g
        LEFT JOIN kpi.alert a ON a.indicator_id OPERATOR(pg_catalog.=) g.indicator_id
                             AND a.scope_id OPERATOR(pg_catalog.=) g.scope_id
                             AND a.period OPERATOR(kpi.=) g.period AND a.state OPERATOR(pg_catalog.<>) 'resolved'
        WHERE (a.id IS NULL AND g.raise AND NOT g.silenced AND NOT g.dismissed)
           OR (a.id IS NOT NULL AND NOT (g.hold AND g.kind IS NOT DISTINCT FROM a.kind))),
    history_problems AS (
        SELECT 'indicator history' AS problem, coalesce(i.id, h.indicator_id) AS indicator_id,
               NULL::bigint AS scope_id, NULL::kpi.period AS period,
               CASE WHEN h.indicator_id IS NULL THEN 'the indicator has no history'
                    WHEN i.id IS NULL THEN 'the history''s last change is not a DELETE, but the indicator is gone'
                    ELSE 'the history''s last state differs from the indicator' END AS detail
        FROM kpi.indicator i
        FULL JOIN (SELECT DISTINCT ON (x.indicator_id) x.indicator_id, x.op, x.new_row
                   FROM kpi.indicator_history x
                   ORDER BY x.indicator_id, x.id DESC) h
               ON h.indicator_id OPERATOR(pg_catalog.=) i.id
        WHERE (i.id IS NULL AND h.op OPERATOR(pg_catalog.<>) 'DELETE')
           OR (i.id IS NOT NULL AND (h.indicator_id IS NULL OR h.op OPERATOR(pg_catalog.=) 'DELETE'
               OR pg_catalog.jsonb_populate_record(NULL::kpi.indicator, h.new_row) IS DISTINCT FROM i))
        UNION ALL
        SELECT 'target history', coalesce(t.indicator_id, h.indicator_id), coalesce(t.scope_id, h.scope_id),
               coalesce(t.period, h.period),
               CASE WHEN h.target_id IS NULL THEN 'the target has no history'
                    WHEN t.id IS NULL THEN 'the history''s last change is not a DELETE, but the target is gone'
                    ELSE format('the history''s last goal %s differs from the target''s %s', h.new_goal, t.goal) END
        FROM kpi.target t
        FULL JOIN (SELECT DISTINCT ON (x.target_id) x.target_id, x.indicator_id, x.scope_id, x.period, x.op, x.new_goal
                   FROM kpi.target_history x
                   ORDER BY x.target_id, x.id DESC) h
               ON h.target_id OPERATOR(pg_catalog.=) t.id
        WHERE (t.id IS NULL AND h.op OPERATOR(pg_catalog.<>) 'DELETE')
           OR (t.id IS NOT NULL AND (h.target_id IS NULL OR h.op OPERATOR(pg_catalog.=) 'DELETE'
               OR h.new_goal IS DISTINCT FROM t.goal)))
    SELECT p.problem, i.code, s.code, p.period::text, p.detail
    FROM (SELECT * FROM actual_problems UNION ALL SELECT * FROM data_problems
          UNION ALL SELECT * FROM alert_problems UNION ALL SELECT * FROM history_problems) p
    LEFT JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) p.indicator_id
    LEFT JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) p.scope_id
    ORDER BY p.problem, i.code, s.code, p.period;
END;
COMMENT ON FUNCTION kpi.verify() IS
    'every disagreement between derived and source state (kpi.actual against a fresh computation, data rules, alert invariants, alerts against a fresh judgement of every key, history against current rows); no rows when all is well';

CREATE OR REPLACE FUNCTION kpi.repair()
    RETURNS TABLE (problem text, indicator text, scope text, period text, action text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1
AS $$
DECLARE
    v record;
    rebuilt bigint[] := '{}';
    ind bigint;
    judged boolean := false;
BEGIN
    FOR v IN SELECT * FROM kpi.verify() LOOP
        problem := v.problem; indicator := v.indicator; scope := v.scope; period := v.period;
        ind := (SELECT i.id FROM kpi.indicator i WHERE i.code OPERATOR(pg_catalog.=) v.indicator);
        IF v.problem LIKE 'actual %' THEN
            IF ind IS NULL OR ind OPERATOR(pg_catalog.=) ANY (rebuilt) THEN
                action := 'rebuilt with its indicator';
            ELSE
                PERFORM kpi.actual_rebuild(ind);
                rebuilt := rebuilt OPERATOR(pg_catalog.||) ind;
                action := format('rebuilt kpi.actual for indicator %s', v.indicator);
            END IF;
        ELSIF v.problem OPERATOR(pg_catalog.=) 'indicator history' THEN
            INSERT INTO kpi.indicator_history (indicator_id, op, old_row, new_row)
            SELECT coalesce(ind, h.indicator_id),
                   CASE WHEN ind IS NULL THEN 'DELETE' WHEN h.new_row IS NULL THEN 'INSERT' ELSE 'UPDATE' END,
                   h.new_row, (SELECT pg_catalog.to_jsonb(i) FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) ind)
            FROM (SELECT NULL::bigint AS indicator_id, NULL::jsonb AS new_row) d
            LEFT JOIN LATERAL (SELECT x.indicator_id, x.new_row FROM kpi.indicator_history x
                               WHERE x.indicator_id OPERATOR(pg_catalog.=) ind
                                  OR (ind IS NULL AND x.new_row OPERATOR(pg_catalog.->>) 'code' OPERATOR(pg_catalog.=) v.indicator)
                               ORDER BY x.id DESC LIMIT 1) h ON true;
            action := 'logged the indicator''s current state in kpi.indicator_history';
        ELSIF v.problem OPERATOR(pg_catalog.=) 'target history' THEN
            INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op, old_goal, new_goal, note)
            SELECT coalesce(t.id, h.target_id), coalesce(t.indicator_id, h.indicator_id),
                   coalesce(t.scope_id, h.scope_id), coalesce(t.period, h.period),
                   CASE WHEN t.id IS NULL THEN 'DELETE' WHEN h.target_id IS NULL THEN 'INSERT' ELSE 'UPDATE' END,
                   h.new_goal, t.goal, 'kpi.repair()'
            FROM (SELECT x.* FROM kpi.target x
                  WHERE x.indicator_id OPERATOR(pg_catalog.=) ind
                    AND x.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope)
                    AND x.period OPERATOR(kpi.=) v.period::kpi.period) t
            FULL JOIN (SELECT DISTINCT ON (x.target_id) x.* FROM kpi.target_history x
                       WHERE x.indicator_id OPERATOR(pg_catalog.=) ind
                         AND x.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope)
                         AND x.period OPERATOR(kpi.=) v.period::kpi.period
                       ORDER BY x.target_id, x.id DESC) h ON h.target_id OPERATOR(pg_catalog.=) t.id;
            action := 'logged the target''s current state in kpi.target_history';
        ELSIF v.problem OPERATOR(pg_catalog.=) 'alert state' THEN
            UPDATE kpi.alert a
            SET resolved_at = CASE WHEN a.state OPERATOR(pg_catalog.=) 'resolved' THEN coalesce(a.resolved_at, a.updated_at) END,
                acked_at = CASE WHEN a.state OPERATOR(pg_catalog.=) 'acked' THEN coalesce(a.acked_at, a.updated_at) ELSE a.acked_at END
            WHERE a.indicator_id OPERATOR(pg_catalog.=) ind AND a.period OPERATOR(kpi.=) v.period::kpi.period
              AND a.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope)
              AND ((a.state OPERATOR(pg_catalog.=) 'resolved') OPERATOR(pg_catalog.<>) (a.resolved_at IS NOT NULL)
                   OR (a.state OPERATOR(pg_catalog.=) 'acked' AND a.acked_at IS NULL));
            action := 'set the alert''s timestamps from its state';
        ELSIF v.problem OPERATOR(pg_catalog.=) 'alert events' THEN
            INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
            SELECT a.id, 'repair', CURRENT_USER, a.state, a.severity, a.value, a.attainment,
                   'kpi.repair(): the events did not end in the alert''s state'
            FROM kpi.alert a
            WHERE a.indicator_id OPERATOR(pg_catalog.=) ind AND a.period OPERATOR(kpi.=) v.period::kpi.period
              AND a.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope);
            action := 'logged a repair event with the alert''s state';
        ELSIF v.problem OPERATOR(pg_catalog.=) ANY ('{alerts pending,alert missing,alert stale}') THEN
            IF NOT judged THEN
                INSERT INTO kpi.alert_queue (indicator_id) VALUES (NULL);
                -- at the time of the last evaluation, as kpi.verify() judged
                PERFORM kpi.evaluate(coalesce((SELECT c.evaluated_at FROM kpi.alert_clock c
                                               WHERE pg_catalog.isfinite(c.evaluated_at)), pg_catalog.now()));
                judged := true;
            END IF;
            action := 'judged every key again (kpi.evaluate())';
        ELSE
            action := 'not repaired: ' || v.detail || ' (a decision for a person: fix the data, then run kpi.verify())';
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION kpi.repair() IS
    'owner only: fix what kpi.verify() reports (rebuild kpi.actual, log missing history, align alert bookkeeping, judge alerts again) and return what was done';
