-- Alert judgement (release 0.7): every level of the scope tree, targets and
-- rules as inputs, pace, consecutive periods, missing data, anomalies,
-- incidents, dead letters, red without a plan, and kpi.evaluate() for what
-- time changes.  Times are given explicitly (kpi.evaluate(at),
-- kpi.judgement(..., at)) so that the output does not depend on the day the
-- suite runs; periods are in 2026 (finished) or 2099 (not begun).
SET datestyle = ISO;
SET timezone = 'UTC';
SET search_path = public;
-- what earlier suites left to judge is judged (and this suite's counts start at zero)
SELECT count(*) AS evaluations FROM kpi.evaluate();

INSERT INTO kpi.scope (code, name) VALUES ('co', '公司');
INSERT INTO kpi.scope (code, name, parent_id) VALUES
    ('co.n', '北区', kpi.scope_id('co')), ('co.s', '南区', kpi.scope_id('co'));
INSERT INTO kpi.scope (code, name, parent_id) VALUES
    ('co.n.a', '甲店', kpi.scope_id('co.n')), ('co.n.b', '乙店', kpi.scope_id('co.n'));
INSERT INTO kpi.indicator (code, name, owner, agg, bands) VALUES
    ('t.sales', '销售额', 'ann', 'sum', 'amber 0.9, green 1'),
    ('t.defects', '缺陷数', 'ben', 'sum', 'amber 0.9, green 1'),
    ('t.feed', '数据上报', 'cat', 'sum', 'amber 0.9, green 1');
CREATE VIEW pg_temp.alerts AS
SELECT a.id, i.code, s.code AS scope, a.period::text AS period, a.kind, a.basis, a.state, a.severity,
       round(a.value::numeric, 2) AS value, round(a.score::numeric, 3) AS score,
       a.incident_id = a.id AS lead, a.assignee
FROM kpi.alert a JOIN kpi.indicator i ON i.id = a.indicator_id JOIN kpi.scope s ON s.id = a.scope_id;
CREATE FUNCTION pg_temp.judge(code text, scope text, period text, at timestamptz)
RETURNS TABLE (kind text, basis text, score numeric, severity kpi.status, raise boolean, hold boolean)
LANGUAGE sql AS $$
    SELECT j.kind, j.basis, round(j.score::numeric, 3), j.severity, j.raise, j.hold
    FROM kpi.judgement(ARRAY[kpi.indicator_id(code)], ARRAY[kpi.scope_id(scope)], ARRAY[period::kpi.period], at) j
$$;

-- ---------------------------------------------------------------------
-- Levels: a rule with scope NULL applies to every scope with a target; a
-- region is judged on its subtree's rolled-up actual, by kpi.evaluate()
-- ---------------------------------------------------------------------
INSERT INTO kpi.alert_rule (indicator_id) VALUES (kpi.indicator_id('t.sales'));
SELECT kpi.set_target('t.sales', 'co.n', '2026-07', '>= 100') > 0 AS region_target;
SELECT kpi.set_target('t.sales', 'co.n.a', '2026-07', '>= 50') > 0 AS branch_target;
SELECT kpi.record('t.sales', 'co.n.a', 20, '2026-07-10') > 0 AS a_recorded;
SELECT kpi.record('t.sales', 'co.n.b', 10, '2026-07-10') > 0 AS b_recorded;
-- the branch is judged in the writer's transaction; the region waits
SELECT code, scope, period, kind, basis, state, severity, value, score, lead, assignee FROM pg_temp.alerts ORDER BY id;
SELECT count(*) > 0 AS region_queued FROM kpi.alert_queue WHERE scope_id = kpi.scope_id('co.n');
SELECT problem FROM kpi.verify();
SELECT judged, changed FROM kpi.evaluate('2026-11-01');
-- the region's figure is the scorecard's: 20 + 10 against 100
SELECT code, scope, period, kind, basis, state, severity, value, score, lead FROM pg_temp.alerts ORDER BY id;
SELECT round(actual::numeric, 2) AS scorecard_actual, round(attainment::numeric, 3) AS scorecard_attainment
FROM kpi.scorecard WHERE indicator = 't.sales' AND scope = 'co.n' AND period = '2026-07';
-- one incident: the branch leads, its region (a related key) is shown with it
SELECT indicator, assignee, state, severity, alerts, keys FROM kpi.incident;
-- the same alerts as annotations for a time-series dashboard
SELECT indicator, scope, period, severity, state, text, tags, time_end IS NULL AS unresolved,
       incident_id = (SELECT min(incident_id) FROM kpi.incident) AS in_first_incident
FROM kpi.alert_annotation ORDER BY alert_id;
SELECT count(*) AS verify_problems FROM kpi.verify();

-- targets are inputs: a lower region target recovers the region's alert,
-- a higher one raises it again, a deleted one withdraws it
SELECT kpi.set_target('t.sales', 'co.n', '2026-07', '>= 25') > 0 AS lowered;
SELECT changed FROM kpi.evaluate('2026-11-01');
SELECT scope, state, severity FROM pg_temp.alerts WHERE scope = 'co.n' ORDER BY id;
SELECT kpi.set_target('t.sales', 'co.n', '2026-07', '>= 100') > 0 AS raised;
SELECT changed FROM kpi.evaluate('2026-11-01');
SELECT scope, state, severity FROM pg_temp.alerts WHERE scope = 'co.n' ORDER BY id;
DELETE FROM kpi.target WHERE scope_id = kpi.scope_id('co.n');
SELECT changed FROM kpi.evaluate('2026-11-01');
SELECT e.kind, regexp_replace(e.note, '[0-9]+', 'N') AS note FROM kpi.alert_event e JOIN kpi.alert a ON a.id = e.alert_id
WHERE a.scope_id = kpi.scope_id('co.n') ORDER BY e.id;
-- a lower branch target recovers the branch at once (a leaf: the writer's transaction)
SELECT kpi.set_target('t.sales', 'co.n.a', '2026-07', '>= 20') > 0 AS lowered;
SELECT scope, state, severity FROM pg_temp.alerts WHERE scope = 'co.n.a' ORDER BY id;
SELECT kpi.set_target('t.sales', 'co.n.a', '2026-07', '>= 50') > 0 AS raised_again;
-- rules are inputs: disabling the rule withdraws its alerts at the next evaluation
UPDATE kpi.alert_rule SET enabled = false WHERE indicator_id = kpi.indicator_id('t.sales');
SELECT changed FROM kpi.evaluate('2026-11-01');
SELECT count(*) FILTER (WHERE state <> 'resolved') AS unresolved FROM pg_temp.alerts WHERE code = 't.sales';
UPDATE kpi.alert_rule SET enabled = true WHERE indicator_id = kpi.indicator_id('t.sales');
SELECT changed FROM kpi.evaluate('2026-11-01');
SELECT scope, period, state, severity, lead FROM pg_temp.alerts WHERE state <> 'resolved' ORDER BY id;

-- ---------------------------------------------------------------------
-- Pace: a running period of a sum is judged on the share of its goal due
-- by the time of the latest data, phased by the month targets inside it
-- ---------------------------------------------------------------------
SELECT kpi.set_target('t.sales', 'co.s', '2099-Q3', '>= 300') > 0 AS quarter;
SELECT count(kpi.set_target('t.sales', 'co.s', m::kpi.period, v::kpi.goal)) AS months
FROM (VALUES ('2099-07', '>= 60'), ('2099-08', '>= 100'), ('2099-09', '>= 140')) x(m, v);
SELECT kpi.record('t.sales', 'co.s', 57, '2099-07-31 23:00') > 0 AS july;
-- 57 of the 60 due by the end of July (not a third of 300): amber 0.95;
-- on attainment the same quarter would be red
SELECT * FROM pg_temp.judge('t.sales', 'co.s', '2099-Q3', '2099-08-01');
SELECT round(kpi.attainment(57, '>= 300')::numeric, 3) AS quarter_attainment;
-- no new data by mid-August: still judged as of the data's time, not late
SELECT * FROM pg_temp.judge('t.sales', 'co.s', '2099-Q3', '2099-08-15');
-- the period is over: attainment
SELECT * FROM pg_temp.judge('t.sales', 'co.s', '2099-Q3', '2099-10-02');
-- without month targets, linear time: 57 against 300 × 31/92 of the quarter
DELETE FROM kpi.target WHERE scope_id = kpi.scope_id('co.s') AND period::text IN ('2099-07', '2099-08', '2099-09');
SELECT * FROM pg_temp.judge('t.sales', 'co.s', '2099-Q3', '2099-08-01');
-- not begun yet (now): nothing to judge, no alert
SELECT count(*) AS alerts_2099 FROM pg_temp.alerts WHERE period LIKE '2099%';
-- kpi.evaluate() at the quarter's end judges it on attainment: raised
UPDATE kpi.alert_clock SET evaluated_at = '2099-09-30';
SELECT judged > 0 AS judged, changed FROM kpi.evaluate('2099-10-01 00:00:01');
SELECT scope, period, kind, basis, state, severity, score, lead FROM pg_temp.alerts WHERE period LIKE '2099%';
DELETE FROM kpi.measurement WHERE scope_id = kpi.scope_id('co.s');
SELECT scope, period, state FROM pg_temp.alerts WHERE period LIKE '2099%';

-- ---------------------------------------------------------------------
-- Missing data: an indicator declares when its data are due
-- ---------------------------------------------------------------------
UPDATE kpi.indicator SET data_due = '5 days' WHERE code = 't.feed';
SELECT count(kpi.set_target('t.feed', 'co.s', m::kpi.period, '>= 1')) AS targets FROM (VALUES ('2099-06'), ('2099-07')) x(m);
SELECT kpi.record('t.feed', 'co.s', 1, '2099-06-30') > 0 AS june_data;
UPDATE kpi.alert_clock SET evaluated_at = '2099-08-01';
SELECT changed FROM kpi.evaluate('2099-08-05 23:59');     -- due on 2099-08-06
SELECT changed FROM kpi.evaluate('2099-08-06 00:00');
SELECT code, scope, period, kind, basis, state, severity, value, lead, assignee FROM pg_temp.alerts WHERE code = 't.feed';
SELECT kpi.record('t.feed', 'co.s', 1, '2099-07-31') > 0 AS july_data;
SELECT code, period, kind, state FROM pg_temp.alerts WHERE code = 't.feed';
SELECT e.kind FROM kpi.alert_event e JOIN kpi.alert a ON a.id = e.alert_id
WHERE a.indicator_id = kpi.indicator_id('t.feed') ORDER BY e.id;

-- ---------------------------------------------------------------------
-- Anomalies: outside the key's own normal range, no target needed
-- ---------------------------------------------------------------------
INSERT INTO kpi.alert_rule (indicator_id, scope_id, basis, anomaly_window)
VALUES (kpi.indicator_id('t.defects'), kpi.scope_id('co.s'), 'anomaly', 6);
SELECT count(kpi.record('t.defects', 'co.s', v, make_date(2026, m, 15)))
FROM (VALUES (1, 10), (2, 11), (3, 9), (4, 10), (5, 12), (6, 10)) x(m, v);
SELECT count(*) AS normal_months FROM pg_temp.alerts WHERE code = 't.defects';
SELECT kpi.record('t.defects', 'co.s', 30, '2026-07-15') > 0 AS july_spike;
SELECT code, scope, period, kind, basis, state, severity, value, score FROM pg_temp.alerts WHERE code = 't.defects';
-- back to normal: recovered
UPDATE kpi.measurement SET value = 11 WHERE indicator_id = kpi.indicator_id('t.defects') AND value = 30;
SELECT period, state FROM pg_temp.alerts WHERE code = 't.defects';

-- ---------------------------------------------------------------------
-- Incidents: acknowledged together, not re-notified; a resolved lead hands
-- the incident on; dead letters; red without a plan
-- ---------------------------------------------------------------------
SELECT kpi.set_target('t.sales', 'co.s', '2026-07', '>= 100') > 0 AS south_target;
SELECT kpi.set_target('t.sales', 'co.n', '2026-07', '>= 100') > 0 AS region_target;
SELECT kpi.record('t.sales', 'co.s', 10, '2026-07-20') > 0 AS south_bad;
SELECT changed FROM kpi.evaluate(now());
-- the north region joins its branch's incident; the south is another problem
SELECT indicator, state, alerts, keys FROM kpi.incident WHERE indicator = 't.sales' ORDER BY incident_id;
-- a consumer gets the leads only
SELECT i.code, s.code AS scope, c.period FROM kpi.alert_claim('bot', 10) c
JOIN kpi.indicator i ON i.id = c.indicator_id JOIN kpi.scope s ON s.id = c.scope_id ORDER BY c.id;
-- acknowledging a lead acknowledges its incident
SELECT (kpi.alert_ack(incident_id, 'ann', '在处理')).state FROM kpi.incident WHERE indicator = 't.sales';
SELECT scope, period, state, lead FROM pg_temp.alerts WHERE code = 't.sales' AND state <> 'resolved' ORDER BY id;
-- acknowledged incidents are not repeated
UPDATE kpi.alert_rule SET repeat_after = '1 minute' WHERE indicator_id = kpi.indicator_id('t.sales');
SELECT repeated FROM kpi.evaluate(now() + interval '1 hour');
-- resolving the lead by hand hands the incident to the next alert; a
-- finished period that stays as bad is not raised again
SELECT (kpi.alert_resolve(a.id, 'ann', '已复盘')).state FROM kpi.alert a
WHERE a.scope_id = kpi.scope_id('co.n.a') AND a.state <> 'resolved';
SELECT scope, period, state, lead FROM pg_temp.alerts WHERE code = 't.sales' AND state <> 'resolved' ORDER BY id;
INSERT INTO kpi.alert_queue (indicator_id) VALUES (kpi.indicator_id('t.sales'));
SELECT changed FROM kpi.evaluate(now() + interval '1 hour');
SELECT scope, period, state, lead FROM pg_temp.alerts WHERE code = 't.sales' AND state <> 'resolved' ORDER BY id;
-- ... unless it gets worse: an amber alert resolved by hand, then red
SELECT kpi.set_target('t.sales', 'co.n.b', '2026-07', '>= 11') > 0 AS b_target;
SELECT scope, period, state, severity FROM pg_temp.alerts WHERE scope = 'co.n.b' ORDER BY id;
SELECT (kpi.alert_resolve(id, 'ann', '可接受')).state FROM kpi.alert WHERE scope_id = kpi.scope_id('co.n.b');
INSERT INTO kpi.alert_queue (indicator_id) VALUES (kpi.indicator_id('t.sales'));
SELECT changed FROM kpi.evaluate(now() + interval '1 hour');
SELECT kpi.record('t.sales', 'co.n.b', -5, '2026-07-21') > 0 AS worse;
SELECT scope, period, state, severity FROM pg_temp.alerts WHERE scope = 'co.n.b' ORDER BY id;
UPDATE kpi.alert_rule SET repeat_after = NULL;

-- red without a plan: flagged after plan_within
UPDATE kpi.alert_rule SET plan_within = '2 days' WHERE indicator_id = kpi.indicator_id('t.sales');
SELECT unplanned FROM kpi.evaluate(now() + interval '1 day');
SELECT unplanned FROM kpi.evaluate(now() + interval '3 days');
SELECT indicator, scope, period, severity, has_action, red_without_plan FROM kpi.alert_followup
WHERE red_without_plan ORDER BY alert_id;

-- silences: an expired silence is judged again by kpi.evaluate()
INSERT INTO kpi.silence (indicator_id, until, reason) VALUES (kpi.indicator_id('t.defects'), '2099-01-01', '停产检修');
SELECT kpi.record('t.defects', 'co.s', 40, '2026-08-15') > 0 AS spike_silenced;
SELECT count(*) AS august FROM pg_temp.alerts WHERE code = 't.defects' AND period = '2026-08';
UPDATE kpi.alert_clock SET evaluated_at = '2098-12-31';
SELECT changed FROM kpi.evaluate('2099-01-01 00:01');
SELECT period, kind, state FROM pg_temp.alerts WHERE code = 't.defects' AND period = '2026-08';

-- dead letters: delivered max_deliveries times without an acknowledgement,
-- no longer delivered, and escalated
UPDATE kpi.alert_rule SET max_deliveries = 2, escalate_to = '{dora}', escalate_after = '{1 day}'
WHERE indicator_id = kpi.indicator_id('t.defects');
SELECT count(*) AS first FROM kpi.alert_claim('bot', 10, '1 second');
UPDATE kpi.alert SET lease_until = now() - interval '1 second' WHERE lease_until IS NOT NULL;
SELECT count(*) AS second FROM kpi.alert_claim('bot', 10, '1 second');
UPDATE kpi.alert SET lease_until = now() - interval '1 second' WHERE lease_until IS NOT NULL;
SELECT dead_lettered FROM kpi.evaluate(now() + interval '1 minute');
SELECT code, period, state, assignee FROM pg_temp.alerts WHERE code = 't.defects' AND state <> 'resolved' ORDER BY id;
SELECT count(*) AS third FROM kpi.alert_claim('bot', 10, '1 second');
SELECT e.kind, e.note FROM kpi.alert_event e JOIN kpi.alert a ON a.id = e.alert_id
WHERE a.indicator_id = kpi.indicator_id('t.defects') AND a.state = 'dead' ORDER BY e.id;
SELECT (kpi.alert_ack(incident_id, 'dora')).state FROM kpi.incident WHERE indicator = 't.defects';

-- batches: claim without logging the claim (kpi.log_claims off), then
-- acknowledge the batch in one call, all or nothing
SET kpi.log_claims = off;
INSERT INTO kpi.alert (indicator_id, scope_id, period, severity)
SELECT kpi.indicator_id('t.feed'), kpi.scope_id('co.s'), kpi.period(make_date(2026, 1, d), 'day'), 'red'
FROM generate_series(1, 3) d;
CREATE TEMP TABLE batch AS SELECT id FROM kpi.alert_claim('batcher', 10) ORDER BY id;
SELECT count(*) AS claimed, (SELECT count(*) FROM kpi.alert_event e WHERE e.actor = 'batcher') AS claim_events FROM batch;
-- one id already acknowledged: the whole batch is refused
SELECT (kpi.alert_ack(min(id), 'batcher')).state FROM batch;
SELECT public.kpi_try($$SELECT kpi.alert_ack_many(ARRAY(SELECT id FROM batch), 'batcher')$$);
SELECT count(*) FILTER (WHERE a.state = 'acked') AS acked FROM kpi.alert a JOIN batch USING (id);
SELECT count(*) AS acked_now FROM kpi.alert_ack_many(ARRAY(SELECT id FROM batch OFFSET 1), 'batcher', '批量确认');
SELECT e.kind, e.actor, e.note, count(*) FROM kpi.alert_event e JOIN batch b ON b.id = e.alert_id
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3;
RESET kpi.log_claims;
DELETE FROM kpi.alert WHERE id IN (SELECT id FROM batch);   -- made by hand: gone again

-- one cycle, one indicator, one person: problems in unrelated scopes found
-- by the same evaluation share one incident (one delivery, both keys);
-- one found by a later evaluation is news and opens its own (0.12)
INSERT INTO kpi.indicator (code, name, owner, agg, bands) VALUES ('t.returns', '退货额', 'eve', 'sum', 'amber 0.9, green 1');
INSERT INTO kpi.alert_rule (indicator_id) VALUES (kpi.indicator_id('t.returns'));
SELECT count(kpi.set_target('t.returns', s, '2026-09', '>= 100')) AS targets FROM unnest('{co.n.a,co.s,co.n.b}'::text[]) s;
-- (judged in the writer's transaction: one statement, one cycle)
SELECT count(kpi.record('t.returns', s, 10, '2026-09-10')) AS recorded FROM unnest('{co.n.a,co.s}'::text[]) s;
SELECT indicator, assignee, state, alerts, keys FROM kpi.incident WHERE indicator = 't.returns';
SELECT count(*) FILTER (WHERE e.note IS NULL) AS incidents_raised, count(*) FILTER (WHERE e.note LIKE 'in incident%') AS joined
FROM kpi.alert_event e JOIN kpi.alert a ON a.id = e.alert_id
WHERE a.indicator_id = kpi.indicator_id('t.returns') AND e.kind = 'raise';
SELECT kpi.record('t.returns', 'co.n.b', 10, '2026-09-12') > 0 AS b_later;
SELECT indicator, alerts, keys FROM kpi.incident WHERE indicator = 't.returns' ORDER BY incident_id;
-- ... but not past a consumer limited to some scopes: with a role that
-- sees the south only, the south's problem keeps an incident it can claim
CREATE ROLE kpi_south_bot;
INSERT INTO kpi.scope_member (role, scope_id) VALUES ('kpi_south_bot', kpi.scope_id('co.s'));
SELECT count(kpi.set_target('t.returns', s, '2026-08', '>= 100')) AS targets FROM unnest('{co.n.a,co.s,co.n.b}'::text[]) s;
SELECT count(kpi.record('t.returns', s, 10, '2026-08-10')) AS recorded FROM unnest('{co.n.a,co.s,co.n.b}'::text[]) s;
SELECT alerts, keys FROM kpi.incident WHERE indicator = 't.returns' AND keys LIKE '%2026-08%' ORDER BY incident_id;
DELETE FROM kpi.scope_member WHERE role = 'kpi_south_bot';
DROP ROLE kpi_south_bot;
DELETE FROM kpi.alert WHERE indicator_id = kpi.indicator_id('t.returns');
DELETE FROM kpi.alert_rule WHERE indicator_id = kpi.indicator_id('t.returns');

-- evaluation errors and rights
SELECT kpi.evaluate(NULL);
SELECT kpi.evaluate('infinity');
CREATE ROLE kpi_judge_reader;
GRANT USAGE ON SCHEMA kpi TO kpi_judge_reader;
SET ROLE kpi_judge_reader;
SELECT kpi.evaluate();
RESET ROLE;
REVOKE USAGE ON SCHEMA kpi FROM kpi_judge_reader;
DROP ROLE kpi_judge_reader;

-- everything equals a fresh judgement
UPDATE kpi.alert_clock SET evaluated_at = now();
SELECT count(*) >= 0 AS evaluated FROM kpi.evaluate();
SELECT * FROM kpi.verify();

DROP VIEW pg_temp.alerts;
DROP FUNCTION pg_temp.judge(text, text, text, timestamptz);
SET client_min_messages = warning;
TRUNCATE kpi.alert_queue, kpi.alert_clock;
TRUNCATE kpi.link, kpi.target, kpi.target_history, kpi.indicator_history,
         kpi.indicator, kpi.scope CASCADE;
TRUNCATE kpi.alert_queue;
RESET client_min_messages;
RESET search_path;
RESET timezone;
RESET datestyle;
