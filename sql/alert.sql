-- Alerts (预警) of leaf scopes: raised, worsened, improved, recovered by the
-- measurement trigger in the writer's transaction; repeats by kpi.evaluate();
-- the queue API.  Levels, pace, missing data, anomalies and incidents: the
-- alert_judge suite.
SET datestyle = ISO;
SET timezone = 'UTC';
SET search_path = public;

INSERT INTO kpi.scope (code, name) VALUES ('hq', '集团');
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('hq.east', '华东', (SELECT id FROM kpi.scope WHERE code = 'hq'));
INSERT INTO kpi.indicator (code, name, owner, bands)
VALUES ('sales.revenue', '销售收入', 'alice', 'amber 0.8, green 1'),
       ('svc.csat', '客户满意度', 'dave', 'amber 0.9, green 1'),
       ('ops.output', '产量', 'erin', 'amber 0.8, green 1');
UPDATE kpi.indicator SET agg = 'avg' WHERE code = 'svc.csat';
SELECT kpi.set_target('sales.revenue', 'hq.east', '2026-07', '>= 100') > 0 AS target_set;
SELECT kpi.set_target('svc.csat', 'hq.east', '2026-07', '>= 4.5') > 0 AS target_set;
SELECT kpi.set_target('ops.output', 'hq.east', '2099', '>= 1000') > 0 AS target_set;

-- no rule, no alert
SELECT kpi.record('sales.revenue', 'hq.east', 10, '2026-07-01') > 0 AS recorded;
SELECT count(*) AS alerts FROM kpi.alert;
DELETE FROM kpi.measurement;

-- one rule for the indicator, every scope; hysteresis 0.05; a two-step chain
INSERT INTO kpi.alert_rule (indicator_id, raise_at, recovery_margin, escalate_to, escalate_after)
VALUES (kpi.indicator_id('sales.revenue'), 'amber', 0.05, '{bob,carol}', '{1 hour,4 hours}');
CREATE VIEW pg_temp.alerts AS
SELECT a.id, i.code, s.code AS scope, a.period, a.state, a.severity, a.value,
       round(a.attainment::numeric, 3) AS attainment, a.assignee, a.escalation_level AS level,
       a.delivery_count AS deliveries, a.resolved_by
FROM kpi.alert a JOIN kpi.indicator i ON i.id = a.indicator_id JOIN kpi.scope s ON s.id = a.scope_id;
CREATE VIEW pg_temp.events AS
SELECT e.alert_id, e.kind, e.actor, e.state, e.severity, e.value, e.note
FROM kpi.alert_event e;

-- a bad value raises one alert, assigned to the owner, for each period with a target
SELECT kpi.record('sales.revenue', 'hq.east', 50, '2026-07-01') > 0 AS recorded;
SELECT * FROM pg_temp.alerts ORDER BY id;
-- better but still amber: the same alert improves
SELECT kpi.record('sales.revenue', 'hq.east', 35, '2026-07-02') > 0 AS recorded;
-- above the green edge (1.0) but inside the margin (1.05): stays open, severity follows
SELECT kpi.record('sales.revenue', 'hq.east', 16, '2026-07-03') > 0 AS recorded;
SELECT state, severity, value FROM pg_temp.alerts ORDER BY id;
-- back under the edge: the same alert worsens, nothing new is raised (no flapping)
SELECT kpi.record('sales.revenue', 'hq.east', -3, '2026-07-04') > 0 AS recorded;
SELECT kpi.record('sales.revenue', 'hq.east', 4, '2026-07-05') > 0 AS recorded;
SELECT kpi.record('sales.revenue', 'hq.east', -4, '2026-07-06') > 0 AS recorded;
SELECT count(*) AS alerts, max(state) AS state, max(severity::text) AS severity FROM pg_temp.alerts;
-- past the edge plus the margin: kpi resolves it
SELECT kpi.record('sales.revenue', 'hq.east', 10, '2026-07-07') > 0 AS recorded;
SELECT state, severity, value, resolved_by FROM pg_temp.alerts ORDER BY id;
SELECT alert_id, kind, actor, state, severity, value FROM pg_temp.events ORDER BY alert_id, kind, value;
-- bad again: a new alert, the resolved one stays as it was
SELECT kpi.record('sales.revenue', 'hq.east', -30, '2026-07-08') > 0 AS recorded;
SELECT id, state, severity, value FROM pg_temp.alerts ORDER BY id;
-- a rolled-back measurement leaves no alert behind
SELECT kpi.set_target('sales.revenue', 'hq.east', '2026-08', '>= 100') > 0 AS target_set;
BEGIN;
SELECT kpi.record('sales.revenue', 'hq.east', -1000, '2026-08-01') > 0 AS recorded;
SELECT count(*) AS alerts_in_transaction FROM kpi.alert;
ROLLBACK;
SELECT count(*) AS alerts_after_rollback FROM kpi.alert;

-- min_breaches counts periods of the key's grain: 2 = this month and the
-- one before (连续两个月未达标), whatever the number of loads
SELECT kpi.set_target('svc.csat', 'hq.east', '2026-06', '>= 4.5') > 0 AS target_set;
INSERT INTO kpi.alert_rule (indicator_id, scope_id, min_breaches)
VALUES (kpi.indicator_id('svc.csat'), kpi.scope_id('hq.east'), 2);
SELECT kpi.record('svc.csat', 'hq.east', 3.0, '2026-07-01') > 0 AS july_bad;
SELECT kpi.record('svc.csat', 'hq.east', 3.0, '2026-07-02') > 0 AS july_bad_again;
SELECT count(*) AS csat_alerts FROM pg_temp.alerts WHERE code = 'svc.csat';   -- one bad month
SELECT kpi.record('svc.csat', 'hq.east', 5.0, '2026-06-10') > 0 AS june_good;
SELECT count(*) AS csat_alerts FROM pg_temp.alerts WHERE code = 'svc.csat';
-- June turns bad late: July is judged again by kpi.evaluate() (it reads June)
UPDATE kpi.measurement SET value = 4.0 WHERE indicator_id = kpi.indicator_id('svc.csat') AND at = '2026-06-10';
SELECT count(*) AS before_evaluate FROM pg_temp.alerts WHERE code = 'svc.csat' AND period::text = '2026-07';
SELECT judged > 0 AS judged FROM kpi.evaluate();
SELECT code, period, state, severity, round(value::numeric, 2) AS value, assignee FROM pg_temp.alerts WHERE code = 'svc.csat' ORDER BY id;
DELETE FROM kpi.target WHERE indicator_id = kpi.indicator_id('svc.csat') AND period::text = '2026-06';

-- silences suppress raising until they end
DELETE FROM kpi.measurement WHERE indicator_id = kpi.indicator_id('svc.csat');
DELETE FROM kpi.alert WHERE indicator_id = kpi.indicator_id('svc.csat');
UPDATE kpi.alert_rule SET min_breaches = 1 WHERE indicator_id = kpi.indicator_id('svc.csat');
INSERT INTO kpi.silence (indicator_id, scope_id, until, reason)
VALUES (kpi.indicator_id('svc.csat'), NULL, now() + interval '1 day', '系统升级');
SELECT kpi.record('svc.csat', 'hq.east', 1.0, '2026-07-05') > 0 AS bad_but_silenced;
SELECT count(*) AS csat_alerts FROM pg_temp.alerts WHERE code = 'svc.csat';
UPDATE kpi.silence SET until = now() - interval '1 second';
SELECT kpi.record('svc.csat', 'hq.east', 1.0, '2026-07-06') > 0 AS bad_after_silence;
SELECT code, state, severity FROM pg_temp.alerts WHERE code = 'svc.csat';

-- basis pace: a goal for 2099 has no share due yet, so a low start is no breach;
-- on attainment the same value raises
INSERT INTO kpi.alert_rule (indicator_id, basis) VALUES (kpi.indicator_id('ops.output'), 'pace');
SELECT kpi.record('ops.output', 'hq.east', 1, '2099-01-05') > 0 AS recorded;
SELECT count(*) AS output_alerts FROM pg_temp.alerts WHERE code = 'ops.output';
UPDATE kpi.alert_rule SET basis = 'attainment' WHERE indicator_id = kpi.indicator_id('ops.output');
SELECT kpi.record('ops.output', 'hq.east', 1, '2099-01-06') > 0 AS recorded;
SELECT code, period, state, severity FROM pg_temp.alerts WHERE code = 'ops.output';

-- disabled rules raise nothing
UPDATE kpi.alert_rule SET enabled = false WHERE indicator_id = kpi.indicator_id('ops.output');
DELETE FROM kpi.alert WHERE indicator_id = kpi.indicator_id('ops.output');
SELECT kpi.record('ops.output', 'hq.east', 1, '2099-01-07') > 0 AS recorded;
SELECT count(*) AS output_alerts FROM pg_temp.alerts WHERE code = 'ops.output';

-- repeat_after re-notifies an unacknowledged incident by time (kpi.evaluate),
-- and makes it claimable again
UPDATE kpi.alert_rule SET repeat_after = '10 minutes' WHERE indicator_id = kpi.indicator_id('sales.revenue');
SELECT repeated FROM kpi.evaluate(now() + interval '5 minutes');
SELECT repeated FROM kpi.evaluate(now() + interval '15 minutes');
SELECT e.kind, count(*) FROM pg_temp.events e JOIN kpi.alert a ON a.id = e.alert_id
WHERE a.state <> 'resolved' AND a.indicator_id = kpi.indicator_id('sales.revenue') GROUP BY e.kind ORDER BY 1;
UPDATE kpi.alert_rule SET repeat_after = NULL;
UPDATE kpi.alert SET notified_at = raised_at;

-- rule checks
\set VERBOSITY terse
INSERT INTO kpi.alert_rule (indicator_id, raise_at) VALUES (kpi.indicator_id('ops.output'), 'blue');
INSERT INTO kpi.alert_rule (indicator_id, escalate_to, escalate_after) VALUES (kpi.indicator_id('ops.output'), '{x}', '{}');
INSERT INTO kpi.alert_rule (indicator_id, basis) VALUES (kpi.indicator_id('ops.output'), 'vibes');
INSERT INTO kpi.alert_rule (indicator_id, anomaly_window) VALUES (kpi.indicator_id('ops.output'), 3);
INSERT INTO kpi.alert_rule (indicator_id, max_deliveries) VALUES (kpi.indicator_id('ops.output'), 0);
INSERT INTO kpi.alert_rule (indicator_id, min_breaches) VALUES (kpi.indicator_id('ops.output'), 0);
INSERT INTO kpi.alert_rule (indicator_id) VALUES (kpi.indicator_id('ops.output'));
\set VERBOSITY default

-- ---------------------------------------------------------------------
-- the queue: claim, lease, ack, resolve, escalate
-- ---------------------------------------------------------------------
SELECT id, code, period, severity FROM pg_temp.alerts WHERE state = 'open' ORDER BY id;
SELECT c.id, i.code, c.period, c.severity, c.delivery_count, c.claimed_by FROM kpi.alert_claim('worker-1', 2) c
JOIN kpi.indicator i ON i.id = c.indicator_id ORDER BY id;
-- leased alerts are invisible to other consumers
SELECT count(*) AS claimed_by_worker_2 FROM kpi.alert_claim('worker-2', 10);
-- an expired lease makes an alert claimable again (time passes: the leases end)
UPDATE kpi.alert SET lease_until = now() - interval '1 second' WHERE claimed_by = 'worker-1';
SELECT count(*) AS reclaimed, max(delivery_count) AS max_deliveries FROM kpi.alert_claim('worker-3', 10);
SELECT kpi.alert_claim(NULL);
SELECT kpi.alert_claim('w', 0);
SELECT kpi.alert_claim('w', 1, '-1 second');

-- escalation: by time since raised, only while unacknowledged
SELECT kpi.alert_escalate(now() - interval '1 hour') AS escalated_too_early;
SELECT kpi.alert_escalate(now() + interval '2 hours') AS escalated_step_1;
SELECT code, period, assignee, level FROM pg_temp.alerts WHERE state = 'open' ORDER BY id;
SELECT kpi.alert_escalate(now() + interval '2 hours') AS escalated_again;
SELECT (kpi.alert_ack(id, 'bob', '在查')).state FROM kpi.alert
WHERE state = 'open' AND indicator_id = kpi.indicator_id('sales.revenue');
SELECT kpi.alert_escalate(now() + interval '5 hours') AS escalated_step_2;
SELECT code, period, state, assignee, level FROM pg_temp.alerts WHERE state <> 'resolved' ORDER BY id;

-- transitions and their errors
SELECT (kpi.alert_ack(id, 'bob')).state FROM kpi.alert
WHERE state = 'acked' AND indicator_id = kpi.indicator_id('sales.revenue');
SELECT (kpi.alert_resolve(id, 'bob', '已回款')).state FROM kpi.alert
WHERE state = 'acked' AND indicator_id = kpi.indicator_id('sales.revenue');
SELECT (kpi.alert_resolve(id, 'bob')).state FROM kpi.alert
WHERE resolved_by = 'bob';
SELECT (kpi.alert_ack(id, 'bob')).state FROM kpi.alert
WHERE resolved_by = 'bob';
SELECT kpi.alert_ack(999999, 'bob');
SELECT kpi.alert_resolve(-1, 'bob');
\set VERBOSITY sqlstate
SELECT kpi.alert_ack(999999, 'bob');
SELECT kpi.alert_ack(id, 'bob') FROM kpi.alert WHERE resolved_by = 'bob';
\set VERBOSITY default
SELECT alert_id, kind, actor, state, note FROM pg_temp.events
WHERE kind IN ('ack', 'resolve', 'escalate', 'claim') ORDER BY alert_id, kind, actor;

SELECT kpi.set_target('sales.revenue', 'hq.east', '2026-09', '>= 100') > 0 AS target_set;
-- a writer with no privileges on the alert tables still raises alerts: the
-- trigger runs as the extension owner with a pinned search_path
CREATE ROLE kpi_writer;
GRANT USAGE ON SCHEMA kpi TO kpi_writer;
GRANT SELECT ON kpi.indicator, kpi.scope TO kpi_writer;
GRANT SELECT, INSERT ON kpi.measurement TO kpi_writer;
GRANT USAGE ON SEQUENCE kpi.measurement_id_seq TO kpi_writer;
-- (since 0.6 a writer records only in the scopes it is a member of)
INSERT INTO kpi.scope_member (role, scope_id) VALUES ('kpi_writer', kpi.scope_id('hq.east'));
CREATE SCHEMA evil;
CREATE FUNCTION evil.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT '1999-01-01'::timestamptz $$;
GRANT USAGE ON SCHEMA evil TO kpi_writer;
SET ROLE kpi_writer;
SET search_path = evil, public;
SELECT count(*) FROM kpi.alert;
SELECT kpi.record('sales.revenue', 'hq.east', -500, '2026-09-01') > 0 AS recorded_by_writer;
-- the owner-rights maintenance functions are not theirs to call
SELECT kpi.actual_rebuild();
RESET ROLE;
SET search_path = public;
SELECT a.code, a.period, a.state, a.severity, x.raised_at > '2000-01-01' AS real_now FROM pg_temp.alerts a
JOIN kpi.alert x USING (id) WHERE a.period::text = '2026-09';
DROP SCHEMA evil CASCADE;
REVOKE ALL ON SCHEMA kpi FROM kpi_writer;
REVOKE ALL ON kpi.indicator, kpi.scope, kpi.measurement FROM kpi_writer;
REVOKE ALL ON SEQUENCE kpi.measurement_id_seq FROM kpi_writer;
DELETE FROM kpi.scope_member WHERE role = 'kpi_writer';
DROP ROLE kpi_writer;

DROP VIEW pg_temp.alerts, pg_temp.events;
SET client_min_messages = warning;
TRUNCATE kpi.link, kpi.target, kpi.target_history, kpi.indicator_history,
         kpi.indicator, kpi.scope CASCADE;
RESET client_min_messages;
RESET search_path;
RESET timezone;
RESET datestyle;
