-- The indicator system: dictionary and its history, scopes, links, targets,
-- measurements, the trigger-kept actuals and the scorecard view.
SET datestyle = ISO;
SET timezone = 'Asia/Shanghai';
SET search_path = public;          -- nothing here relies on kpi being on the path
-- the company's days are cut in Shanghai (the session's zone does not count)
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai');
SELECT kpi.time_zone();

-- ---------------------------------------------------------------------
-- codes and names
-- ---------------------------------------------------------------------
INSERT INTO kpi.indicator (code, name, unit, agg, owner, definition)
VALUES ('sales.revenue', '销售收入', '万元', 'sum', 'alice', '含税销售额，按签收日期确认'),
       ('sales.orders', '订单数', '单', 'sum', 'alice', NULL),
       ('sales.margin', '毛利率', '%', 'ratio', 'bob', '毛利 / 收入'),
       ('ops.inventory', '库存', '件', 'last', 'carol', '月末库存'),
       ('svc.csat', '客户满意度', '分', 'avg', 'dave', NULL),
       ('svc.complaints', '客诉率', '%', 'ratio', 'dave', '客诉数 / 订单数');
SELECT code, name, agg, bands, score_cap, grains, lifecycle FROM kpi.indicator ORDER BY id;
-- bad codes are refused with the code named
INSERT INTO kpi.indicator (code, name) VALUES ('Sales.Revenue', 'x');
INSERT INTO kpi.indicator (code, name) VALUES ('sales..revenue', 'x');
INSERT INTO kpi.indicator (code, name) VALUES ('sales.revenue.', 'x');
INSERT INTO kpi.indicator (code, name) VALUES ('1sales', 'x');
INSERT INTO kpi.indicator (code, name) VALUES ('销售', 'x');
\set VERBOSITY sqlstate
INSERT INTO kpi.indicator (code, name) VALUES ('sales revenue', 'x');
INSERT INTO kpi.indicator (code, name) VALUES ('sales.revenue', 'duplicate');
\set VERBOSITY default
-- grains, score_cap and lifecycle are checked
INSERT INTO kpi.indicator (code, name, grains) VALUES ('x.a', 'x', '{month,fortnight}');
INSERT INTO kpi.indicator (code, name, grains) VALUES ('x.b', 'x', '{}');
INSERT INTO kpi.indicator (code, name, grains) VALUES ('x.c', 'x', '{month,month}');
\set VERBOSITY terse
INSERT INTO kpi.indicator (code, name, score_cap) VALUES ('x.d', 'x', 0);
INSERT INTO kpi.indicator (code, name, lifecycle) VALUES ('x.e', 'x', 'dead');
\set VERBOSITY default
INSERT INTO kpi.indicator (code, name, score_cap, grains) VALUES ('x.f', 'x', NULL, '{week,day}');
SELECT code, score_cap, grains FROM kpi.indicator WHERE code = 'x.f';
DELETE FROM kpi.indicator WHERE code = 'x.f';

-- ---------------------------------------------------------------------
-- dictionary history and kpi.indicator_as_of
-- ---------------------------------------------------------------------
SELECT clock_timestamp() AS t_created \gset
UPDATE kpi.indicator SET definition = '不含税销售额，按签收日期确认' WHERE code = 'sales.revenue';
SELECT clock_timestamp() AS t_redefined \gset
UPDATE kpi.indicator SET name = '营业收入' WHERE code = 'sales.revenue';
UPDATE kpi.indicator SET name = '营业收入' WHERE code = 'sales.revenue';   -- no change, no history
SELECT op, changed_by = current_user AS by_me, old_row ->> 'definition' AS old_definition,
       new_row ->> 'definition' AS new_definition, new_row ->> 'name' AS new_name
FROM kpi.indicator_history h JOIN kpi.indicator i ON i.id = h.indicator_id
WHERE i.code = 'sales.revenue' ORDER BY h.id;
SELECT code, name, definition FROM kpi.indicator_as_of(:'t_created') WHERE code LIKE 'sales.%';
SELECT code, name, definition FROM kpi.indicator_as_of(:'t_redefined') WHERE code = 'sales.revenue';
SELECT code, name, definition FROM kpi.indicator_as_of(now()) WHERE code = 'sales.revenue';
SELECT count(*) AS before_anything FROM kpi.indicator_as_of('2000-01-01');
INSERT INTO kpi.indicator (code, name) VALUES ('tmp.gone', '临时');
SELECT clock_timestamp() AS t_tmp \gset
DELETE FROM kpi.indicator WHERE code = 'tmp.gone';
SELECT count(*) FILTER (WHERE code = 'tmp.gone') AS then_present FROM kpi.indicator_as_of(:'t_tmp');
SELECT count(*) FILTER (WHERE code = 'tmp.gone') AS now_present FROM kpi.indicator_as_of(clock_timestamp());
SELECT (SELECT updated_at FROM kpi.indicator WHERE code = 'sales.revenue') >
       (SELECT created_at FROM kpi.indicator WHERE code = 'sales.revenue') AS updated_at_moved;

-- ---------------------------------------------------------------------
-- scopes: the organisation tree
-- ---------------------------------------------------------------------
INSERT INTO kpi.scope (code, name) VALUES ('hq', '华夏集团');
INSERT INTO kpi.scope (code, name, parent_id)
SELECT v.code, v.name, p.id FROM (VALUES ('hq.east', '华东大区', 'hq'), ('hq.south', '华南大区', 'hq')) v(code, name, parent)
JOIN kpi.scope p ON p.code = v.parent;
INSERT INTO kpi.scope (code, name, parent_id)
SELECT v.code, v.name, p.id FROM (VALUES ('hq.east.sh', '上海分公司', 'hq.east'), ('hq.east.hz', '杭州分公司', 'hq.east'),
                                         ('hq.south.gz', '广州分公司', 'hq.south')) v(code, name, parent)
JOIN kpi.scope p ON p.code = v.parent;
SELECT code, name, depth FROM kpi.scope_subtree('hq') ORDER BY depth, code;
SELECT code, depth FROM kpi.scope_subtree('hq.east') ORDER BY depth, code;
SELECT code, distance FROM kpi.scope_ancestors('hq.east.hz');
SELECT kpi.scope_id('hq.nowhere');
INSERT INTO kpi.scope (code, name) VALUES ('HQ2', 'x');
-- a scope cannot move below itself
UPDATE kpi.scope SET parent_id = (SELECT id FROM kpi.scope WHERE code = 'hq.east.sh') WHERE code = 'hq.east';
UPDATE kpi.scope SET parent_id = id WHERE code = 'hq.south';
-- moving a branch to another region is one update
UPDATE kpi.scope SET parent_id = (SELECT id FROM kpi.scope WHERE code = 'hq.south') WHERE code = 'hq.east.hz';
SELECT code, distance FROM kpi.scope_ancestors('hq.east.hz');
UPDATE kpi.scope SET parent_id = (SELECT id FROM kpi.scope WHERE code = 'hq.east') WHERE code = 'hq.east.hz';
SELECT a.code AS ancestor, count(*) AS scopes_in_subtree
FROM kpi.scope_tree t JOIN kpi.scope a ON a.id = t.ancestor_id GROUP BY a.code ORDER BY a.code;
-- the subtree lookup walks the parent_id index
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT * FROM kpi.scope s WHERE s.parent_id = 1;
RESET enable_seqscan;

-- ---------------------------------------------------------------------
-- links: a weighted DAG
-- ---------------------------------------------------------------------
INSERT INTO kpi.indicator (code, name) VALUES ('strategy.growth', '增长'), ('strategy.customer', '客户');
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT p.id, c.id, v.w FROM (VALUES ('strategy.growth', 'sales.revenue', 2.0), ('strategy.growth', 'sales.margin', 1),
                                    ('strategy.customer', 'svc.csat', 1), ('strategy.customer', 'svc.complaints', 1),
                                    ('strategy.customer', 'sales.orders', 1), ('strategy.growth', 'sales.orders', 1)) v(p, c, w)
JOIN kpi.indicator p ON p.code = v.p JOIN kpi.indicator c ON c.code = v.c;
SELECT p.code AS parent, c.code AS child, l.weight
FROM kpi.link l JOIN kpi.indicator p ON p.id = l.parent_id JOIN kpi.indicator c ON c.id = l.child_id
ORDER BY 1, 2;
-- the tree for BI tools: sales.orders is under both strategy indicators
SELECT path, parent, depth, weight FROM kpi.indicator_tree ORDER BY path;
-- self-links, cycles and bad weights are refused
INSERT INTO kpi.link (parent_id, child_id) SELECT id, id FROM kpi.indicator WHERE code = 'sales.orders';
INSERT INTO kpi.link (parent_id, child_id)
SELECT c.id, p.id FROM kpi.indicator p, kpi.indicator c WHERE p.code = 'strategy.growth' AND c.code = 'sales.revenue';
INSERT INTO kpi.link (parent_id, child_id)
SELECT p.id, c.id FROM kpi.indicator p, kpi.indicator c WHERE p.code = 'sales.orders' AND c.code = 'strategy.customer';
\set VERBOSITY sqlstate
INSERT INTO kpi.link (parent_id, child_id)
SELECT c.id, p.id FROM kpi.indicator p, kpi.indicator c WHERE p.code = 'strategy.customer' AND c.code = 'svc.csat';
\set VERBOSITY default
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT p.id, c.id, 0 FROM kpi.indicator p, kpi.indicator c WHERE p.code = 'strategy.customer' AND c.code = 'ops.inventory';
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT p.id, c.id, -1 FROM kpi.indicator p, kpi.indicator c WHERE p.code = 'strategy.customer' AND c.code = 'ops.inventory';
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT p.id, c.id, 'NaN' FROM kpi.indicator p, kpi.indicator c WHERE p.code = 'strategy.customer' AND c.code = 'ops.inventory';
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT p.id, c.id, 'Infinity' FROM kpi.indicator p, kpi.indicator c WHERE p.code = 'strategy.customer' AND c.code = 'ops.inventory';
UPDATE kpi.link SET weight = 0 WHERE weight = 2;

-- ---------------------------------------------------------------------
-- targets and their history
-- ---------------------------------------------------------------------
SELECT kpi.set_target('sales.revenue', 'hq.east.sh', '2026-07', '>= 100') > 0 AS set;
SELECT kpi.set_target('sales.revenue', 'hq.east.sh', '2026-Q3', '>= 300');
SELECT kpi.set_target('sales.margin', 'hq.east.sh', '2026-07', '>= 0.3 from 0.25');
SELECT kpi.set_target('ops.inventory', 'hq.east.sh', '2026-07', '800 .. 1200');
SELECT kpi.set_target('svc.complaints', 'hq.east.sh', '2026-07', '<= 0.02');
SELECT kpi.set_target('sales.nothing', 'hq.east.sh', '2026-07', '>= 1');
SELECT kpi.set_target('sales.revenue', 'hq.nowhere', '2026-07', '>= 1');
INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
SELECT indicator_id, scope_id, period, goal FROM kpi.target WHERE period OPERATOR(kpi.=) '2026-07' LIMIT 1;

-- ---------------------------------------------------------------------
-- measurements and the actuals the trigger keeps
-- ---------------------------------------------------------------------
SELECT kpi.record('sales.revenue', 'hq.east.sh', 40, '2026-07-03 10:00+08') > 0 AS recorded;
SELECT kpi.record('sales.revenue', 'hq.east.sh', 35, '2026-07-20 10:00+08', '大客户回款');
SELECT kpi.record('sales.nothing', 'hq.east.sh', 1);
SELECT kpi.record('sales.revenue', 'hq.nowhere', 1);
\set VERBOSITY terse
SELECT kpi.record('sales.revenue', 'hq.east.sh', 'NaN');
SELECT kpi.record('sales.revenue', 'hq.east.sh', 'Infinity');
SELECT kpi.record('sales.revenue', 'hq.east.sh', NULL);
\set VERBOSITY default
-- the actual of each of the indicator's grains (month, quarter, year)
CREATE VIEW pg_temp.act AS
SELECT i.code, s.code AS scope, a.period, kpi.value(a.tally, 'count') AS n, a.value, a.target,
       round(a.attainment::numeric, 4) AS attainment, a.status
FROM kpi.actual a JOIN kpi.indicator i ON i.id = a.indicator_id JOIN kpi.scope s ON s.id = a.scope_id;
SELECT * FROM pg_temp.act ORDER BY code, scope, period;
-- a multi-row insert, a ratio indicator, semi-additive last, average
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator)
SELECT kpi.indicator_id(v.code), kpi.scope_id('hq.east.sh'), v.at, v.value, v.den
FROM (VALUES ('sales.margin', timestamptz '2026-07-05 12:00+08', 30.0, 100.0),
             ('sales.margin', '2026-07-25 12:00+08', 10, 20),
             ('ops.inventory', '2026-06-30 12:00+08', 950, NULL),
             ('ops.inventory', '2026-07-31 18:00+08', 1250, NULL),
             ('ops.inventory', '2026-07-15 12:00+08', 1000, NULL),
             ('svc.csat', '2026-07-01 09:00+08', 4.0, NULL),
             ('svc.csat', '2026-07-02 09:00+08', 5.0, NULL),
             ('svc.complaints', '2026-07-10 09:00+08', 3, 200)) v(code, at, value, den);
SELECT * FROM pg_temp.act WHERE period::text = '2026-07' ORDER BY code;
-- margin: (30 + 10) / (100 + 20) = 0.333..., not the average of 0.3 and 0.5
SELECT kpi.record_ratio('sales.margin', 'hq.east.sh', 5, 0, '2026-07-26');
SELECT value AS margin_after_zero_den FROM pg_temp.act WHERE code = 'sales.margin' AND period::text = '2026-07';
-- a ratio indicator needs a denominator
SELECT kpi.record('sales.margin', 'hq.east.sh', 1, '2026-07-26');
-- the session time zone decides the period: 2026-06-30 20:00 UTC is July in Shanghai
SELECT kpi.record('sales.orders', 'hq.east.sh', 1, '2026-06-30 20:00+00');
SELECT period FROM pg_temp.act WHERE code = 'sales.orders' ORDER BY period;
-- update: the value changes, the actual follows; moving at moves it between months
UPDATE kpi.measurement SET value = 45 WHERE value = 35;
SELECT period, n, value, attainment, status FROM pg_temp.act WHERE code = 'sales.revenue' ORDER BY period;
UPDATE kpi.measurement SET at = '2026-08-02 10:00+08' WHERE value = 45;
SELECT period, n, value FROM pg_temp.act WHERE code = 'sales.revenue' ORDER BY period;
-- delete: the actual is recomputed, an emptied one disappears
DELETE FROM kpi.measurement WHERE value = 45;
SELECT period, n, value FROM pg_temp.act WHERE code = 'sales.revenue' ORDER BY period;
-- a rolled-back measurement leaves nothing behind
BEGIN;
SELECT kpi.record('sales.revenue', 'hq.east.sh', 1000, '2026-09-01') > 0 AS recorded;
SELECT count(*) AS september FROM pg_temp.act WHERE code = 'sales.revenue' AND period::text = '2026-09';
ROLLBACK;
SELECT count(*) AS september FROM pg_temp.act WHERE code = 'sales.revenue' AND period::text = '2026-09';
-- retargeting mid-period re-evaluates the actual; the history keeps both goals
SELECT kpi.set_target('sales.revenue', 'hq.east.sh', '2026-07', '>= 50', '年中调整');
SELECT period, value, target, attainment, status FROM pg_temp.act WHERE code = 'sales.revenue' AND period::text = '2026-07';
SELECT op, old_goal, new_goal, note FROM kpi.target_history
WHERE indicator_id = kpi.indicator_id('sales.revenue') AND period::text = '2026-07' ORDER BY id;
DELETE FROM kpi.target WHERE indicator_id = kpi.indicator_id('sales.revenue') AND period::text = '2026-07';
SELECT period, value, target, attainment, status FROM pg_temp.act WHERE code = 'sales.revenue' AND period::text = '2026-07';
SELECT op, old_goal, new_goal FROM kpi.target_history
WHERE indicator_id = kpi.indicator_id('sales.revenue') AND period::text = '2026-07' ORDER BY id;
SELECT kpi.set_target('sales.revenue', 'hq.east.sh', '2026-07', '>= 100');
-- changing bands re-evaluates; changing grains rebuilds from measurements
UPDATE kpi.indicator SET bands = 'amber 0.3, green 0.4' WHERE code = 'sales.revenue';
SELECT period, attainment, status FROM pg_temp.act WHERE code = 'sales.revenue' AND period::text = '2026-07';
-- grains without quarter would leave its quarter target unevaluated: refused
UPDATE kpi.indicator SET grains = '{week,month}' WHERE code = 'sales.revenue';
UPDATE kpi.indicator SET grains = '{week,month,quarter}' WHERE code = 'sales.revenue';
SELECT period, n, value FROM pg_temp.act WHERE code = 'sales.revenue' ORDER BY period;
UPDATE kpi.indicator SET grains = '{month,quarter,year}', bands = 'amber 0.8, green 1' WHERE code = 'sales.revenue';
-- retired indicators take no new values
UPDATE kpi.indicator SET lifecycle = 'retired' WHERE code = 'sales.orders';
SELECT kpi.record('sales.orders', 'hq.east.sh', 1, '2026-07-01');
UPDATE kpi.indicator SET lifecycle = 'active' WHERE code = 'sales.orders';
-- kpi.actual_rebuild gives what the trigger kept
CREATE TEMP TABLE kept AS SELECT * FROM kpi.actual;
SELECT kpi.actual_rebuild() AS rebuilt_rows;
SELECT count(*) AS differing FROM (
    (SELECT indicator_id, scope_id, period, tally::text, value, target, attainment, status FROM kept
     EXCEPT SELECT indicator_id, scope_id, period, tally::text, value, target, attainment, status FROM kpi.actual)
    UNION ALL
    (SELECT indicator_id, scope_id, period, tally::text, value, target, attainment, status FROM kpi.actual
     EXCEPT SELECT indicator_id, scope_id, period, tally::text, value, target, attainment, status FROM kept)) d;

-- ---------------------------------------------------------------------
-- the scorecard: subtree-merged, plain column types only
-- ---------------------------------------------------------------------
SELECT kpi.record('sales.revenue', 'hq.east.hz', 60, '2026-07-09 10:00+08');
SELECT kpi.record('sales.revenue', 'hq.south.gz', 20, '2026-07-09 10:00+08');
SELECT kpi.record('sales.revenue', 'hq.east.sh', 70, '2026-06-09 10:00+08');
SELECT kpi.set_target('sales.revenue', 'hq.east', '2026-07', '>= 150');
SELECT indicator, scope, period, grain, period_start, period_end, actual, target, goal,
       round(attainment::numeric, 4) AS attainment, status, owner, previous_actual, previous_change
FROM kpi.scorecard WHERE indicator = 'sales.revenue' AND grain = 'month' ORDER BY scope, period;
-- levels are semi-additive: a region's stock is the sum of its branches'
-- closing stock, not the latest single reading; flows and ratios merge
SELECT kpi.record('ops.inventory', 'hq.east.hz', 300, '2026-07-20 12:00+08');
SELECT kpi.record('ops.inventory', 'hq.east.hz', 200, '2026-07-25 12:00+08');
SELECT kpi.record_ratio('sales.margin', 'hq.east.hz', 90, 100, '2026-07-10 12:00+08');
SELECT indicator, scope, actual FROM kpi.scorecard
WHERE indicator IN ('ops.inventory', 'sales.margin') AND period = '2026-07' ORDER BY indicator, scope;
SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = 'kpi' AND table_name = 'scorecard' ORDER BY ordinal_position;
-- one number per figure: the scorecard's actual is kpi.scope_actual's and
-- kpi.rollup's, to the last bit
SELECT count(*) AS scorecard_rows,
       count(*) FILTER (WHERE sc.actual IS DISTINCT FROM sa.value) AS differ_from_scope_actual
FROM kpi.scorecard sc
JOIN kpi.scope_actual sa ON sa.indicator_id = kpi.indicator_id(sc.indicator) AND sa.scope_id = kpi.scope_id(sc.scope)
                        AND sa.period::text = sc.period;
SELECT r.code, sc.actual = r.actual AS same_as_rollup, sc.target = r.target AS same_target,
       sc.attainment = r.attainment AS same_attainment
FROM kpi.rollup('2026-07', 'hq.east') r
JOIN kpi.scorecard sc ON sc.indicator = r.code AND sc.scope = 'hq.east' AND sc.period = '2026-07'
ORDER BY r.code;
-- what drivers bind: text parameters reach kpi.rollup, kpi.set_target and
-- kpi.judge (search_path is public here), with the same answers and errors
PREPARE by_text(text, text) AS SELECT code, actual FROM kpi.rollup($1, $2) ORDER BY code;
EXECUTE by_text('2026-07', 'hq.east');
SELECT count(*) AS same FROM kpi.rollup('2026-07'::text, 'hq') t
JOIN kpi.rollup('2026-07'::kpi.period, 'hq') p USING (code)
WHERE t.actual IS NOT DISTINCT FROM p.actual AND t.score IS NOT DISTINCT FROM p.score;
EXECUTE by_text('2026-13', 'hq');
DEALLOCATE by_text;
PREPARE set_by_text(text, text, text, text, text) AS SELECT kpi.set_target($1, $2, $3, $4, $5) > 0 AS set;
EXECUTE set_by_text('sales.orders', 'hq.east', '2026-07', '>= 10', 'bound as text');
SELECT goal::text, note FROM kpi.target
WHERE indicator_id = kpi.indicator_id('sales.orders') AND scope_id = kpi.scope_id('hq.east');
EXECUTE set_by_text('sales.orders', 'hq.east', '2026-07', '=> 10', NULL);
DEALLOCATE set_by_text;
SELECT kind, basis, severity FROM kpi.judge('sales.revenue', 'hq.east', '2026-07'::text, '2026-08-02 00:00+08');
-- kpi.series: the long format, time = the period's first moment, company time
SELECT "time", indicator, scope, grain, period, value, target, status, status_rank FROM kpi.series
WHERE indicator = 'sales.revenue' AND grain = 'month' AND "time" >= '2026-07-01 00:00+08' ORDER BY scope;
-- the dashboard columns: direction, a status that sorts, pace status, the
-- period's first moment in the company's zone, the scope tree; check-in
-- notes in kpi.checkin
SELECT kpi.record('sales.revenue', 'hq.east.sh', 0, '2026-07-30 09:00+08', note => 'store closed for the typhoon');
SELECT scope, period, actual, goal, direction, status, status_rank, pace IS NOT NULL AS has_pace,
       pace_status IS NOT NULL AS has_pace_status, period_start_at, scope_parent, scope_depth, scope_path
FROM kpi.scorecard WHERE indicator = 'sales.revenue' AND period = '2026-07' ORDER BY scope_path;
SELECT "time", indicator, scope, value, note FROM kpi.checkin ORDER BY "time";
SELECT pace_status, count(*) FROM kpi.scorecard GROUP BY 1 ORDER BY 1;
-- the small tables are analysed by autovacuum after any change
SELECT relname, reloptions FROM pg_class
WHERE relnamespace = 'kpi'::regnamespace AND relname IN ('scope', 'indicator', 'link') ORDER BY 1;

-- ---------------------------------------------------------------------
-- Every table and view, and every column of them, has a description (BI
-- tools show them as field descriptions): none is listed here
-- ---------------------------------------------------------------------
SELECT c.relname AS undescribed_relation
FROM pg_class c
WHERE c.relnamespace = 'kpi'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND obj_description(c.oid, 'pg_class') IS NULL
ORDER BY 1;
SELECT c.relname || '.' || a.attname AS undescribed_column
FROM pg_class c
JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
WHERE c.relnamespace = 'kpi'::regnamespace AND c.relkind IN ('r', 'v', 'm', 'p', 'f')
  AND col_description(c.oid, a.attnum) IS NULL
ORDER BY 1;

-- ---------------------------------------------------------------------
-- TRUNCATE empties the actuals too, but for the keys that have a target
-- (they stay, with an empty tally); the trigger is not callable directly
-- ---------------------------------------------------------------------
TRUNCATE kpi.measurement;
SELECT count(*) AS actuals_left FROM kpi.actual;
SELECT kpi.measurement_sync();
DROP VIEW pg_temp.act;
-- leave the tables empty for the next suites
SET client_min_messages = warning;
TRUNCATE kpi.link, kpi.target, kpi.target_history, kpi.indicator_history,
         kpi.indicator, kpi.scope, kpi.setting CASCADE;
RESET client_min_messages;
RESET search_path;
RESET timezone;
RESET datestyle;
