-- rollup: kpi.rollup(p, scope), the indicator tree (指标树) scored for a
-- period and a scope.  Every number below is worked out by hand in the
-- comments.  Time zone UTC, so each measurement's period is plain to see.
SET search_path = kpi, public;
SET TimeZone = 'UTC';

-- Everything happens in one transaction, rolled back at the end, so other
-- suites see none of this data and this suite sees none of theirs (see the
-- two UPDATEs below).
BEGIN;

-- The organisation:  rt_org > rt_org.north > rt_org.north.a, rt_org.north.b
--                    rt_org > rt_org.south
INSERT INTO kpi.scope (code, name) VALUES ('rt_org', 'Company');
INSERT INTO kpi.scope (code, name, parent_id)
VALUES ('rt_org.north', 'North', kpi.scope_id('rt_org')),
       ('rt_org.south', 'South', kpi.scope_id('rt_org'));
INSERT INTO kpi.scope (code, name, parent_id)
VALUES ('rt_org.north.a', 'North A', kpi.scope_id('rt_org.north')),
       ('rt_org.north.b', 'North B', kpi.scope_id('rt_org.north'));

-- Other suites may have left indicators and top-level scopes here.  Retire
-- their indicators and put their top-level scopes under ours (undone by the
-- ROLLBACK), so the whole-organisation results depend on this file alone.
UPDATE kpi.indicator SET lifecycle = 'retired' WHERE code NOT LIKE 'rt.%';
UPDATE kpi.scope SET parent_id = kpi.scope_id('rt_org')
WHERE parent_id IS NULL AND code <> 'rt_org';

-- The indicator tree (weights in brackets):
--   rt.company
--     rt.customer [1]:  rt.conv [1] (ratio), rt.nps [1] (avg, no cap,
--                       blue from 1.2), rt.shared [1] (avg)
--     rt.finance  [2]:  rt.revenue [3] (sum), rt.cost [1] (sum, lower is better)
--     rt.ops      [1]:  rt.audit [1] (never measured), rt.defects [1] (avg),
--                       rt.inventory [1] (last, cap 1.1), rt.legacy [1],
--                       rt.shared [2]   <- a child with two parents
INSERT INTO kpi.indicator (code, name, agg, bands, score_cap) VALUES
    ('rt.company',   'Company scorecard',      'sum',   DEFAULT, DEFAULT),
    ('rt.customer',  'Customer satisfaction',  'avg',   DEFAULT, DEFAULT),
    ('rt.conv',      'Conversion rate',        'ratio', DEFAULT, DEFAULT),
    ('rt.nps',       'Net promoter score',     'avg',   'amber 0.8, green 1, blue 1.2', NULL),
    ('rt.shared',    'On-time delivery',       'avg',   DEFAULT, DEFAULT),
    ('rt.finance',   'Finance',                'sum',   DEFAULT, DEFAULT),
    ('rt.revenue',   'Revenue',                'sum',   DEFAULT, DEFAULT),
    ('rt.cost',      'Cost',                   'sum',   DEFAULT, DEFAULT),
    ('rt.ops',       'Operations',             'sum',   DEFAULT, DEFAULT),
    ('rt.audit',     'Audit findings closed',  'sum',   DEFAULT, DEFAULT),
    ('rt.defects',   'Defects per batch',      'avg',   DEFAULT, DEFAULT),
    ('rt.inventory', 'Inventory on hand',      'last',  DEFAULT, 1.1),
    ('rt.legacy',    'Legacy report count',    'sum',   DEFAULT, DEFAULT);
-- revenue has a weekly target, so it keeps weeks (a target needs its grain kept)
UPDATE kpi.indicator SET grains = '{week,month,quarter,year}' WHERE code = 'rt.revenue';
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT kpi.indicator_id(p), kpi.indicator_id(c), w
FROM (VALUES ('rt.company', 'rt.customer', 1), ('rt.company', 'rt.finance', 2),
             ('rt.company', 'rt.ops', 1),
             ('rt.customer', 'rt.conv', 1), ('rt.customer', 'rt.nps', 1),
             ('rt.customer', 'rt.shared', 1),
             ('rt.finance', 'rt.revenue', 3), ('rt.finance', 'rt.cost', 1),
             ('rt.ops', 'rt.audit', 1), ('rt.ops', 'rt.defects', 1),
             ('rt.ops', 'rt.inventory', 1), ('rt.ops', 'rt.legacy', 1),
             ('rt.ops', 'rt.shared', 2)) v(p, c, w);

-- Measurements, at the branches (kpi.actual keeps them per scope).
SELECT count(kpi.record(i, s, v, at::timestamptz)) AS recorded
FROM (VALUES
    -- revenue: Jan 100+50+80+20 = 250 (north 170), Feb 30+5+120 = 155,
    -- Mar 90, Apr 10; Q1 495, year 505
    ('rt.revenue', 'rt_org.north.a', 100, '2026-01-10 12:00'),
    ('rt.revenue', 'rt_org.north.b',  50, '2026-01-20 12:00'),
    ('rt.revenue', 'rt_org.south',    80, '2026-01-15 12:00'),
    ('rt.revenue', 'rt_org.north.a',  20, '2026-01-28 12:00'),
    ('rt.revenue', 'rt_org.south',    30, '2026-02-01 10:00'),
    ('rt.revenue', 'rt_org.south',     5, '2026-02-01 20:00'),
    ('rt.revenue', 'rt_org.north.a', 120, '2026-02-14 12:00'),
    ('rt.revenue', 'rt_org.north.b',  90, '2026-03-10 12:00'),
    ('rt.revenue', 'rt_org.north.a',  10, '2026-04-15 12:00'),
    -- cost: Jan 150 + 100 = 250 (north 150)
    ('rt.cost', 'rt_org.north.a', 150, '2026-01-12 12:00'),
    ('rt.cost', 'rt_org.south',   100, '2026-01-13 12:00'),
    -- nps: Jan (60+70+50+80)/4 = 65 (north 60), Feb 90, Q1 350/5 = 70
    ('rt.nps', 'rt_org.north.a', 60, '2026-01-08 12:00'),
    ('rt.nps', 'rt_org.north.a', 70, '2026-01-09 12:00'),
    ('rt.nps', 'rt_org.north.b', 50, '2026-01-11 12:00'),
    ('rt.nps', 'rt_org.south',   80, '2026-01-12 12:00'),
    ('rt.nps', 'rt_org.north.a', 90, '2026-02-10 12:00'),
    -- on-time delivery: Jan (90+100)/2 = 95 (north 90)
    ('rt.shared', 'rt_org.north.a',  90, '2026-01-14 12:00'),
    ('rt.shared', 'rt_org.south',   100, '2026-01-16 12:00'),
    -- defects: Jan (4+8+3)/3 = 5 (north 6)
    ('rt.defects', 'rt_org.north.a', 4, '2026-01-19 12:00'),
    ('rt.defects', 'rt_org.north.b', 8, '2026-01-21 12:00'),
    ('rt.defects', 'rt_org.south',   3, '2026-01-22 12:00'),
    -- inventory, counted at the South warehouse: Jan 120 (its last count),
    -- Feb 90, Mar 110, Apr 130; Q1 110, year 130
    ('rt.inventory', 'rt_org.south', 200, '2026-01-15 12:00'),
    ('rt.inventory', 'rt_org.south', 120, '2026-01-31 18:00'),
    ('rt.inventory', 'rt_org.south',  90, '2026-02-28 18:00'),
    ('rt.inventory', 'rt_org.south', 110, '2026-03-31 18:00'),
    ('rt.inventory', 'rt_org.south', 130, '2026-04-30 18:00'),
    -- customer satisfaction surveyed directly in March: 4.2
    ('rt.customer', 'rt_org.south', 4.2, '2026-03-05 12:00'),
    ('rt.legacy', 'rt_org.north.a', 10, '2026-01-25 12:00')
) v(i, s, v, at);
-- conversions / visits: Jan 45/50, 10/200, 20/50 (north 55/250); Mar 10/100
SELECT count(kpi.record_ratio('rt.conv', s, n, d, at::timestamptz)) AS recorded
FROM (VALUES ('rt_org.north.a', 45,  50, '2026-01-05 12:00'),
             ('rt_org.north.b', 10, 200, '2026-01-06 12:00'),
             ('rt_org.south',   20,  50, '2026-01-07 12:00'),
             ('rt_org.north.a', 10, 100, '2026-03-03 12:00')) v(s, n, d, at);

-- Targets.  The whole organisation's are set at rt_org, its only top-level scope.
SELECT count(kpi.set_target(i, s, p::kpi.period, g::kpi.goal)) AS targets
FROM (VALUES
    ('rt.revenue',   'rt_org', '2026-01', '>= 200'),
    ('rt.cost',      'rt_org', '2026-01', '<= 100'),
    ('rt.conv',      'rt_org', '2026-01', '>= 0.25'),
    ('rt.nps',       'rt_org', '2026-01', '>= 40'),
    ('rt.shared',    'rt_org', '2026-01', '95 .. 105'),
    ('rt.defects',   'rt_org', '2026-01', '<= 2 from 10'),
    ('rt.inventory', 'rt_org', '2026-01', '>= 100'),
    ('rt.legacy',    'rt_org', '2026-01', '>= 10'),
    ('rt.revenue',   'rt_org.north', '2026-01', '>= 200'),
    ('rt.cost',      'rt_org.north', '2026-01', '<= 200'),
    ('rt.conv',      'rt_org.north', '2026-01', '>= 0.2'),
    ('rt.nps',       'rt_org.north', '2026-01', '>= 40'),
    ('rt.customer',  'rt_org', '2026-03', '>= 4'),
    ('rt.conv',      'rt_org', '2026-03', '>= 0.25'),
    ('rt.revenue',   'rt_org', '2026-Q1', '>= 600'),
    ('rt.inventory', 'rt_org', '2026-Q1', '>= 100'),
    ('rt.revenue',   'rt_org', '2026-W05', '>= 40'),
    ('rt.revenue',   'rt_org', '2026-06', '>= 100')
) v(i, s, p, g);

-- The tree as people read it: indented codes, numbers to 4 places, in the
-- order kpi.rollup returns its rows.
CREATE FUNCTION pg_temp.tree(p kpi.period, s text DEFAULT NULL)
RETURNS TABLE (node text, depth int, actual numeric, target numeric, attainment numeric,
               score numeric, status kpi.status, coverage numeric)
LANGUAGE sql AS $$
    SELECT repeat('  ', r.depth) || r.code, r.depth, round(r.actual::numeric, 4),
           round(r.target::numeric, 4), round(r.attainment::numeric, 4),
           round(r.score::numeric, 4), r.status, round(r.coverage::numeric, 4)
    FROM kpi.rollup(p, s) WITH ORDINALITY r
    ORDER BY r.ordinality
$$;

-- ---------------------------------------------------------------------
-- January, whole organisation, before rt.legacy is retired; only rt.ops
-- and its children.  rt.ops = (defects 0.625 + inventory 1.1 + legacy 1
-- + shared 2 x 1) / 5 = 0.945, coverage 5 of 6 (rt.audit has no data).
-- ---------------------------------------------------------------------
SELECT * FROM pg_temp.tree('2026-01')
WHERE node ~ '^ *rt\.(ops|audit|defects|inventory|legacy)$';

-- Retired indicators leave the tree: no row, no weight in their parent.
UPDATE kpi.indicator SET lifecycle = 'retired' WHERE code = 'rt.legacy';

-- ---------------------------------------------------------------------
-- January, whole organisation.
--  rt.conv      ratio of sums 75/300 = 0.25 against >= 0.25: 1
--  rt.nps       65 / 40 = 1.625; no cap, so the score stays 1.625; blue
--  rt.shared    95 inside 95 .. 105: 1; target shown as the midpoint 100
--  rt.customer  (1 + 1.625 + 1) / 3 = 1.2083, from its children
--  rt.cost      lower is better: 2 - 250/100 = -0.5, score clamped to 0; red
--  rt.revenue   250 / 200 = 1.25, score capped at 1.2
--  rt.finance   (3 x 1.2 + 1 x 0) / 4 = 0.9; amber
--  rt.defects   lower with baseline: (10 - 5) / (10 - 2) = 0.625; red
--  rt.inventory 120 / 100 = 1.2, capped at its own cap 1.1; status from
--               the attainment 1.2: green
--  rt.ops       (0.625 + 1.1 + 2 x 1) / (1 + 1 + 2) = 0.9313, coverage 4/5
--               (rt.shared counts here with weight 2, but is listed once,
--               under rt.customer, where the walk meets it first)
--  rt.company   (1.2083 + 2 x 0.9 + 0.93125) / 4 = 0.9849; amber
-- ---------------------------------------------------------------------
SELECT * FROM pg_temp.tree('2026-01');

-- A retired parent: its links go with it, and a child left without a
-- parent becomes a root.  Without rt.finance, rt.company is
-- (1.2083 + 0.93125) / 2 = 1.0698 with coverage 1, and rt.cost and
-- rt.revenue are roots, after rt.company in code order.
SAVEPOINT retired_parent;
UPDATE kpi.indicator SET lifecycle = 'retired' WHERE code = 'rt.finance';
SELECT node, depth, score, coverage FROM pg_temp.tree('2026-01') WHERE depth < 2;
ROLLBACK TO SAVEPOINT retired_parent;

-- Ratio of sums, not average of ratios: the branches' own conversion rates
-- are 0.9, 0.05 and 0.4; their plain average 0.45 is wrong for the company,
-- which converted 75 of 300 visits: 0.25.
SELECT round(avg(a.value)::numeric, 4) AS average_of_branch_ratios,
       (SELECT round(r.actual::numeric, 4) FROM kpi.rollup('2026-01') r
        WHERE r.code = 'rt.conv') AS rollup_ratio_of_sums
FROM kpi.actual a
WHERE a.indicator_id = kpi.indicator_id('rt.conv') AND a.period = '2026-01';

-- ---------------------------------------------------------------------
-- January, scope rt_org.north (and its branches), with rt_org.north's targets.
--  rt.conv      55/250 = 0.22 against >= 0.2: 1.1
--  rt.nps       (60+70+50)/3 = 60 against >= 40: 1.5; blue
--  rt.shared    90, no target at North: no score
--  rt.customer  (1.1 + 1.5) / 2 = 1.3, coverage 2/3
--  rt.cost      2 - 150/200 = 1.25, capped 1.2
--  rt.revenue   170 / 200 = 0.85; amber
--  rt.finance   (3 x 0.85 + 1.2) / 4 = 0.9375
--  rt.defects   (4+8)/2 = 6, no target; rt.inventory: nothing counted at North
--  rt.ops       no scored child: no score, coverage 0, no status
--  rt.company   (1.3 + 2 x 0.9375) / 3 = 1.0583, coverage 3/4
-- ---------------------------------------------------------------------
SELECT * FROM pg_temp.tree('2026-01', 'rt_org.north');

-- ---------------------------------------------------------------------
-- Sum, average and last at month, quarter and year grains.
--  revenue (sum) adds up: 250 + 155 + 90 = 495 for Q1.
--  nps (avg) of Q1 is the mean of its 5 values, 70, not the mean of the
--  monthly means (65 + 90) / 2 = 77.5.
--  inventory (last) is semi-additive: Q1 is the last count, March's 110,
--  not 120 + 90 + 110 = 320; the year's is April's 130.
-- ---------------------------------------------------------------------
SELECT p AS period,
       max(r.actual) FILTER (WHERE r.code = 'rt.revenue') AS revenue_sum,
       max(r.actual) FILTER (WHERE r.code = 'rt.nps') AS nps_avg,
       max(r.actual) FILTER (WHERE r.code = 'rt.inventory') AS inventory_last
FROM unnest('{2026-01,2026-02,2026-03,2026-Q1,2026}'::kpi.period[]) p,
     kpi.rollup(p) r
GROUP BY p ORDER BY p;
-- the naive quarter figures, from the monthly rollups
SELECT sum(r.actual) FILTER (WHERE r.code = 'rt.inventory') AS inventory_sum_of_months,
       avg(r.actual) FILTER (WHERE r.code = 'rt.nps') AS nps_mean_of_monthly_means
FROM unnest('{2026-01,2026-02,2026-03}'::kpi.period[]) p, kpi.rollup(p) r;

-- ---------------------------------------------------------------------
-- 2026-Q1, whole organisation.
--  rt.customer  has an actual (March's survey, 4.2) but no Q1 target, so
--               it is scored from its children, none of which has a Q1
--               target: no score, coverage 0
--  rt.revenue   495 / 600 = 0.825; rt.finance 0.825, coverage 3/4
--  rt.inventory 110 / 100 = 1.1; rt.ops 1.1, coverage 1/5
--  rt.company   (2 x 0.825 + 1.1) / 3 = 0.9167, coverage 3/4
-- ---------------------------------------------------------------------
SELECT * FROM pg_temp.tree('2026-Q1');

-- ---------------------------------------------------------------------
-- A week: kpi.actual keeps weeks of revenue only; for the other
-- indicators the rollup summarises the week's measurements itself.  2026-W05 is Mon 26 Jan to
-- Sun 1 Feb: revenue 20 + 30 + 5 = 55 against >= 40: 1.375, capped 1.2;
-- inventory's last count in the week is 31 Jan's 120.
-- rt.finance 1.2 (coverage 3/4), rt.company 1.2 (coverage 2/4).
-- ---------------------------------------------------------------------
SELECT count(*) AS week_rows_in_actual FROM kpi.actual WHERE period = '2026-W05';
SELECT * FROM pg_temp.tree('2026-W05');
-- Days are cut in the company's time zone (kpi.setting), never the
-- session's: with the company in Shanghai (UTC+8) the 5 recorded at 20:00
-- UTC on 1 Feb falls on Monday 2 Feb, in week 6, from kpi.actual (revenue)
-- and from the measurements (inventory's week has no row) alike, whatever
-- the session's zone says.
SET TimeZone = 'America/New_York';
SAVEPOINT zone;
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai');
SELECT p AS period, r.code, r.actual
FROM unnest('{2026-W05,2026-W06}'::kpi.period[]) p, kpi.rollup(p) r
WHERE r.code IN ('rt.revenue', 'rt.inventory') ORDER BY p, r.code;
ROLLBACK TO SAVEPOINT zone;
SET TimeZone = 'UTC';

-- ---------------------------------------------------------------------
-- Retargeting in the middle of February: the rollup uses the goal in
-- force now (155 / 200 = 0.775, red), and kpi.target_history keeps both.
-- ---------------------------------------------------------------------
SELECT kpi.set_target('rt.revenue', 'rt_org', '2026-02', '>= 100') > 0 AS set;
SELECT * FROM pg_temp.tree('2026-02') WHERE node ~ 'rt\.revenue$';
SELECT kpi.set_target('rt.revenue', 'rt_org', '2026-02', '>= 200') > 0 AS set;
SELECT * FROM pg_temp.tree('2026-02') WHERE node ~ 'rt\.revenue$';
SELECT op, old_goal, new_goal FROM kpi.target_history
WHERE indicator_id = kpi.indicator_id('rt.revenue') AND period = '2026-02'
ORDER BY id;

-- ---------------------------------------------------------------------
-- March: a node with its own target and actual is scored from them, not
-- from its children: rt.customer 4.2 / 4 = 1.05 with coverage 1, though
-- its child rt.conv scores 0.4 (10/100 = 0.1 against >= 0.25).
-- rt.company: 1.05 from rt.customer alone, coverage 1/4.
-- ---------------------------------------------------------------------
SELECT * FROM pg_temp.tree('2026-03');

-- ---------------------------------------------------------------------
-- An empty period: no actuals; rt.revenue's target is shown, but nothing
-- is scored.  A NULL period gives no rows.
-- ---------------------------------------------------------------------
SELECT * FROM pg_temp.tree('2026-06');
SELECT count(*) AS rows_for_null_period FROM kpi.rollup(NULL);

-- ---------------------------------------------------------------------
-- Scopes.  An unknown code is an error.  A leaf scope counts its own data.
-- ---------------------------------------------------------------------
SAVEPOINT unknown_scope;
SELECT * FROM kpi.rollup('2026-01', 'nowhere');
ROLLBACK TO SAVEPOINT unknown_scope;
-- South alone: revenue 80, no targets at South, so nothing is scored.
SELECT code, actual, target, score, coverage FROM kpi.rollup('2026-01', 'rt_org.south')
WHERE code IN ('rt.company', 'rt.revenue', 'rt.inventory');

-- kpi.link refuses cycles.  Should one get in anyway (its trigger
-- disabled), the rollup names an indicator on it instead of looping.
SAVEPOINT cycle;
ALTER TABLE kpi.link DISABLE TRIGGER link_check;
INSERT INTO kpi.link (parent_id, child_id)
VALUES (kpi.indicator_id('rt.revenue'), kpi.indicator_id('rt.finance'));
SELECT count(*) FROM kpi.rollup('2026-01');
ROLLBACK TO SAVEPOINT cycle;

-- Levels are semi-additive across scopes too: with North A counting 50 on
-- 31 March, the company's Q1 inventory is South's closing 110 plus North A's
-- 50 = 160, not the one latest reading; from kpi.actual (quarter) and from
-- the measurements (week 2026-W14 is not kept) alike.  The target >= 100
-- gives 1.6, capped at 1.1.
SELECT kpi.record('rt.inventory', 'rt_org.north.a', 50, '2026-03-31 09:00') > 0 AS recorded;
SELECT code, actual, target, attainment, score FROM kpi.rollup('2026-Q1')
WHERE code = 'rt.inventory';
SELECT code, actual FROM kpi.rollup('2026-W14') WHERE code = 'rt.inventory';
SELECT code, actual FROM kpi.rollup('2026-Q1', 'rt_org.north') WHERE code = 'rt.inventory';

-- ---------------------------------------------------------------------
-- Under one indicator (0.13): kpi.rollup(p, scope, indicator) scores it
-- and everything below it, depth counted from it, reading only their
-- rows; each row equals the whole tree's (a node's score depends on its
-- subtree alone).  NULL: the whole tree.  An unknown or retired
-- indicator is an error; a cycle below it is found as in the whole tree.
-- ---------------------------------------------------------------------
SELECT repeat('  ', r.depth) || r.code AS node, round(r.actual::numeric, 4) AS actual,
       round(r.score::numeric, 4) AS score, r.status, round(r.coverage::numeric, 4) AS coverage
FROM kpi.rollup('2026-01', NULL, 'rt.ops') WITH ORDINALITY r ORDER BY r.ordinality;
-- every rt indicator's subtree against the whole tree, for each period
-- and scope given: rows and how many differ
CREATE FUNCTION pg_temp.subtrees(ps kpi.period[], scopes text[])
RETURNS TABLE (subtree_rows bigint, different_from_whole_tree bigint)
LANGUAGE sql AS $$
    SELECT count(*),
           count(*) FILTER (WHERE f.indicator_id IS NULL
                            OR (f.actual, f.target, f.attainment, f.score, f.status, f.coverage)
                               IS DISTINCT FROM (u.actual, u.target, u.attainment, u.score, u.status, u.coverage))
    FROM unnest(ps) p
    CROSS JOIN unnest(scopes || ARRAY[NULL]) s(scope)
    CROSS JOIN kpi.indicator i
    CROSS JOIN LATERAL kpi.rollup(p, s.scope, i.code) u
    LEFT JOIN LATERAL (SELECT * FROM kpi.rollup(p, s.scope) w
                       WHERE w.indicator_id OPERATOR(pg_catalog.=) u.indicator_id) f ON true
    WHERE i.lifecycle <> 'retired' AND i.code ~ '^rt\.' AND i.code !~ '^rt\.x'
$$;
SELECT * FROM pg_temp.subtrees('{2026-01,2026-Q1,2026-W05,2026-06}', '{rt_org,rt_org.north,rt_org.south}');
SELECT (SELECT count(*) FROM kpi.rollup('2026-01', NULL, NULL)) =
       (SELECT count(*) FROM kpi.rollup('2026-01')) AS null_is_the_whole_tree;
SAVEPOINT unknown_indicator;
SELECT * FROM kpi.rollup('2026-01', NULL, 'rt.nothing');
ROLLBACK TO SAVEPOINT unknown_indicator;
SAVEPOINT retired_indicator;
SELECT * FROM kpi.rollup('2026-01', NULL, 'rt.legacy');
ROLLBACK TO SAVEPOINT retired_indicator;
SAVEPOINT cycle_below;
ALTER TABLE kpi.link DISABLE TRIGGER link_check;
INSERT INTO kpi.link (parent_id, child_id)
VALUES (kpi.indicator_id('rt.revenue'), kpi.indicator_id('rt.finance'));
SELECT count(*) FROM kpi.rollup('2026-01', NULL, 'rt.finance');
ROLLBACK TO SAVEPOINT cycle_below;
SELECT count(*) AS rows_beside_the_cycle FROM kpi.rollup('2026-01', NULL, 'rt.ops');
-- In a tree of a few hundred indicators a small subtree's rows are read
-- indicator by indicator (the primary key), not the whole period's: the
-- same rows come out.
SAVEPOINT big_tree;
INSERT INTO kpi.indicator (code, name) SELECT 'rt.x' || i, 'Filler ' || i FROM generate_series(1, 300) i;
SELECT * FROM pg_temp.subtrees('{2026-01,2026-Q1,2026-W05,2026-W14}', '{rt_org,rt_org.north}');
ROLLBACK TO SAVEPOINT big_tree;

-- With a second top-level scope the organisation has no scope of its own
-- to hold its targets: NULL merges every scope's data (revenue 250 + 40)
-- and scores nothing.  Name the scope to use its targets.
INSERT INTO kpi.scope (code, name) VALUES ('rt_other', 'Another company');
SELECT kpi.record('rt.revenue', 'rt_other', 40, '2026-01-03 12:00') > 0 AS recorded;
SELECT code, actual, target, score, coverage FROM kpi.rollup('2026-01')
WHERE code IN ('rt.company', 'rt.revenue');
SELECT code, actual, target, round(score::numeric, 4) AS score, coverage
FROM kpi.rollup('2026-01', 'rt_org')
WHERE code IN ('rt.company', 'rt.revenue');

ROLLBACK;
