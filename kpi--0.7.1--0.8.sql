/* kpi--0.7.1--0.8.sql: release 0.8 of kpi: ready for BI tools.  Every
 * column of every table and view says what it holds (BI tools show
 * these as field descriptions), and small dimension tables keep their
 * statistics.  docs/bi.md shows how dashboards use them. */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.8'" to load this file. \quit

-- ---------------------------------------------------------------------
-- 1. A description for every column (Metabase, DBeaver, Superset and
--    Power BI show them); the regression suite fails on a missing one.
-- ---------------------------------------------------------------------

-- the dictionary
COMMENT ON COLUMN kpi.indicator.id IS 'surrogate key; use the code in queries and the API';
COMMENT ON COLUMN kpi.indicator.description IS 'what the indicator tells and why it matters, for people';
COMMENT ON COLUMN kpi.indicator.unit IS 'unit of the values, for display (e.g. CNY, %, days)';
COMMENT ON COLUMN kpi.indicator.owner IS 'the person accountable for the indicator (责任人); new alerts are assigned to them';
COMMENT ON COLUMN kpi.indicator.created_at IS 'when the indicator was created';
COMMENT ON COLUMN kpi.indicator.updated_at IS 'when the indicator''s definition last changed';
COMMENT ON COLUMN kpi.indicator_history.id IS 'surrogate key, in the order of the changes';
COMMENT ON COLUMN kpi.indicator_history.indicator_id IS 'the indicator that changed (kpi.indicator.id)';
COMMENT ON COLUMN kpi.indicator_history.op IS 'INSERT, UPDATE or DELETE';
COMMENT ON COLUMN kpi.indicator_history.changed_by IS 'the role that made the change';
COMMENT ON COLUMN kpi.indicator_history.changed_at IS 'when the change was made (transaction time)';
COMMENT ON COLUMN kpi.indicator_history.old_row IS 'the indicator row before the change (NULL for INSERT)';
COMMENT ON COLUMN kpi.indicator_history.new_row IS 'the indicator row after the change (NULL for DELETE)';
COMMENT ON COLUMN kpi.link.parent_id IS 'the parent indicator in the indicator tree (kpi.indicator.id)';
COMMENT ON COLUMN kpi.link.child_id IS 'the child indicator, whose score counts in its parent''s (kpi.indicator.id)';

-- scopes
COMMENT ON COLUMN kpi.scope.id IS 'surrogate key; use the code in queries and the API';
COMMENT ON COLUMN kpi.scope.code IS 'unique lower-case dotted code, e.g. hq.north.beijing';
COMMENT ON COLUMN kpi.scope.name IS 'display name, any language';
COMMENT ON COLUMN kpi.scope.created_at IS 'when the scope was created';

-- data and targets
COMMENT ON COLUMN kpi.measurement.id IS 'surrogate key, in the order measurements were recorded';
COMMENT ON COLUMN kpi.measurement.indicator_id IS 'the indicator measured (kpi.indicator.id)';
COMMENT ON COLUMN kpi.measurement.scope_id IS 'the scope measured (kpi.scope.id)';
COMMENT ON COLUMN kpi.measurement.note IS 'free text about the value (a check-in note)';
COMMENT ON COLUMN kpi.measurement.source IS 'where the value came from (a system, a file, a person)';
COMMENT ON COLUMN kpi.measurement.recorded_by IS 'the role that recorded the value';
COMMENT ON COLUMN kpi.measurement.recorded_at IS 'when the value was recorded (not when it happened: see at)';
COMMENT ON COLUMN kpi.target.id IS 'surrogate key';
COMMENT ON COLUMN kpi.target.indicator_id IS 'the indicator (kpi.indicator.id)';
COMMENT ON COLUMN kpi.target.scope_id IS 'the scope the target is for (kpi.scope.id)';
COMMENT ON COLUMN kpi.target.period IS 'the period the target is for (kpi.period: 2026, 2026-Q2, 2026-06, 2026-W23, 2026-06-08)';
COMMENT ON COLUMN kpi.target.goal IS 'the goal: a direction and a number or range, e.g. >= 100, <= 0.02, 95..105 (kpi.goal)';
COMMENT ON COLUMN kpi.target.note IS 'why the target is what it is';
COMMENT ON COLUMN kpi.target.set_by IS 'the role that last set the target';
COMMENT ON COLUMN kpi.target.set_at IS 'when the target was last set';
COMMENT ON COLUMN kpi.target_history.id IS 'surrogate key, in the order of the changes';
COMMENT ON COLUMN kpi.target_history.target_id IS 'the target that changed (kpi.target.id)';
COMMENT ON COLUMN kpi.target_history.indicator_id IS 'the target''s indicator (kpi.indicator.id)';
COMMENT ON COLUMN kpi.target_history.scope_id IS 'the target''s scope (kpi.scope.id)';
COMMENT ON COLUMN kpi.target_history.period IS 'the target''s period';
COMMENT ON COLUMN kpi.target_history.op IS 'INSERT, UPDATE or DELETE';
COMMENT ON COLUMN kpi.target_history.old_goal IS 'the goal before the change (NULL for INSERT)';
COMMENT ON COLUMN kpi.target_history.new_goal IS 'the goal after the change (NULL for DELETE)';
COMMENT ON COLUMN kpi.target_history.note IS 'the target''s note after the change';
COMMENT ON COLUMN kpi.target_history.changed_by IS 'the role that made the change';
COMMENT ON COLUMN kpi.target_history.changed_at IS 'when the change was made (transaction time)';
COMMENT ON COLUMN kpi.actual.indicator_id IS 'the indicator (kpi.indicator.id)';
COMMENT ON COLUMN kpi.actual.scope_id IS 'the scope the measurements were recorded for (not its subtree: see kpi.scope_actual)';
COMMENT ON COLUMN kpi.actual.period IS 'one period of each of the indicator''s grains that contain the measurements';
COMMENT ON COLUMN kpi.actual.updated_at IS 'when a measurement last changed the row';

-- alerts
COMMENT ON COLUMN kpi.alert_rule.id IS 'surrogate key';
COMMENT ON COLUMN kpi.alert_rule.indicator_id IS 'the indicator the rule watches (kpi.indicator.id)';
COMMENT ON COLUMN kpi.alert_rule.scope_id IS 'the scope the rule watches; NULL = every scope with a target';
COMMENT ON COLUMN kpi.alert_rule.enabled IS 'false: the rule raises nothing and its alerts are withdrawn';
COMMENT ON COLUMN kpi.alert_rule.created_at IS 'when the rule was created';
COMMENT ON COLUMN kpi.alert.id IS 'surrogate key; an incident is named by its lead''s id';
COMMENT ON COLUMN kpi.alert.indicator_id IS 'the indicator (kpi.indicator.id)';
COMMENT ON COLUMN kpi.alert.scope_id IS 'the scope, judged on its subtree''s rolled-up actual (kpi.scope.id)';
COMMENT ON COLUMN kpi.alert.period IS 'the period judged';
COMMENT ON COLUMN kpi.alert.rule_id IS 'the rule that raised it (kpi.alert_rule.id; NULL once the rule is deleted)';
COMMENT ON COLUMN kpi.alert.value IS 'the actual when the alert was raised or its severity last changed';
COMMENT ON COLUMN kpi.alert.attainment IS 'the attainment then (NULL without a target)';
COMMENT ON COLUMN kpi.alert.assignee IS 'who it is for: the indicator''s owner, then each escalation step''s person';
COMMENT ON COLUMN kpi.alert.claimed_by IS 'the consumer that last claimed it (kpi.alert_claim)';
COMMENT ON COLUMN kpi.alert.raised_at IS 'when it was raised (the judging transaction''s time, or kpi.evaluate''s at)';
COMMENT ON COLUMN kpi.alert.acked_at IS 'when it was acknowledged';
COMMENT ON COLUMN kpi.alert.acked_by IS 'who acknowledged it';
COMMENT ON COLUMN kpi.alert.resolved_at IS 'when it was resolved';
COMMENT ON COLUMN kpi.alert.resolved_by IS 'who resolved it: kpi when the key recovered or its basis went away, else a person';
COMMENT ON COLUMN kpi.alert.updated_at IS 'when the row last changed';
COMMENT ON COLUMN kpi.alert_event.id IS 'surrogate key, in the order of the events';
COMMENT ON COLUMN kpi.alert_event.alert_id IS 'the alert (kpi.alert.id)';
COMMENT ON COLUMN kpi.alert_event.at IS 'when it happened';
COMMENT ON COLUMN kpi.alert_event.kind IS 'raise, worsen, improve, repeat, escalate, claim, ack, resolve, recover, repair, withdraw, promote, dead_letter or unplanned';
COMMENT ON COLUMN kpi.alert_event.actor IS 'kpi for what the extension did, else the consumer or person';
COMMENT ON COLUMN kpi.alert_event.state IS 'the alert''s state after the event';
COMMENT ON COLUMN kpi.alert_event.severity IS 'the alert''s severity after the event';
COMMENT ON COLUMN kpi.alert_event.value IS 'the alert''s value after the event';
COMMENT ON COLUMN kpi.alert_event.attainment IS 'the alert''s attainment after the event';
COMMENT ON COLUMN kpi.alert_event.note IS 'what happened, in words (incident, escalation step, the acknowledger''s note)';
COMMENT ON COLUMN kpi.silence.id IS 'surrogate key';
COMMENT ON COLUMN kpi.silence.indicator_id IS 'the indicator silenced (kpi.indicator.id)';
COMMENT ON COLUMN kpi.silence.scope_id IS 'the scope silenced; NULL = every scope';
COMMENT ON COLUMN kpi.silence.until IS 'no new alerts for the indicator (and scope) before this time';
COMMENT ON COLUMN kpi.silence.reason IS 'why (a known outage, a planned change)';
COMMENT ON COLUMN kpi.silence.created_by IS 'the role that created the silence';
COMMENT ON COLUMN kpi.silence.created_at IS 'when the silence was created';

-- views
COMMENT ON COLUMN kpi.scope_tree.ancestor_id IS 'a scope (kpi.scope.id)';
COMMENT ON COLUMN kpi.scope_tree.scope_id IS 'a scope in its subtree, itself included';
COMMENT ON COLUMN kpi.scope_tree.distance IS 'levels between them: 0 for the scope itself, 1 for a child';
COMMENT ON COLUMN kpi.scope_actual.indicator_id IS 'the indicator (kpi.indicator.id)';
COMMENT ON COLUMN kpi.scope_actual.scope_id IS 'the scope; its figures merge its whole subtree';
COMMENT ON COLUMN kpi.scope_actual.period IS 'the period';
COMMENT ON COLUMN kpi.scope_actual.tally IS 'the subtree''s measurements merged (kpi.tally)';
COMMENT ON COLUMN kpi.scope_actual.value IS 'the subtree''s actual: ratios re-derived from their parts, never averaged (as kpi.rollup)';
COMMENT ON COLUMN kpi.scope_actual.goal IS 'the scope''s own target for the period, if set';
-- ---------------------------------------------------------------------
-- 2. Statistics of the small tables.  Autovacuum analyses a table after
--    50 rows and 10% changed: a company's handful of scopes, indicators
--    and links would never be analysed, and the planner would guess their
--    sizes (a scorecard query estimated 5.97M rows for 7,276).  Analyse
--    them after any change; they are small, so it costs nothing.
-- ---------------------------------------------------------------------
ALTER TABLE kpi.scope SET (autovacuum_analyze_threshold = 0, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE kpi.indicator SET (autovacuum_analyze_threshold = 0, autovacuum_analyze_scale_factor = 0.05);
ALTER TABLE kpi.link SET (autovacuum_analyze_threshold = 0, autovacuum_analyze_scale_factor = 0.05);

-- ---------------------------------------------------------------------
-- 3. kpi.scorecard: one number per figure, cost that follows the query,
--    and the columns dashboards need
-- ---------------------------------------------------------------------
-- The figures are float8, as kpi.rollup and kpi.scope_actual return them
-- (0.7 cast them to numeric: 15 significant digits, different last digits,
-- strings in node-postgres).  No CTE: a filter on the period reaches the
-- actuals, and the previous period and last year are read for the rows
-- asked for (kpi.rolled_up, through kpi.actual's key) instead of for all
-- history.  New columns at the end.  The privileges granted on the view by
-- hand are kept (as in 0.7, through a transaction-local setting).
SELECT pg_catalog.set_config('kpi.upgrade_grants', coalesce(pg_catalog.string_agg(g, ';'), ''), true)
FROM (SELECT pg_catalog.format('GRANT %s ON TABLE kpi.scorecard TO %s%s', a.privilege_type,
                               CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
                               CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS g
      FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
      WHERE c.oid OPERATOR(pg_catalog.=) 'kpi.scorecard'::pg_catalog.regclass
        AND a.grantee OPERATOR(pg_catalog.<>) c.relowner) grants;
DROP VIEW kpi.scorecard;
CREATE VIEW kpi.scorecard WITH (security_invoker = true) AS
SELECT i.code                                   AS indicator,
       i.name                                   AS indicator_name,
       i.unit,
       s.code                                   AS scope,
       s.name                                   AS scope_name,
       cur.period::text                         AS period,
       kpi.grain(cur.period)                    AS grain,
       kpi.start_date(cur.period)               AS period_start,
       kpi.end_date(cur.period)                 AS period_end,
       cur.value                                AS actual,
       kpi.target(cur.goal)                     AS target,
       cur.goal::text                           AS goal,
       kpi.attainment(cur.value, cur.goal)      AS attainment,
       f.pace,
       f.status::text                           AS status,
       i.owner,
       prev.value                               AS previous_actual,
       cur.value OPERATOR(pg_catalog.-) prev.value AS previous_change,
       ly.value                                 AS last_year_actual,
       cur.value OPERATOR(pg_catalog.-) ly.value AS last_year_change,
       kpi.direction(cur.goal)                  AS direction,
       pg_catalog.array_position(pg_catalog.enum_range(NULL::kpi.status), f.status) AS status_rank,
       CASE WHEN f.pace_level OPERATOR(pg_catalog.>=) 'green' THEN 'on track'
            WHEN f.pace_level OPERATOR(pg_catalog.=) 'amber' THEN 'at risk'
            WHEN f.pace_level OPERATOR(pg_catalog.=) 'red' THEN 'behind' END AS pace_status,
       pg_catalog.timezone(kpi.time_zone(), kpi.start_date(cur.period)::timestamp) AS period_start_at,
       sp.parent                                AS scope_parent,
       sp.depth                                 AS scope_depth,
       sp.path                                  AS scope_path
FROM kpi.scope_actual cur
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) cur.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) cur.scope_id
-- each scope's subtree, its parent, depth and path: once per query
JOIN (SELECT t.ancestor_id AS scope_id, pg_catalog.array_agg(t.scope_id) AS subtree
      FROM kpi.scope_tree t GROUP BY t.ancestor_id) sub ON sub.scope_id OPERATOR(pg_catalog.=) cur.scope_id
JOIN (SELECT t.scope_id,
             pg_catalog.max(t.distance)::integer AS depth,
             pg_catalog.min(a.code) FILTER (WHERE t.distance OPERATOR(pg_catalog.=) 1) AS parent,
             pg_catalog.string_agg(a.code, ' / ' ORDER BY t.distance DESC) AS path
      FROM kpi.scope_tree t JOIN kpi.scope a ON a.id OPERATOR(pg_catalog.=) t.ancestor_id
      GROUP BY t.scope_id) sp ON sp.scope_id OPERATOR(pg_catalog.=) cur.scope_id
CROSS JOIN LATERAL (
    SELECT p.pace, kpi.status(p.pace, i.bands) AS pace_level,
           kpi.status(kpi.attainment(cur.value, cur.goal), i.bands) AS status
    FROM (SELECT CASE WHEN i.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[])   -- cumulative only
                      THEN kpi.pace(cur.value, cur.goal, kpi.progress(cur.period, pg_catalog.now(), kpi.time_zone()))
                 END AS pace) p) f
LEFT JOIN LATERAL kpi.rolled_up(cur.indicator_id, i.agg, sub.subtree,
    CASE WHEN kpi.start_date(cur.period) OPERATOR(pg_catalog.>) '0001-01-01'::date
         THEN kpi.period((kpi.start_date(cur.period) OPERATOR(pg_catalog.-) 1), kpi.grain(cur.period)) END) prev ON true
LEFT JOIN LATERAL kpi.rolled_up(cur.indicator_id, i.agg, sub.subtree,
    CASE WHEN kpi.start_date(cur.period) OPERATOR(pg_catalog.>=) '0002-01-01'::date
         THEN kpi.period((kpi.start_date(cur.period) OPERATOR(pg_catalog.-) '1 year'::interval)::date,
                         kpi.grain(cur.period)) END) ly ON true
WHERE i.lifecycle OPERATOR(pg_catalog.<>) 'retired';
COMMENT ON VIEW kpi.scorecard IS
    'the scorecard for BI tools: every indicator, scope (subtree merged) and period with actual, target, attainment, pace, status, previous period and same period last year; plain column types only (text, float8, integer, date, timestamptz)';
COMMENT ON COLUMN kpi.scorecard.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.scorecard.indicator_name IS 'indicator display name';
COMMENT ON COLUMN kpi.scorecard.unit IS 'unit of actual and target';
COMMENT ON COLUMN kpi.scorecard.scope IS 'scope code; figures merge its whole subtree';
COMMENT ON COLUMN kpi.scorecard.scope_name IS 'scope display name';
COMMENT ON COLUMN kpi.scorecard.period IS 'the period as text: 2026, 2026-Q2, 2026-06, 2026-W23 or 2026-06-08';
COMMENT ON COLUMN kpi.scorecard.grain IS 'year, quarter, month, week or day';
COMMENT ON COLUMN kpi.scorecard.period_start IS 'first day of the period';
COMMENT ON COLUMN kpi.scorecard.period_end IS 'last day of the period';
COMMENT ON COLUMN kpi.scorecard.actual IS 'the actual of the scope''s subtree, float8 as kpi.rollup and kpi.scope_actual return it';
COMMENT ON COLUMN kpi.scorecard.target IS 'the target''s number (midpoint for a range)';
COMMENT ON COLUMN kpi.scorecard.goal IS 'the goal as text, with its direction: >= 100, <= 0.02, 95..105';
COMMENT ON COLUMN kpi.scorecard.attainment IS 'actual against the goal (达成率): 1 = met, whatever the direction';
COMMENT ON COLUMN kpi.scorecard.pace IS 'sum and count indicators: attainment of the share of the goal due by now (时间进度); NULL for others';
COMMENT ON COLUMN kpi.scorecard.status IS 'attainment through the indicator''s bands: red, amber, green or blue';
COMMENT ON COLUMN kpi.scorecard.owner IS 'the person accountable for the indicator';
COMMENT ON COLUMN kpi.scorecard.previous_actual IS 'the actual of the previous period of the same grain';
COMMENT ON COLUMN kpi.scorecard.previous_change IS 'actual minus previous_actual (环比, as a difference)';
COMMENT ON COLUMN kpi.scorecard.last_year_actual IS 'the actual of the same period a year before';
COMMENT ON COLUMN kpi.scorecard.last_year_change IS 'actual minus last_year_actual (同比, as a difference)';

COMMENT ON COLUMN kpi.scorecard.direction IS 'which way is good: higher, lower or range (from the goal)';
COMMENT ON COLUMN kpi.scorecard.status_rank IS 'status as a number that sorts: 1 red, 2 amber, 3 green, 4 blue';
COMMENT ON COLUMN kpi.scorecard.pace_status IS 'sum and count indicators: on track, at risk or behind (pace through the indicator''s bands: green or blue, amber, red); NULL for others';
COMMENT ON COLUMN kpi.scorecard.period_start_at IS 'the period''s first moment in the company''s time zone (a time axis for Grafana)';
COMMENT ON COLUMN kpi.scorecard.scope_parent IS 'code of the scope above; NULL for a top-level scope';
COMMENT ON COLUMN kpi.scorecard.scope_depth IS 'levels below the top: 0 for a top-level scope';
COMMENT ON COLUMN kpi.scorecard.scope_path IS 'the codes from the top down to the scope, joined by " / ": sorts a tree';
DO $$
DECLARE
    g text;
BEGIN
    FOREACH g IN ARRAY pg_catalog.string_to_array(pg_catalog.current_setting('kpi.upgrade_grants'), ';') LOOP
        EXECUTE g;
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------
-- 4. Text parameters: a driver that binds a string (JDBC setString,
--    psycopg, node-postgres, ODBC SQL_VARCHAR) sends text or varchar, and
--    PostgreSQL does not cast those to kpi.period or kpi.goal by itself.
--    These overloads take text and read it as the type would: the same
--    result, the same errors (22007 for a bad period, 22P02 for a bad
--    goal).  A quoted literal ('2026-Q2') resolves to them too.
-- ---------------------------------------------------------------------
CREATE FUNCTION kpi.rollup(p text, scope text DEFAULT NULL)
    RETURNS TABLE (indicator_id bigint, code text, depth integer, actual float8, target float8,
                   attainment float8, score float8, status kpi.status, coverage float8)
    LANGUAGE sql STABLE PARALLEL RESTRICTED ROWS 100
BEGIN ATOMIC
    SELECT * FROM kpi.rollup(rollup.p::kpi.period, rollup.scope);
END;
COMMENT ON FUNCTION kpi.rollup(text, text) IS
    'kpi.rollup for a period given as text (what drivers bind): the indicator tree scored for one period and scope';

CREATE FUNCTION kpi.set_target(indicator_code text, scope_code text, period text, goal text, note text DEFAULT NULL)
    RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT kpi.set_target(set_target.indicator_code, set_target.scope_code, set_target.period::kpi.period,
                          set_target.goal::kpi.goal, set_target.note);
END;
COMMENT ON FUNCTION kpi.set_target(text, text, text, text, text) IS
    'kpi.set_target for a period and goal given as text (what drivers bind)';

CREATE FUNCTION kpi.judge(indicator text, scope text, period text, at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (kind text, basis text, value float8, attainment float8, score float8,
                   severity kpi.status, raise boolean, hold boolean, silenced boolean, dismissed boolean)
    LANGUAGE sql STABLE
BEGIN ATOMIC
    SELECT * FROM kpi.judge(judge.indicator, judge.scope, judge.period::kpi.period, judge.at);
END;
COMMENT ON FUNCTION kpi.judge(text, text, text, timestamptz) IS
    'kpi.judge for a period given as text (what drivers bind)';

-- ---------------------------------------------------------------------
-- 5. Views for time-series dashboards (Grafana): long format with a
--    timestamptz time column, and alerts as annotations
-- ---------------------------------------------------------------------
CREATE VIEW kpi.series WITH (security_invoker = true) AS
SELECT sc.period_start_at AS "time",
       sc.indicator,
       sc.scope,
       sc.grain,
       sc.period,
       sc.actual          AS value,
       sc.target,
       sc.attainment,
       sc.status,
       sc.status_rank
FROM kpi.scorecard sc;
COMMENT ON VIEW kpi.series IS
    'the scorecard in long format for time-series tools: one row per indicator, scope and period, time = the period''s first moment (company time zone); filter on grain';
COMMENT ON COLUMN kpi.series."time" IS 'the period''s first moment in the company''s time zone';
COMMENT ON COLUMN kpi.series.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.series.scope IS 'scope code; figures merge its whole subtree';
COMMENT ON COLUMN kpi.series.grain IS 'year, quarter, month, week or day: filter on one';
COMMENT ON COLUMN kpi.series.period IS 'the period as text';
COMMENT ON COLUMN kpi.series.value IS 'the actual (as kpi.scorecard.actual)';
COMMENT ON COLUMN kpi.series.target IS 'the target''s number (midpoint for a range)';
COMMENT ON COLUMN kpi.series.attainment IS 'actual against the goal: 1 = met';
COMMENT ON COLUMN kpi.series.status IS 'red, amber, green or blue';
COMMENT ON COLUMN kpi.series.status_rank IS '1 red, 2 amber, 3 green, 4 blue';

-- Check-in notes: the measurements recorded with a note, for a dashboard's
-- comments panel or annotations.  A view of kpi.measurement: reading it
-- takes SELECT on kpi.measurement (the scorecard does not).
CREATE VIEW kpi.checkin WITH (security_invoker = true) AS
SELECT m.at                AS "time",
       i.code              AS indicator,
       s.code              AS scope,
       m.value,
       m.note,
       m.source,
       m.recorded_by::text AS recorded_by,
       m.recorded_at
FROM kpi.measurement m
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) m.scope_id
WHERE m.note IS NOT NULL AND m.note OPERATOR(pg_catalog.<>) '';
COMMENT ON VIEW kpi.checkin IS
    'check-in notes: every measurement recorded with a note (what happened, in the words of whoever recorded it)';
COMMENT ON COLUMN kpi.checkin."time" IS 'when the value happened (kpi.measurement.at)';
COMMENT ON COLUMN kpi.checkin.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.checkin.scope IS 'scope code (where it was recorded)';
COMMENT ON COLUMN kpi.checkin.value IS 'the value recorded with the note';
COMMENT ON COLUMN kpi.checkin.note IS 'the note';
COMMENT ON COLUMN kpi.checkin.source IS 'where the value came from';
COMMENT ON COLUMN kpi.checkin.recorded_by IS 'the role that recorded it';
COMMENT ON COLUMN kpi.checkin.recorded_at IS 'when it was recorded';

CREATE VIEW kpi.alert_annotation WITH (security_invoker = true) AS
SELECT a.raised_at                           AS "time",
       a.resolved_at                         AS time_end,
       i.code                                AS indicator,
       s.code                                AS scope,
       a.period::text                        AS period,
       a.severity::text                      AS severity,
       a.state,
       pg_catalog.format('%s %s %s: %s (%s)', i.code, s.code, a.period::text, a.severity::text,
                         CASE a.kind WHEN 'no_data' THEN 'data overdue'
                                     WHEN 'anomaly' THEN 'abnormal value'
                                     ELSE coalesce(a.basis, 'attainment') END) AS text,
       ARRAY[i.code, s.code, a.severity::text, a.kind] AS tags,
       a.id                                  AS alert_id,
       coalesce(a.incident_id, a.id)         AS incident_id
FROM kpi.alert a
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) a.scope_id;
COMMENT ON VIEW kpi.alert_annotation IS
    'alerts as annotations for time-series dashboards (Grafana: time, timeEnd, text, tags): from raised to resolved';
COMMENT ON COLUMN kpi.alert_annotation."time" IS 'when the alert was raised';
COMMENT ON COLUMN kpi.alert_annotation.time_end IS 'when it was resolved; NULL while unresolved';
COMMENT ON COLUMN kpi.alert_annotation.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.alert_annotation.scope IS 'scope code';
COMMENT ON COLUMN kpi.alert_annotation.period IS 'the period judged, as text';
COMMENT ON COLUMN kpi.alert_annotation.severity IS 'red or amber (the current severity while unresolved)';
COMMENT ON COLUMN kpi.alert_annotation.state IS 'open, acked, dead or resolved';
COMMENT ON COLUMN kpi.alert_annotation.text IS 'one line: indicator, scope, period, severity and what it was judged on';
COMMENT ON COLUMN kpi.alert_annotation.tags IS 'indicator, scope, severity and kind, for filtering annotations';
COMMENT ON COLUMN kpi.alert_annotation.alert_id IS 'the alert (kpi.alert.id)';
COMMENT ON COLUMN kpi.alert_annotation.incident_id IS 'its incident (the lead alert''s id)';

-- ---------------------------------------------------------------------
-- 6. A dashboard filters the scorecard on its period as text
--    (period = '2026-Q2'); the filter reaches kpi.actual, and this index
--    makes it read that period's rows instead of all history.
-- ---------------------------------------------------------------------
CREATE INDEX actual_period_text ON kpi.actual ((period::text));

-- ---------------------------------------------------------------------
-- 7. The indicator tree for BI tools: parent, depth and a path that sorts
--    it (one row per path from a top indicator: an indicator under two
--    parents appears under each)
-- ---------------------------------------------------------------------
CREATE VIEW kpi.indicator_tree WITH (security_invoker = true) AS
WITH RECURSIVE t(indicator_id, parent_id, depth, path, weight) AS (
    SELECT i.id, NULL::bigint, 0, i.code, NULL::float8
    FROM kpi.indicator i
    WHERE NOT EXISTS (SELECT FROM kpi.link l WHERE l.child_id OPERATOR(pg_catalog.=) i.id)
    UNION ALL
    SELECT l.child_id, l.parent_id, t.depth OPERATOR(pg_catalog.+) 1,
           t.path OPERATOR(pg_catalog.||) ' / ' OPERATOR(pg_catalog.||) c.code, l.weight
    FROM t
    JOIN kpi.link l ON l.parent_id OPERATOR(pg_catalog.=) t.indicator_id
    JOIN kpi.indicator c ON c.id OPERATOR(pg_catalog.=) l.child_id
)
SELECT i.code   AS indicator,
       i.name   AS indicator_name,
       p.code   AS parent,
       t.depth,
       t.path,
       t.weight,
       i.unit,
       i.owner,
       i.lifecycle
FROM t
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) t.indicator_id
LEFT JOIN kpi.indicator p ON p.id OPERATOR(pg_catalog.=) t.parent_id;
COMMENT ON VIEW kpi.indicator_tree IS
    'the indicator tree (strategy, tactics, execution) for BI tools: parent, depth and a path that sorts it; an indicator under two parents appears under each';
COMMENT ON COLUMN kpi.indicator_tree.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.indicator_tree.indicator_name IS 'indicator display name';
COMMENT ON COLUMN kpi.indicator_tree.parent IS 'code of the parent on this path; NULL at the top';
COMMENT ON COLUMN kpi.indicator_tree.depth IS '0 at the top, 1 below it …';
COMMENT ON COLUMN kpi.indicator_tree.path IS 'the codes from the top down, joined by " / ": sorts the tree';
COMMENT ON COLUMN kpi.indicator_tree.weight IS 'weight of the indicator in its parent''s score (kpi.link.weight); NULL at the top';
COMMENT ON COLUMN kpi.indicator_tree.unit IS 'unit of the values';
COMMENT ON COLUMN kpi.indicator_tree.owner IS 'the person accountable for the indicator';
COMMENT ON COLUMN kpi.indicator_tree.lifecycle IS 'draft, active or retired';
