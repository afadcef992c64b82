-- analysis: why (kpi.explain, kpi.root_cause) and will we make it
-- (kpi.forecast, kpi.suggest_target), with their building blocks
-- (kpi.last_year, kpi.numerator, kpi.denominator, kpi.probability).
-- Contributions are checked to add up to the gap with a tolerance, for
-- every agg kind and basis; the worked examples are in docs/analysis.md.
SET search_path = kpi, public;
SET TimeZone = 'UTC';
BEGIN;
-- errors as text, so that the transaction goes on
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- the company's zone is UTC here, whatever other suites set
DELETE FROM kpi.setting WHERE name = 'time_zone';

-- ---------------------------------------------------------------------
-- 1. Building blocks
-- ---------------------------------------------------------------------
-- the same period last year, for every grain: a week is the same ISO
-- week of the previous ISO year (365 days back would be 2025-W04)
SELECT p, kpi.last_year(p::kpi.period) AS last_year,
       CASE WHEN kpi.start_date(p::kpi.period) >= '0002-01-01' THEN
            kpi.period(kpi.start_date(p::kpi.period) - interval '1 year', kpi.grain(p::kpi.period)) END AS shifted_a_year
FROM (VALUES ('2026'), ('2026-H2'), ('2026-Q1'), ('2026-03'), ('2026-W05'), ('2026-W01'),
             ('2021-W01'), ('2027-W52'), ('2026-W53'), ('2020-W53'), ('2024-02-29'), ('2026-12-31'),
             ('0001'), ('0001-Q4'), ('0001-W01'), ('0002-W01')) v(p);
SELECT kpi.last_year(NULL::kpi.period) IS NULL AS strict;
-- the parts of a tally
SELECT k, kpi.value(t, k) AS value, kpi.numerator(t, k) AS numerator, kpi.denominator(t, k) AS denominator
FROM (SELECT kpi.tally_add(kpi.tally_add('count=0'::kpi.tally, 6, 10, '2026-01-01'), 3, 20, '2026-01-02') AS t) r,
     unnest('{ratio,sum,count}'::kpi.agg_kind[]) k;
SELECT k, kpi.value(t, k) AS value, kpi.numerator(t, k) AS numerator, kpi.denominator(t, k) AS denominator
FROM (SELECT kpi.tally_add(kpi.tally_add('count=0'::kpi.tally, 4), -1) AS t) r,
     unnest('{sum,avg,min,max,count,last}'::kpi.agg_kind[]) k;
SELECT kpi.numerator('count=0', 'avg') IS NULL AS empty_avg, kpi.denominator('count=0', 'ratio') IS NULL AS empty_ratio,
       kpi.denominator('count=0', 'count') AS empty_count;
-- the chance of meeting a goal for a normal value
SELECT g, round(kpi.probability(100, 10, g::kpi.goal)::numeric, 4) AS p_sd10,
       kpi.probability(100, 0, g::kpi.goal) AS p_certain
FROM (VALUES ('>= 100'), ('>= 90'), ('>= 120'), ('<= 110'), ('<= 80'), ('95 .. 105'), ('200 .. 300')) v(g);
SELECT kpi.probability(100, -1, '>= 1') IS NULL AS negative_sd,
       kpi.probability('Infinity', 1, '>= 1') IS NULL AS infinite_mean,
       kpi.probability(100, 'NaN', '>= 1') IS NULL AS nan_sd;

-- ---------------------------------------------------------------------
-- 2. A company to explain
-- ---------------------------------------------------------------------
-- an_co > an_co.a > an_co.a.x ; an_co > an_co.b ; an_co > an_co.c
-- (an_co.c has no targets); an_co records some data of its own
INSERT INTO kpi.scope (code, name) VALUES ('an_co', 'Company');
INSERT INTO kpi.scope (code, name, parent_id)
VALUES ('an_co.a', 'A', kpi.scope_id('an_co')), ('an_co.b', 'B', kpi.scope_id('an_co')),
       ('an_co.c', 'C', kpi.scope_id('an_co'));
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('an_co.a.x', 'A-X', kpi.scope_id('an_co.a'));
-- one indicator per agg kind; an.top scores an.rev (2), an.margin (1),
-- an.csat (1) and an.none (1, never measured)
INSERT INTO kpi.indicator (code, name, agg, grains) VALUES
    ('an.top', 'Top', 'sum', '{quarter}'),
    ('an.rev', 'Revenue', 'sum', '{month,quarter,year}'),
    ('an.orders', 'Orders', 'count', '{quarter}'),
    ('an.stock', 'Stock', 'last', '{quarter}'),
    ('an.opening', 'Opening stock', 'first', '{quarter}'),
    ('an.margin', 'Margin', 'ratio', '{quarter}'),
    ('an.csat', 'CSAT', 'avg', '{quarter}'),
    ('an.peak', 'Peak load', 'max', '{quarter}'),
    ('an.low', 'Lowest price', 'min', '{quarter}'),
    ('an.none', 'Never measured', 'sum', '{quarter}'),
    ('an.week', 'Weekly sales', 'sum', '{week}');
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT kpi.indicator_id('an.top'), kpi.indicator_id(c), w
FROM (VALUES ('an.rev', 2), ('an.margin', 1), ('an.csat', 1), ('an.none', 1)) v(c, w);

-- measurements for 2025-Q2, 2026-Q1 and 2026-Q2 at the leaves (and some
-- at an_co itself); a.x loses money in 2026-Q2 (negative values)
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator)
SELECT kpi.indicator_id(i), kpi.scope_id(s), at::timestamptz, v, d
FROM (VALUES
    ('an.rev', 'an_co.a.x', '2025-04-10', 100, NULL), ('an.rev', 'an_co.b', '2025-04-10', 200, NULL),
    ('an.rev', 'an_co.c', '2025-05-10', 50, NULL),
    ('an.rev', 'an_co.a.x', '2026-01-10', 120, NULL), ('an.rev', 'an_co.b', '2026-02-10', 180, NULL),
    ('an.rev', 'an_co.a.x', '2026-04-10', -30, NULL), ('an.rev', 'an_co.a', '2026-05-10', 40, NULL),
    ('an.rev', 'an_co.b', '2026-05-10', 260, NULL), ('an.rev', 'an_co.c', '2026-06-10', 70, NULL),
    ('an.rev', 'an_co', '2026-06-20', 15, NULL),
    ('an.orders', 'an_co.a.x', '2025-04-10', 1, NULL), ('an.orders', 'an_co.b', '2025-04-11', 1, NULL),
    ('an.orders', 'an_co.b', '2025-04-12', 1, NULL),
    ('an.orders', 'an_co.a.x', '2026-04-10', 1, NULL), ('an.orders', 'an_co.c', '2026-04-11', 1, NULL),
    ('an.stock', 'an_co.a.x', '2025-04-30', 40, NULL), ('an.stock', 'an_co.b', '2025-06-30', 60, NULL),
    ('an.stock', 'an_co.a.x', '2026-04-30', 50, NULL), ('an.stock', 'an_co.a.x', '2026-06-30', 30, NULL),
    ('an.stock', 'an_co.b', '2026-06-30', 65, NULL), ('an.stock', 'an_co.c', '2026-05-31', 5, NULL),
    ('an.opening', 'an_co.a.x', '2025-04-01', 10, NULL), ('an.opening', 'an_co.a.x', '2026-04-01', 12, NULL),
    ('an.opening', 'an_co.b', '2026-04-02', 20, NULL),
    ('an.margin', 'an_co.a.x', '2025-04-10', 30, 100), ('an.margin', 'an_co.b', '2025-04-10', 20, 100),
    ('an.margin', 'an_co.a.x', '2026-04-10', 33, 100), ('an.margin', 'an_co.b', '2026-04-10', 66, 300),
    ('an.margin', 'an_co.c', '2026-04-10', -5, 50),
    ('an.csat', 'an_co.a.x', '2025-04-10', 4, NULL), ('an.csat', 'an_co.b', '2025-04-10', 3, NULL),
    ('an.csat', 'an_co.a.x', '2026-04-10', 4.5, NULL), ('an.csat', 'an_co.a.x', '2026-04-11', 3.5, NULL),
    ('an.csat', 'an_co.b', '2026-04-10', 2, NULL), ('an.csat', 'an_co.b', '2026-04-11', 3, NULL),
    ('an.csat', 'an_co.b', '2026-04-12', 4, NULL),
    ('an.peak', 'an_co.a.x', '2025-04-10', 80, NULL), ('an.peak', 'an_co.b', '2025-04-10', 95, NULL),
    ('an.peak', 'an_co.a.x', '2026-04-10', 120, NULL), ('an.peak', 'an_co.b', '2026-04-10', 90, NULL),
    ('an.low', 'an_co.a.x', '2025-04-10', 7, NULL), ('an.low', 'an_co.b', '2025-04-10', 9, NULL),
    ('an.low', 'an_co.a.x', '2026-04-10', 8, NULL), ('an.low', 'an_co.b', '2026-04-10', 6, NULL)
) v(i, s, at, v, d);

-- targets for 2026-Q2: the company's are not the sum of its children's
SELECT count(kpi.set_target(i, s, '2026-Q2', g)) AS targets
FROM (VALUES
    ('an.rev', 'an_co', '>= 400'), ('an.rev', 'an_co.a', '>= 100'), ('an.rev', 'an_co.b', '>= 250'),
    ('an.orders', 'an_co', '>= 4'), ('an.orders', 'an_co.a', '>= 2'),
    ('an.stock', 'an_co', '<= 90'), ('an.stock', 'an_co.a', '<= 20'), ('an.stock', 'an_co.b', '<= 60'),
    ('an.opening', 'an_co', '>= 30'),
    ('an.margin', 'an_co', '>= 0.25'), ('an.margin', 'an_co.a', '>= 0.3'), ('an.margin', 'an_co.b', '>= 0.2'),
    ('an.csat', 'an_co', '>= 3.5'), ('an.csat', 'an_co.b', '>= 3.5'),
    ('an.peak', 'an_co', '<= 100'), ('an.low', 'an_co', '>= 7'), ('an.none', 'an_co', '>= 1')
) v(i, s, g);

-- ---------------------------------------------------------------------
-- 3. kpi.explain: the contributions add up to the gap, for every agg
--    kind and basis (tolerance 1e-9 of the gap's scale)
-- ---------------------------------------------------------------------
SELECT i AS indicator, b AS basis,
       round(t.contribution::numeric, 6) AS gap,
       round(s.contributions::numeric, 6) AS contributions,
       s.rows,
       abs(t.contribution - s.contributions) <= 1e-9 * greatest(1, abs(t.actual), abs(t.reference)) AS adds_up
FROM unnest('{an.rev,an.orders,an.stock,an.opening,an.margin,an.csat,an.peak,an.low}'::text[]) i,
     unnest('{target,previous,last_year}'::text[]) b,
     LATERAL (SELECT e.contribution, e.actual, e.reference FROM kpi.explain(i, 'an_co', '2026-Q2', b) e
              WHERE e.tree = 'scope' AND e.effect = 'total') t,
     LATERAL (SELECT sum(e.contribution) AS contributions, count(*) AS rows FROM kpi.explain(i, 'an_co', '2026-Q2', b) e
              WHERE e.tree = 'scope' AND e.effect <> 'total') s
ORDER BY 1, 2;
-- one level down, where a.x has no target of its own
SELECT i AS indicator, b AS basis,
       abs(t.contribution - s.contributions) <= 1e-9 * greatest(1, abs(t.actual), abs(t.reference)) AS adds_up
FROM unnest('{an.rev,an.margin,an.stock}'::text[]) i, unnest('{target,previous,last_year}'::text[]) b,
     LATERAL (SELECT e.contribution, e.actual, e.reference FROM kpi.explain(i, 'an_co.a', '2026-Q2', b) e
              WHERE e.tree = 'scope' AND e.effect = 'total') t,
     LATERAL (SELECT sum(e.contribution) AS contributions FROM kpi.explain(i, 'an_co.a', '2026-Q2', b) e
              WHERE e.tree = 'scope' AND e.effect <> 'total') s
ORDER BY 1, 2;

-- revenue against target: 355 - 400 = -45 = A (10 - 100) + B (260 - 250)
-- + C (70, no target) + the company's own 15 + residual (350 - 400)
SELECT tree, node, effect, actual, reference, contribution, round(share::numeric, 4) AS share, adverse
FROM kpi.explain('an.rev', 'an_co', '2026-Q2');
-- against the same quarter last year (350): A 10 - 100, B 260 - 200,
-- C 70 - 50, own 15 - 0
SELECT node, effect, actual, reference, contribution
FROM kpi.explain('an.rev', 'an_co', '2026-Q2', 'last_year') WHERE tree = 'scope';
-- against the previous quarter (300: A 120, B 180)
SELECT node, effect, actual, reference, contribution
FROM kpi.explain('an.rev', 'an_co', '2026-Q2', 'previous') WHERE tree = 'scope';

-- the margin, a ratio, against last year: 2025-Q2 was 50/200 = 0.25
-- (A 0.30 on half the sales, B 0.20 on half); 2026-Q2 is 94/450 = 0.2089
-- (A 0.33 on 100/450, B 0.22 on 300/450, C -0.10 on 50/450).
-- A: rate (100/450)(0.33 - 0.30) = 0.006667, mix (0.2222 - 0.5)(0.30 - 0.25) = -0.013889
-- B: rate (300/450)(0.22 - 0.20) = 0.013333, mix (0.6667 - 0.5)(0.20 - 0.25) = -0.008333
-- C: new: rate (50/450)(-0.10 - 0.25) = -0.038889, mix 0
-- sum: -0.041111 = 0.208889 - 0.25
SELECT node, effect, round(actual::numeric, 6) AS actual, round(reference::numeric, 6) AS reference,
       round(weight::numeric, 6) AS weight, round(contribution::numeric, 6) AS contribution, adverse
FROM kpi.explain('an.margin', 'an_co', '2026-Q2', 'last_year') WHERE tree = 'scope';
-- against targets there is no mix: rate against each child's target (C
-- against the company's 0.25), residual sum w (T_child - 0.25)
SELECT node, effect, round(actual::numeric, 6) AS actual, round(reference::numeric, 6) AS reference,
       round(weight::numeric, 6) AS weight, round(contribution::numeric, 6) AS contribution
FROM kpi.explain('an.margin', 'an_co', '2026-Q2') WHERE tree = 'scope';
-- an average is a ratio of its sum to its count: CSAT 17/5 = 3.4 against 3.5 (2025-Q2)
SELECT node, effect, round(actual::numeric, 4) AS actual, round(reference::numeric, 4) AS reference,
       round(weight::numeric, 4) AS weight, round(contribution::numeric, 4) AS contribution
FROM kpi.explain('an.csat', 'an_co', '2026-Q2', 'last_year') WHERE tree = 'scope';
-- a level sums each scope's closing value: 30 + 65 + 5 = 100 against <= 90
SELECT node, effect, actual, reference, contribution, adverse
FROM kpi.explain('an.stock', 'an_co', '2026-Q2') WHERE tree = 'scope';
-- an extreme is held by one scope: the peak 120 is A's
SELECT node, effect, actual, reference, contribution, adverse
FROM kpi.explain('an.peak', 'an_co', '2026-Q2', 'last_year') WHERE tree = 'scope';

-- the indicator tree: an.top is scored from its children (rev 2, margin 1,
-- csat 1; an.none uncovered); contributions add up to score - 1
SELECT node, effect, round(actual::numeric, 4) AS score, round(weight::numeric, 4) AS weight,
       round(contribution::numeric, 4) AS contribution, round(share::numeric, 4) AS share, adverse
FROM kpi.explain('an.top', 'an_co', '2026-Q2') WHERE tree = 'indicator';
SELECT abs(sum(contribution) FILTER (WHERE effect <> 'total') - sum(contribution) FILTER (WHERE effect = 'total')) < 1e-12
       AS adds_up
FROM kpi.explain('an.top', 'an_co', '2026-Q2') WHERE tree = 'indicator';
-- the same scores as kpi.rollup
SELECT r.code, round(r.score::numeric, 6) = round(e.actual::numeric, 6) AS same_score
FROM kpi.rollup('2026-Q2', 'an_co') r
JOIN kpi.explain('an.top', 'an_co', '2026-Q2') e ON e.tree = 'indicator' AND e.node = r.code AND e.effect <> 'own'
ORDER BY 1;
-- a node with a target of its own is scored from it: 'own' is the rest
SELECT count(kpi.set_target('an.top', 'an_co', '2026-Q2', '>= 100')) AS target;
SELECT kpi.record('an.top', 'an_co', 90, '2026-05-01') > 0 AS recorded;
SELECT node, effect, round(actual::numeric, 4) AS score, round(contribution::numeric, 4) AS contribution
FROM kpi.explain('an.top', 'an_co', '2026-Q2') WHERE tree = 'indicator';
-- nothing to explain: no data in the period, no target, no children
SELECT tree, node, effect, actual, reference, contribution FROM kpi.explain('an.none', 'an_co', '2026-Q2');
SELECT tree, node, effect, actual, reference, contribution FROM kpi.explain('an.rev', 'an_co.c', '2026-Q2');

-- ---------------------------------------------------------------------
-- 4. kpi.root_cause: down both trees, the largest adverse share first
-- ---------------------------------------------------------------------
SELECT step, tree, indicator_code, scope_code, effect, actual, reference, contribution,
       round(share::numeric, 4) AS share, round(share_of_top::numeric, 4) AS share_of_top
FROM kpi.root_cause('an.rev', 'an_co', '2026-Q2');
-- a minimum is followed to the scope that holds it
SELECT step, scope_code, effect, actual, reference FROM kpi.root_cause('an.low', 'an_co', '2026-Q2');
-- a ratio at a scope without children: its own data is no step (the path
-- ends at the node)
SELECT step, scope_code, effect, actual, reference FROM kpi.root_cause('an.csat', 'an_co.b', '2026-Q2');
-- a node on target has no adverse path
SELECT step, effect, actual, reference FROM kpi.root_cause('an.opening', 'an_co', '2026-Q2');

-- ---------------------------------------------------------------------
-- 5. kpi.forecast
-- ---------------------------------------------------------------------
-- a finished period is its actual
SELECT method, actual, projected, low, high, goal, probability
FROM kpi.forecast('an.rev', 'an_co', '2026-Q2', '2026-07-15');
-- a running quarter with a plan of its months (100, 100, 200 at an_co.b):
-- by the end of July 100 of 400 were due (an hour short of it: 0.2497);
-- 90 arrived: 360 projected
SELECT count(kpi.set_target('an.rev', 'an_co.b', p, g)) AS plan
FROM (VALUES ('2026-Q3', '>= 400'), ('2026-07', '>= 100'), ('2026-08', '>= 100'), ('2026-09', '>= 200')) v(p, g);
SELECT kpi.record('an.rev', 'an_co.b', 90, '2026-07-31 23:00') > 0 AS recorded;
SELECT as_of, round(elapsed::numeric, 4) AS elapsed, method, actual, round(expected_share::numeric, 4) AS share,
       round(projected::numeric, 2) AS projected, goal, history
FROM kpi.forecast('an.rev', 'an_co.b', '2026-Q3', '2026-08-15');
-- what the plan puts before a time is the share pace judges alerts on
SELECT round(kpi.planned_share(kpi.indicator_id('an.rev'), kpi.scope_id('an_co.b'), '2026-Q3',
                               '2026-07-31 23:00', 'UTC')::numeric, 4) AS planned_share;
-- no plan: the same quarter last year had half its total by the same point
SELECT kpi.record('an.rev', 'an_co.c', 30, '2025-07-20') > 0 AS a, kpi.record('an.rev', 'an_co.c', 30, '2025-09-20') > 0 AS b,
       kpi.record('an.rev', 'an_co.c', 25, '2026-07-20') > 0 AS c;
SELECT method, actual, round(expected_share::numeric, 4) AS share, round(projected::numeric, 2) AS projected, history
FROM kpi.forecast('an.rev', 'an_co.c', '2026-Q3', '2026-08-15');
-- no plan, no last year: linear in time
SELECT kpi.record('an.orders', 'an_co.b', 1, '2026-07-05') > 0 AS recorded;
SELECT method, actual, round(elapsed::numeric, 4) AS elapsed, round(expected_share::numeric, 4) AS share,
       round(projected::numeric, 4) AS projected
FROM kpi.forecast('an.orders', 'an_co.b', '2026-Q3', '2026-07-20');
-- a ratio is projected at its level so far; the 80% interval is around it
SELECT kpi.record_ratio('an.margin', 'an_co.b', 25, 100, '2026-07-10') > 0 AS recorded;
SELECT method, actual, projected, low < projected AND projected < high AS interval_around, history
FROM kpi.forecast('an.margin', 'an_co.b', '2026-Q3', '2026-08-01');
-- data measured after `at` are not read: a forecast can be replayed
SELECT f1.actual AS then, f2.actual AS now
FROM kpi.forecast('an.rev', 'an_co.b', '2026-Q3', '2026-07-31 22:00') f1,
     kpi.forecast('an.rev', 'an_co.b', '2026-Q3', '2026-08-15') f2;
-- no data yet
SELECT method, actual, projected, probability FROM kpi.forecast('an.rev', 'an_co.a', '2026-Q3', '2026-08-15');
-- the probability comes with a goal, and moves with the projection
SELECT goal, probability > 0 AND probability < 1 AS uncertain
FROM kpi.forecast('an.rev', 'an_co.b', '2026-Q3', '2026-08-15');

-- ---------------------------------------------------------------------
-- 6. kpi.suggest_target
-- ---------------------------------------------------------------------
-- trend: 2025-Q3 of an_co.c was 60; no earlier year to grow from
SELECT goal, target, direction, method_used, periods, last_year, growth, reasoning
FROM kpi.suggest_target('an.rev', 'an_co.c', '2026-Q3');
-- trend with growth: a year-on-year growth over two years
SELECT kpi.record('an.rev', 'an_co.c', 40, '2024-08-01') > 0 AS recorded;
SELECT goal, round(target::numeric, 4) AS target, method_used, periods, last_year, round(growth::numeric, 4) AS growth
FROM kpi.suggest_target('an.rev', 'an_co.c', '2026-Q3');
-- no last year: the mean of the periods before (115, 355, 300)
SELECT goal, round(target::numeric, 4) AS target, method_used, periods, reasoning
FROM kpi.suggest_target('an.rev', 'an_co', '2026-Q4');
-- a percentile of what was achieved; lower is better for the stock
SELECT goal, target, direction, method_used, periods, reasoning
FROM kpi.suggest_target('an.stock', 'an_co', '2026-Q3', 'percentile', 0.75);
SELECT goal, target, method_used FROM kpi.suggest_target('an.rev', 'an_co', '2026-Q3', 'percentile', 0.5);
-- a range goal gets a target, not a goal; nothing to go on: nothing
SELECT count(kpi.set_target('an.peak', 'an_co.a', '2026-Q2', '80 .. 120')) AS range_target;
SELECT goal, target, direction FROM kpi.suggest_target('an.peak', 'an_co.a', '2027-Q2');
SELECT goal, target, reasoning FROM kpi.suggest_target('an.none', 'an_co', '2026-Q3');
-- nothing is written: the one 2026-Q3 target is an_co.b's plan above
SELECT count(*) AS targets_for_2026_q3 FROM kpi.target WHERE period = '2026-Q3';

-- ---------------------------------------------------------------------
-- 7. The scorecard's last year: the same ISO week of the previous year
-- ---------------------------------------------------------------------
SELECT kpi.record('an.week', 'an_co', 5, '2025-01-21') > 0 AS w04_2025,   -- 2025-W04
       kpi.record('an.week', 'an_co', 7, '2025-01-28') > 0 AS w05_2025,   -- 2025-W05
       kpi.record('an.week', 'an_co', 9, '2026-01-27') > 0 AS w05_2026;   -- 2026-W05
SELECT period, actual, last_year_actual FROM kpi.scorecard
WHERE indicator = 'an.week' AND scope = 'an_co' ORDER BY period;

-- ---------------------------------------------------------------------
-- 8. The same answers in any session: another time zone and date style,
--    and a search_path that puts a schema with a hostile = first
-- ---------------------------------------------------------------------
CREATE TEMP VIEW answers AS
SELECT 'explain' AS f, pg_catalog.to_jsonb(e) AS r FROM kpi.explain('an.margin', 'an_co', '2026-Q2', 'last_year') e
UNION ALL SELECT 'explain', pg_catalog.to_jsonb(e) FROM kpi.explain('an.top', 'an_co', '2026-Q2') e
UNION ALL SELECT 'root_cause', pg_catalog.to_jsonb(r) FROM kpi.root_cause('an.rev', 'an_co', '2026-Q2') r
UNION ALL SELECT 'forecast', pg_catalog.to_jsonb(x) OPERATOR(pg_catalog.-) 'as_of'::text
                              OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_object('as_of', extract(epoch FROM x.as_of))
          FROM kpi.forecast('an.rev', 'an_co.b', '2026-Q3', '2026-08-15 00:00+00') x
UNION ALL SELECT 'suggest', pg_catalog.to_jsonb(g) FROM kpi.suggest_target('an.rev', 'an_co.c', '2026-Q3') g;
CREATE TEMP TABLE utc_answers AS SELECT * FROM answers;
CREATE SCHEMA an_evil;
CREATE FUNCTION an_evil.eq(text, text) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR an_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = an_evil.eq);
SET TimeZone = 'Pacific/Auckland';
SET DateStyle = 'SQL, DMY';
SET search_path = an_evil, pg_catalog, kpi, public;
SELECT count(*) AS answers, (SELECT count(*) FROM (SELECT * FROM pg_temp.utc_answers EXCEPT SELECT * FROM pg_temp.answers) d) AS differing
FROM pg_temp.utc_answers;
RESET DateStyle;
SET TimeZone = 'UTC';
SET search_path = kpi, public;

-- ---------------------------------------------------------------------
-- 9. Errors
-- ---------------------------------------------------------------------
SELECT q, pg_temp.try(q) AS outcome FROM (VALUES
    ($q$SELECT * FROM kpi.explain('an.rev', 'an_co', '2026-Q2', 'budget')$q$),
    ($q$SELECT * FROM kpi.explain('an.rev', 'an_co', '2026-W20')$q$),
    ($q$SELECT * FROM kpi.explain('an.nope', 'an_co', '2026-Q2')$q$),
    ($q$SELECT * FROM kpi.explain('an.rev', 'nope', '2026-Q2')$q$),
    ($q$SELECT * FROM kpi.explain('an.rev', 'an_co', NULL)$q$),
    ($q$SELECT * FROM kpi.root_cause('an.rev', 'an_co', NULL)$q$),
    ($q$SELECT * FROM kpi.forecast('an.rev', 'an_co', NULL)$q$),
    ($q$SELECT * FROM kpi.forecast('an.rev', 'an_co', '2026-Q3', 'infinity')$q$),
    ($q$SELECT * FROM kpi.forecast('an.rev', 'an_co', '2026-W30', '2026-07-20')$q$),
    ($q$SELECT * FROM kpi.suggest_target('an.rev', 'an_co', '2026-Q3', 'guess')$q$),
    ($q$SELECT * FROM kpi.suggest_target('an.rev', 'an_co', '2026-Q3', 'percentile', 1.5)$q$),
    ($q$SELECT * FROM kpi.suggest_target('an.rev', 'an_co', NULL)$q$)
) v(q);

-- ---------------------------------------------------------------------
-- 10. Forecasts in parallel workers (0.13).  kpi.forecast is parallel
-- safe: a statement that forecasts many keys may run them in workers.
-- Forced into one (force_parallel_mode; debug_parallel_query since 16),
-- the forecasts are the leader's, for the owner and for a role that sees
-- one branch (row-level security then calls kpi.visible_scopes() in the
-- worker), under a hostile search_path.
-- ---------------------------------------------------------------------
CREATE FUNCTION pg_temp.forecasts() RETURNS text LANGUAGE sql AS $$
    SELECT 'SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(f) ORDER BY k.i, s.s, t.at)
            FROM (VALUES (''an.rev''), (''an.orders''), (''an.margin'')) k(i)
            CROSS JOIN (VALUES (''an_co''), (''an_co.a''), (''an_co.b''), (''an_co.c'')) s(s)
            CROSS JOIN (VALUES (''2026-07-20''::timestamptz), (''2026-08-15''), (''2026-09-30 12:00'')) t(at)
            CROSS JOIN LATERAL kpi.forecast(k.i, s.s, ''2026-Q3'', t.at) f'
$$;
-- does the plan of q run in a worker?
CREATE FUNCTION pg_temp.in_worker(q text) RETURNS boolean LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR line IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
        IF line ~ 'Gather' THEN
            RETURN true;
        END IF;
    END LOOP;
    RETURN false;
END
$$;
CREATE FUNCTION pg_temp.parallel(on_ boolean) RETURNS text LANGUAGE sql AS $$
    SELECT pg_catalog.set_config(CASE WHEN pg_catalog.current_setting('server_version_num')::int >= 160000
                                      THEN 'debug_parallel_query' ELSE 'force_parallel_mode' END,
                                 CASE WHEN on_ THEN 'on' ELSE 'off' END, true)
$$;
CREATE ROLE kpi_an_branch;
GRANT USAGE ON SCHEMA kpi TO kpi_an_branch;
GRANT SELECT ON ALL TABLES IN SCHEMA kpi TO kpi_an_branch;
INSERT INTO kpi.scope_member (role, scope_id) VALUES ('kpi_an_branch', kpi.scope_id('an_co.b'));
SELECT pg_temp.forecasts() AS q \gset
SET search_path = evil, pg_catalog;
SELECT jsonb_array_length(x) AS keys_times FROM (:q) v(x);
:q \gset serial_
SET ROLE kpi_an_branch;
:q \gset branch_
RESET ROLE;
SELECT pg_temp.parallel(true) IS NOT NULL AS parallel_forced;
SELECT pg_temp.in_worker(:'q') AS in_worker;
SELECT x = :'serial_jsonb_agg'::jsonb AS same_in_a_worker FROM (:q) v(x);
SET ROLE kpi_an_branch;
SELECT x = :'branch_jsonb_agg'::jsonb AS same_for_the_branch_in_a_worker,
       x <> :'serial_jsonb_agg'::jsonb AS the_branch_sees_less FROM (:q) v(x);
RESET ROLE;
SELECT pg_temp.parallel(false) IS NOT NULL AS parallel_back;
SET search_path = kpi, public;
ROLLBACK;
