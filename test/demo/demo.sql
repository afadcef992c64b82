-- make demo: the indicator system of 华夏家电 (Huaxia Appliances) in kpi.
-- Loads test/demo/company.sql (42 indicators, a company with three regions,
-- 2025 and 2026 by month, targets for 2026), then prints what a management
-- meeting looks at for the second quarter of 2026:
--   1. the indicator tree (指标树) for the whole company, from kpi.rollup;
--   2. the same tree for one region;
--   3. the regions side by side on a few key indicators, from kpi.scorecard,
--      against the quarter before and the same quarter last year;
--   4. one region month by month, to see when things went wrong;
--   5. a check that ratio indicators are ratios of sums;
--   6. the alerts: incidents grouping related alerts, every level, an
--      anomaly caught without a target, what a consumer is handed;
--   7. the review (复盘) of the quarter for 华北大区: findings with root
--      causes and lessons, actions with owners and due dates, the overdue
--      ones, and a lessons search in Chinese and in English;
--   8. why 华北大区 is red: the attribution path of each red root
--      (kpi.root_cause), and the company's revenue gap split by region and
--      by channel (kpi.explain);
--   9. whether 2026-Q3 will make it: forecasts as of mid-August
--      (kpi.forecast).
\set QUIET on
\pset footer off
\pset null ''
CREATE EXTENSION kpi;
\ir company.sql

-- How the demo prints numbers: ratios (unit %) as percentages; numbers from
-- 1,000 up, and whole numbers from 100 up, with thousands separators and no
-- decimals; from 100 up one decimal; below 100 two.
CREATE FUNCTION pg_temp.fmt(v float8, unit text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN v IS NULL THEN NULL
        WHEN unit = '%' THEN to_char(v * 100, 'FM9999990.00') || '%'
        WHEN abs(v) >= 100 AND v = trunc(v) THEN to_char(v, 'FM999,999,999,990')
        WHEN abs(v) >= 1000 THEN to_char(round(v), 'FM999,999,999,990')
        WHEN abs(v) >= 100 THEN to_char(v, 'FM999990.0')
        ELSE to_char(v, 'FM999990.00') END
$$;
-- A change against an earlier value: percentage points for ratios,
-- per cent for everything else.
CREATE FUNCTION pg_temp.delta(cur float8, prev float8, unit text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN cur IS NULL OR prev IS NULL THEN NULL
        WHEN unit = '%' THEN to_char((cur - prev) * 100, 'FMS9990.00') || ' pp'
        WHEN prev = 0 THEN NULL
        ELSE to_char((cur - prev) / abs(prev) * 100, 'FMS9990.0') || '%' END
$$;

\echo
\echo '华夏家电 Huaxia Appliances — indicator review 2026-Q2'
\echo '====================================================='
\echo 'status: red < amber < green < blue (exceeding).  score = attainment capped at 1.2;'
\echo 'a node without its own target is scored from its children (weighted);'
\echo 'coverage = share of the children''s weight that had a score.'
\echo '* = the indicator also counts under a second parent; it is listed once.'

\echo
\echo '1. Indicator tree, whole company (kpi.rollup(''2026-Q2''))'
SELECT repeat('  ', r.depth) || i.name
         || CASE WHEN (SELECT count(*) FROM kpi.link l WHERE l.child_id = r.indicator_id) > 1
                 THEN ' *' ELSE '' END                  AS indicator,
       r.code,
       pg_temp.fmt(r.actual, i.unit)                   AS actual,
       pg_temp.fmt(r.target, i.unit)                   AS target,
       CASE WHEN i.unit <> '%' THEN i.unit END          AS unit,
       to_char(r.attainment * 100, 'FM9990.0')          AS "att %",
       to_char(r.score, 'FM0.000')                      AS score,
       r.status::text                                   AS status,
       to_char(r.coverage * 100, 'FM990')               AS "cov %"
FROM kpi.rollup('2026-Q2') WITH ORDINALITY AS r
JOIN kpi.indicator i ON i.id = r.indicator_id
ORDER BY r.ordinality;

\echo
\echo '2. Indicator tree, 华北大区 (kpi.rollup(''2026-Q2'', ''hq.north'')): the supplier outage of April and May'
SELECT repeat('  ', r.depth) || i.name
         || CASE WHEN (SELECT count(*) FROM kpi.link l WHERE l.child_id = r.indicator_id) > 1
                 THEN ' *' ELSE '' END                  AS indicator,
       r.code,
       pg_temp.fmt(r.actual, i.unit)                   AS actual,
       pg_temp.fmt(r.target, i.unit)                   AS target,
       CASE WHEN i.unit <> '%' THEN i.unit END          AS unit,
       to_char(r.attainment * 100, 'FM9990.0')          AS "att %",
       to_char(r.score, 'FM0.000')                      AS score,
       r.status::text                                   AS status,
       to_char(r.coverage * 100, 'FM990')               AS "cov %"
FROM kpi.rollup('2026-Q2', 'hq.north') WITH ORDINALITY AS r
JOIN kpi.indicator i ON i.id = r.indicator_id
ORDER BY r.ordinality;

\echo
\echo '3. Regions side by side, 2026-Q2 (kpi.scorecard): against 2026-Q1 and 2025-Q2'
\echo '   (changes of ratios in percentage points; growth has no 2025-Q2 value: there is no 2024 data)'
SELECT sc.indicator_name                                AS indicator,
       sc.scope_name                                    AS scope,
       pg_temp.fmt(sc.actual::float8, sc.unit)          AS actual,
       pg_temp.fmt(sc.target::float8, sc.unit)          AS target,
       to_char(sc.attainment * 100, 'FM9990.0')         AS "att %",
       sc.status,
       pg_temp.fmt(sc.previous_actual::float8, sc.unit) AS "2026-Q1",
       pg_temp.delta(sc.actual, sc.previous_actual, sc.unit)  AS "vs Q1",
       pg_temp.fmt(sc.last_year_actual::float8, sc.unit) AS "2025-Q2",
       pg_temp.delta(sc.actual, sc.last_year_actual, sc.unit) AS "vs last year"
FROM kpi.scorecard sc
JOIN (VALUES ('sales.revenue', 1), ('strategy.revenue_growth', 2), ('finance.gross_margin', 3),
             ('service.complaint_rate', 4), ('supply.otd_rate', 5), ('supply.lead_time_days', 6),
             ('supply.inventory', 7)) k(code, ord) ON k.code = sc.indicator
JOIN (VALUES ('hq', 1), ('hq.east', 2), ('hq.south', 3), ('hq.north', 4)) s(code, ord) ON s.code = sc.scope
WHERE sc.period = '2026-Q2'
ORDER BY k.ord, s.ord;

\echo
\echo '4. 华北大区 month by month, 2026 (kpi.scorecard, grain month): R red, A amber, G green, B blue'
SELECT sc.indicator_name AS indicator,
       string_agg(CASE sc.status WHEN 'red' THEN 'R' WHEN 'amber' THEN 'A'
                                 WHEN 'green' THEN 'G' WHEN 'blue' THEN 'B' ELSE '.' END,
                  ' ' ORDER BY sc.period_start) AS "J F M A M J J A S O N D",
       pg_temp.fmt(min(sc.actual::float8) FILTER (WHERE sc.period = '2026-05'), min(sc.unit)) AS "May",
       pg_temp.fmt(min(sc.target::float8) FILTER (WHERE sc.period = '2026-05'), min(sc.unit)) AS "May target"
FROM kpi.scorecard sc
WHERE sc.scope = 'hq.north' AND sc.grain = 'month' AND sc.period_start BETWEEN '2026-01-01' AND '2026-12-31'
  AND sc.indicator IN ('sales.revenue', 'sales.store_revenue', 'mfg.output', 'mfg.downtime_hours',
                       'supply.otd_rate', 'supply.lead_time_days', 'logistics.cost_per_order',
                       'service.csat')
GROUP BY sc.indicator, sc.indicator_name
ORDER BY sc.indicator;

\echo
\echo '5. Ratios are ratios of sums: 2026-Q2, whole company, from the raw measurements and from kpi.rollup'
WITH r AS (SELECT * FROM kpi.rollup('2026-Q2'))
SELECT i.name                                                     AS indicator,
       count(*)                                                   AS measurements,
       pg_temp.fmt(sum(m.value) / sum(m.denominator), i.unit)     AS "Σ numerator / Σ denominator",
       pg_temp.fmt(avg(m.value / m.denominator), i.unit)          AS "mean of the monthly rates",
       pg_temp.fmt(min(r.actual), i.unit)                         AS "kpi.rollup actual"
FROM kpi.measurement m
JOIN kpi.indicator i ON i.id = m.indicator_id
JOIN r ON r.indicator_id = i.id
WHERE i.code IN ('finance.gross_margin', 'supply.otd_rate', 'service.complaint_rate', 'logistics.cost_per_order')
  AND m.at >= '2026-04-01' AND m.at < '2026-07-01'
GROUP BY i.code, i.name, i.unit
ORDER BY i.code;

\echo
\echo '6. Alerts (预警): open incidents, each grouping related alerts (kpi.incident)'
SELECT incident_id AS id, indicator, assignee, state, severity, alerts,
       CASE WHEN length(keys) > 70 THEN left(keys, 67) || '...' ELSE keys END AS keys
FROM kpi.incident ORDER BY severity, incident_id;

\echo
\echo '   2026-Q2 alerts at every level (branch, region, company), worst first (kpi.alert)'
SELECT i.name AS indicator, s.name AS scope, a.period::text AS period, a.state,
       a.severity::text AS severity, a.basis, pg_temp.fmt(a.value, i.unit) AS value,
       round((a.score * 100)::numeric, 1) AS "score %", a.assignee
FROM kpi.alert a
JOIN kpi.indicator i ON i.id = a.indicator_id
JOIN kpi.scope s ON s.id = a.scope_id
WHERE a.period OPERATOR(kpi.<@) '2026-Q2'::kpi.period AND a.state <> 'resolved' AND a.kind = 'status'
ORDER BY a.severity, i.code, s.code, a.period;

\echo
\echo '   no target, an anomaly rule: line stops in 2026 outside their own last twelve months (异常波动)'
SELECT i.name AS indicator, s.name AS scope, a.period::text AS period, a.severity::text AS severity,
       a.value, round(a.score::numeric, 1) AS "robust z"
FROM kpi.alert a
JOIN kpi.indicator i ON i.id = a.indicator_id
JOIN kpi.scope s ON s.id = a.scope_id
WHERE a.kind = 'anomaly'
ORDER BY a.period, s.code;

\echo
\echo '   every alert of 2026 by state and level, and what a consumer is handed: kpi.alert_claim(''demo'', 3)'
SELECT a.state, count(*) AS alerts,
       count(*) FILTER (WHERE EXISTS (SELECT FROM kpi.scope c WHERE c.parent_id = a.scope_id)) AS above_a_branch,
       count(*) FILTER (WHERE a.resolved_by = 'kpi') AS resolved_by_kpi
FROM kpi.alert a WHERE a.period OPERATOR(kpi.<@) '2026'::kpi.period GROUP BY a.state ORDER BY a.state;
SELECT c.id, i.code, s.code AS scope, c.period::text AS period, c.severity::text AS severity, c.delivery_count
FROM kpi.alert_claim('demo', 3) c
JOIN kpi.indicator i ON i.id = c.indicator_id JOIN kpi.scope s ON s.id = c.scope_id
ORDER BY c.severity, c.raised_at, c.id;


\echo
\echo '7. Review (复盘) of 2026-Q2, 华北大区: findings, root causes, lessons (kpi.review, kpi.finding)'
SELECT r.title, r.state, to_char(r.held_at AT TIME ZONE kpi.time_zone(), 'YYYY-MM-DD HH24:MI') AS held, r.facilitator
FROM kpi.review r WHERE r.scope_id = kpi.scope_id('hq.north') AND r.period OPERATOR(kpi.=) '2026-Q2'::kpi.period;
SELECT f.id, i.name AS indicator, f.kind, f.cause_category AS cause, f.root_cause AS "root cause 根因",
       f.lesson AS "lesson 经验教训", CASE WHEN f.alert_id IS NOT NULL THEN a.period::text || ' ' || a.severity END AS "from alert"
FROM kpi.finding f
JOIN kpi.review r ON r.id = f.review_id
JOIN kpi.indicator i ON i.id = f.indicator_id
LEFT JOIN kpi.alert a ON a.id = f.alert_id
WHERE r.scope_id = kpi.scope_id('hq.north') AND r.period OPERATOR(kpi.=) '2026-Q2'::kpi.period
ORDER BY f.kind, f.id;

\echo
\echo '   actions (kpi.action), and those overdue today (kpi.overdue_action)'
SELECT x.title AS action, x.owner AS "owner 责任人", x.due, x.state, x.outcome
FROM kpi.action x JOIN kpi.finding f ON f.id = x.finding_id JOIN kpi.review r ON r.id = f.review_id
WHERE r.scope_id = kpi.scope_id('hq.north') AND r.period OPERATOR(kpi.=) '2026-Q2'::kpi.period
ORDER BY x.due, x.id;
SELECT title AS action, owner, due, days_overdue, indicator_name AS indicator, scope_name AS scope
FROM kpi.overdue_action ORDER BY days_overdue DESC;

\echo
\echo '   lessons search in Chinese: kpi.lessons(''缺料'')  (经验沉淀)'
SELECT l.indicator, l.scope, l.period, round(l.rank::numeric, 3) AS rank, l.lesson
FROM kpi.lessons('缺料') l;
\echo '   and in English: kpi.lessons(''customers'')'
SELECT l.indicator, l.scope, l.period, round(l.rank::numeric, 3) AS rank, l.lesson
FROM kpi.lessons('customers') l;

\echo
\echo '8. Why is 华北大区 red in 2026-Q2? The attribution path (归因路径) of each red root, kpi.root_cause:'
\echo '   each step follows the child (indicator or scope) with the largest adverse share of the gap'
SELECT r.step, i.name AS indicator, s.name AS scope, r.tree AS via,
       pg_temp.fmt(r.actual, CASE WHEN r.tree = 'indicator' THEN NULL ELSE i.unit END) AS "actual/score",
       pg_temp.fmt(r.reference, CASE WHEN r.tree = 'indicator' THEN NULL ELSE i.unit END) AS "target",
       to_char(r.share * 100, 'FM990') || '%' AS "share of gap", to_char(r.share_of_top * 100, 'FM990') || '%' AS "of the top"
FROM kpi.rollup('2026-Q2', 'hq.north') t
CROSS JOIN LATERAL kpi.root_cause(t.code, 'hq.north', '2026-Q2') r
JOIN kpi.indicator i ON i.code = r.indicator_code
JOIN kpi.scope s ON s.code = r.scope_code
WHERE t.depth = 0 AND t.status = 'red'
ORDER BY t.code COLLATE "C", r.step;
\echo
\echo '   the company''s revenue gap by region, kpi.explain(''sales.revenue'', ''hq'', ''2026-Q2''): the parts add up'
SELECT coalesce(s.name, e.node) AS region, e.effect, pg_temp.fmt(e.actual, NULL) AS actual,
       pg_temp.fmt(e.reference, NULL) AS target, pg_temp.fmt(e.contribution, NULL) AS contribution,
       to_char(e.share * 100, 'FM9990') || '%' AS share
FROM kpi.explain('sales.revenue', 'hq', '2026-Q2') e LEFT JOIN kpi.scope s ON s.code = e.node
WHERE e.tree = 'scope' ORDER BY e.effect <> 'total', e.contribution;
\echo '   and by channel (the indicator tree, score points):'
SELECT i.name AS indicator, e.effect, round(e.actual::numeric, 3) AS score, round(e.weight::numeric, 2) AS weight,
       round(e.contribution::numeric, 4) AS contribution
FROM kpi.explain('sales.revenue', 'hq', '2026-Q2') e JOIN kpi.indicator i ON i.code = e.node
WHERE e.tree = 'indicator' ORDER BY e.effect <> 'total', e.effect = 'own', e.contribution;

\echo
\echo '9. Will 2026-Q3 make it? kpi.forecast as of 2026-08-15, the company, indicators with a Q3 target'
\echo '   (sum and count: so far / the plan''s share by then; others: their level so far; 80% interval)'
SELECT i.name AS indicator, f.method, pg_temp.fmt(f.actual, i.unit) AS "so far",
       pg_temp.fmt(f.projected, i.unit) AS projected,
       pg_temp.fmt(f.low, i.unit) || ' .. ' || pg_temp.fmt(f.high, i.unit) AS "80% interval",
       f.goal, to_char(f.probability * 100, 'FM990') || '%' AS "chance"
FROM kpi.target t
JOIN kpi.indicator i ON i.id = t.indicator_id
CROSS JOIN LATERAL kpi.forecast(i.code, 'hq', '2026-Q3', '2026-08-15 12:00+08') f
WHERE t.scope_id = kpi.scope_id('hq') AND t.period OPERATOR(kpi.=) '2026-Q3'::kpi.period
ORDER BY f.probability, i.code COLLATE "C";

\echo
\echo '10. Computed from the business''s own tables (口径 as code): the definitions in force'
\echo '    (kpi.indicator.sources; 2025 was loaded by hand), how far each is refreshed,'
\echo '    and 2026-Q2 revenue by region against a direct GROUP BY of shop.orders and shop.order_lines'
SELECT c.name AS indicator, c.source, c.value, coalesce(c.denominator, '') AS denominator,
       coalesce(c.filter, '') AS filter, c.effective AS "in force from", c.watermark AS "refreshed to"
FROM kpi.computed c
ORDER BY c.indicator COLLATE "C", c.effective;
SELECT s.name AS region, pg_temp.fmt(a.value, '万元') AS computed,
       pg_temp.fmt((SELECT sum(l.amount) / 10000 FROM shop.orders o JOIN shop.order_lines l ON l.order_id = o.id
                    JOIN kpi.scope b ON b.code = o.branch
                    WHERE o.status = 'paid' AND (b.id = s.id OR b.parent_id = s.id)
                      AND o.ordered_at >= '2026-04-01 00:00+08' AND o.ordered_at < '2026-07-01 00:00+08')::float8, '万元') AS "GROUP BY"
FROM kpi.scope_actual a JOIN kpi.scope s ON s.id = a.scope_id
WHERE a.indicator_id = kpi.indicator_id('sales.revenue') AND a.period OPERATOR(kpi.=) '2026-Q2'::kpi.period
  AND s.parent_id = kpi.scope_id('hq')
ORDER BY s.code COLLATE "C";
