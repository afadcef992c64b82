-- Benchmark: the price of row-level security (release 0.6).  The same
-- queries run as the extension's owner (the superuser: no policy applies,
-- kpi.visible_scopes() is NULL), as bench_member, a role that is a member
-- of one region (kpi.scope_member) and so sees that region and its ten
-- branches, and as bench_member_all, a member of the company: the policies
-- apply to it but let every row through, so its time against the owner's
-- is the price of the policy itself.  Median of the runs after a warm-up
-- (ms: 5 runs of the scorecard, 15 of the faster rollups), and each
-- member's time over the owner's:
--
--   (a) SELECT count(*) FROM kpi.scorecard WHERE scope = <region> AND
--       period = '2026-Q2', and the same with SELECT * (every row produced);
--   (b) SELECT count(*) FROM kpi.rollup('2026-Q2', <region>);
--   (c) the member's kpi.rollup('2026-Q2') (its whole visible organisation,
--       scored against the targets of its top visible scope, the region)
--       against the owner's kpi.rollup('2026-Q2', <region>);
--   (d) kpi.rollup('2026-Q2') of the whole organisation, owner and
--       bench_member_all.
--
-- The answers must be the same for every role: mismatches counts rows a
-- member gets differently from the owner (missing on one side, or actual,
-- target, attainment, status, score or coverage apart).  Then the member's
-- scorecard plan once, to show the policy as an InitPlan
-- (scope_id = ANY ($n)).  Never fails on speed.
--
-- Reading the figures: kpi.scorecard's CTE over kpi.scope_actual is read
-- three times (current, previous, last year), so it is materialised for
-- every scope and period before the WHERE applies.  The owner pays for the
-- whole organisation; a region member only for the rows its policy lets
-- through, hence member/owner well below 1 on (a).  bench_member_all shows
-- the price of the policy where it filters nothing.
--
-- Data set: 100 scopes (co; 9 regions co.r1..co.r9; 10 branches each,
-- co.rN.b0..b9); 10,000 indicators: 100 roots (agg sum, no data of their
-- own), each with 99 children linked through kpi.link (weights 1..3; every
-- tenth child agg ratio, the others sum).  Measurements only at the
-- branches, one per month in 2026-04, -05 and -06 for a rotating eighth of
-- the leaves at each branch ((indicator id + 7 * scope id) % 8 = 0, so each
-- region has data for every leaf at one or two of its branches): 334,122
-- measurements through the kpi.actual trigger (grains month, quarter,
-- year).  Targets for 2026-Q2 at every region for three leaves in five
-- (53,460).  bench_member is a member of co.r3.  Server settings are the
-- cluster's (work_mem 4MB, parallel query on).
--
-- Runs in its own database, dropped at the end with the two roles.
\set QUIET on
\set ON_ERROR_STOP on
\set bench_home :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS kpi_bench_rls;
DROP ROLE IF EXISTS bench_member;
DROP ROLE IF EXISTS bench_member_all;
CREATE DATABASE kpi_bench_rls;
\c kpi_bench_rls
SET client_min_messages = warning;
CREATE EXTENSION kpi;
SET TimeZone = 'UTC';

CREATE TEMP TABLE bench_clock (step text PRIMARY KEY, at timestamptz NOT NULL);
INSERT INTO bench_clock VALUES ('load', clock_timestamp());

-- the organisation: 1 + 9 + 90 scopes
INSERT INTO kpi.scope (code, name) VALUES ('co', 'Company');
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'co.r' || r, 'Region ' || r, kpi.scope_id('co') FROM generate_series(1, 9) r;
INSERT INTO kpi.scope (code, name, parent_id)
SELECT format('co.r%s.b%s', r, b), format('Branch %s-%s', r, b), kpi.scope_id('co.r' || r)
FROM generate_series(1, 9) r, generate_series(0, 9) b;

-- the indicator tree: dictionary and links without their row triggers
-- (history and cycle checks; the tree is acyclic by construction)
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO kpi.indicator (code, name, agg)
SELECT 't' || lpad(t::text, 2, '0'), 'Tree ' || t, 'sum'
FROM generate_series(0, 99) t;
INSERT INTO kpi.indicator (code, name, agg)
SELECT format('t%s.i%s', lpad(t::text, 2, '0'), lpad(c::text, 2, '0')), format('Leaf %s.%s', t, c),
       CASE WHEN c % 10 = 9 THEN 'ratio' ELSE 'sum' END::kpi.agg_kind
FROM generate_series(0, 99) t, generate_series(1, 99) c;
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT p.id, c.id, 1 + c.id % 3
FROM kpi.indicator c
JOIN kpi.indicator p ON p.code = split_part(c.code, '.', 1)
WHERE c.code LIKE '%.%';
COMMIT;
ANALYZE kpi.scope;
ANALYZE kpi.indicator;
ANALYZE kpi.link;

-- targets for the quarter at the regions, three leaves in five
INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
SELECT i.id, s.id, '2026-Q2',
       CASE WHEN i.agg = 'ratio' THEN '>= 0.5' ELSE '>= 300' END::kpi.goal
FROM kpi.indicator i, kpi.scope s
WHERE s.code ~ '^co\.r[0-9]$' AND i.code LIKE '%.%' AND i.id % 5 < 3;

-- measurements at the branches, through the trigger that keeps kpi.actual
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator)
SELECT i.id, s.id, timestamptz '2026-04-15 12:00+00' + mo * interval '1 month',
       40 + (i.id * 37 + s.id * 11 + mo * 5) % 100,
       CASE WHEN i.agg = 'ratio' THEN 100 + i.id % 50 END
FROM kpi.indicator i, kpi.scope s, generate_series(0, 2) mo
WHERE i.code LIKE '%.%' AND s.code LIKE 'co.r_.b_' AND (i.id + 7 * s.id) % 8 = 0;
-- the trigger updated each kpi.actual row up to three times: vacuum, so
-- that every role's runs read the same clean table (not autovacuum's timing)
VACUUM ANALYZE;
INSERT INTO bench_clock VALUES ('loaded', clock_timestamp());

-- the members: bench_member sees co.r3 and its ten branches,
-- bench_member_all the whole organisation (through the policies)
CREATE ROLE bench_member NOLOGIN;
CREATE ROLE bench_member_all NOLOGIN;
GRANT USAGE ON SCHEMA kpi TO bench_member, bench_member_all;
GRANT SELECT ON ALL TABLES IN SCHEMA kpi TO bench_member, bench_member_all;
INSERT INTO kpi.scope_member (role, scope_id)
VALUES ('bench_member', kpi.scope_id('co.r3')), ('bench_member_all', kpi.scope_id('co'));

-- bench_time: every timed run; the members write their own rows
CREATE TEMP TABLE bench_time (query text, who text, run int, ms float8);
GRANT SELECT, INSERT ON bench_time TO bench_member, bench_member_all;

-- bench(label, who, query, runs): one untimed warm-up, then `runs`
-- timed runs of the query (EXECUTE: every row is produced and kept, as a
-- client fetching them would need), each recorded in bench_time.
CREATE FUNCTION pg_temp.bench(label text, who text, query text, runs int DEFAULT 5)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    i int;
BEGIN
    EXECUTE query;
    FOR i IN 1 .. runs LOOP
        t0 := clock_timestamp();
        EXECUTE query;
        INSERT INTO bench_time
        VALUES (label, who, i, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
END $$;

-- the answers each role gets, kept for the comparison
CREATE TEMP TABLE bench_card (who text, indicator text, scope text, period text, actual numeric,
                              target numeric, attainment numeric, status text);
CREATE TEMP TABLE bench_tree (who text, indicator_id bigint, actual float8, target float8,
                              score float8, coverage float8);
GRANT SELECT, INSERT ON bench_card, bench_tree TO bench_member, bench_member_all;

-- the owner
SELECT pg_temp.bench('a1. scorecard count(*)', 'owner',
    $q$SELECT count(*) FROM kpi.scorecard WHERE scope = 'co.r3' AND period = '2026-Q2'$q$) \g /dev/null
SELECT pg_temp.bench('a2. scorecard SELECT *', 'owner',
    $q$SELECT * FROM kpi.scorecard WHERE scope = 'co.r3' AND period = '2026-Q2'$q$) \g /dev/null
SELECT pg_temp.bench('b. rollup(Q2, region)', 'owner',
    $q$SELECT count(*) FROM kpi.rollup('2026-Q2', 'co.r3')$q$, 15) \g /dev/null
SELECT pg_temp.bench('c. member rollup(Q2) / owner rollup(Q2, region)', 'owner',
    $q$SELECT count(*) FROM kpi.rollup('2026-Q2', 'co.r3')$q$, 15) \g /dev/null
SELECT pg_temp.bench('d. rollup(Q2) whole organisation', 'owner',
    $q$SELECT count(*) FROM kpi.rollup('2026-Q2')$q$, 15) \g /dev/null
INSERT INTO bench_card
SELECT 'owner', indicator, scope, period, actual, target, attainment, status
FROM kpi.scorecard WHERE scope = 'co.r3' AND period = '2026-Q2';
INSERT INTO bench_tree
SELECT 'owner b', indicator_id, actual, target, score, coverage FROM kpi.rollup('2026-Q2', 'co.r3');
INSERT INTO bench_tree
SELECT 'owner d', indicator_id, actual, target, score, coverage FROM kpi.rollup('2026-Q2');

-- the member of co.r3
SET ROLE bench_member;
SELECT pg_temp.bench('a1. scorecard count(*)', 'member',
    $q$SELECT count(*) FROM kpi.scorecard WHERE scope = 'co.r3' AND period = '2026-Q2'$q$) \g /dev/null
SELECT pg_temp.bench('a2. scorecard SELECT *', 'member',
    $q$SELECT * FROM kpi.scorecard WHERE scope = 'co.r3' AND period = '2026-Q2'$q$) \g /dev/null
SELECT pg_temp.bench('b. rollup(Q2, region)', 'member',
    $q$SELECT count(*) FROM kpi.rollup('2026-Q2', 'co.r3')$q$, 15) \g /dev/null
SELECT pg_temp.bench('c. member rollup(Q2) / owner rollup(Q2, region)', 'member',
    $q$SELECT count(*) FROM kpi.rollup('2026-Q2')$q$, 15) \g /dev/null
INSERT INTO bench_card
SELECT 'member', indicator, scope, period, actual, target, attainment, status
FROM kpi.scorecard WHERE scope = 'co.r3' AND period = '2026-Q2';
INSERT INTO bench_tree
SELECT 'member b', indicator_id, actual, target, score, coverage FROM kpi.rollup('2026-Q2', 'co.r3');
INSERT INTO bench_tree
SELECT 'member c', indicator_id, actual, target, score, coverage FROM kpi.rollup('2026-Q2');
\echo 'plan of the member''s scorecard query (the policy: InitPlans, scope_id = ANY ($n))'
EXPLAIN (ANALYZE, COSTS OFF)
SELECT count(*) FROM kpi.scorecard WHERE scope = 'co.r3' AND period = '2026-Q2';
RESET ROLE;

-- the member of co: the policies apply but let every row through (an
-- array of all 100 scope ids), so its time against the owner's is the
-- price of the policy itself
SET ROLE bench_member_all;
SELECT pg_temp.bench('a1. scorecard count(*)', 'member_all',
    $q$SELECT count(*) FROM kpi.scorecard WHERE scope = 'co.r3' AND period = '2026-Q2'$q$) \g /dev/null
SELECT pg_temp.bench('b. rollup(Q2, region)', 'member_all',
    $q$SELECT count(*) FROM kpi.rollup('2026-Q2', 'co.r3')$q$, 15) \g /dev/null
SELECT pg_temp.bench('d. rollup(Q2) whole organisation', 'member_all',
    $q$SELECT count(*) FROM kpi.rollup('2026-Q2')$q$, 15) \g /dev/null
INSERT INTO bench_card
SELECT 'member_all', indicator, scope, period, actual, target, attainment, status
FROM kpi.scorecard WHERE scope = 'co.r3' AND period = '2026-Q2';
INSERT INTO bench_tree
SELECT 'member_all b', indicator_id, actual, target, score, coverage FROM kpi.rollup('2026-Q2', 'co.r3');
INSERT INTO bench_tree
SELECT 'member_all d', indicator_id, actual, target, score, coverage FROM kpi.rollup('2026-Q2');
RESET ROLE;

-- rows that differ from the owner's answer (relative tolerance for floats
-- merged in another order)
CREATE FUNCTION pg_temp.differ(x float8, y float8) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT (x IS NULL) <> (y IS NULL) OR abs(x - y) > 1e-9 * greatest(1, abs(x), abs(y))
$$;
CREATE TEMP TABLE bench_rows (query text, rows bigint, mismatches bigint);
INSERT INTO bench_rows
SELECT q, (SELECT count(*) FROM bench_card WHERE who = 'owner'),
       (SELECT count(*)
        FROM (SELECT w.who, c.indicator, c.scope, c.period, c.actual, c.target, c.attainment, c.status
              FROM bench_card c, (VALUES ('member'), ('member_all')) w(who)
              WHERE c.who = 'owner') o
        FULL JOIN (SELECT * FROM bench_card WHERE who <> 'owner') m USING (who, indicator, scope, period)
        WHERE o.who IS NULL OR m.who IS NULL
           OR pg_temp.differ(o.actual::float8, m.actual::float8)
           OR pg_temp.differ(o.target::float8, m.target::float8)
           OR pg_temp.differ(o.attainment::float8, m.attainment::float8)
           OR o.status IS DISTINCT FROM m.status)
FROM unnest(ARRAY['a1. scorecard count(*)', 'a2. scorecard SELECT *']) q;
INSERT INTO bench_rows
SELECT q, (SELECT count(*) FROM bench_tree WHERE who = o_who),
       (SELECT count(*)
        FROM (SELECT * FROM bench_tree WHERE who = o_who) o
        FULL JOIN (SELECT * FROM bench_tree WHERE who = ANY (m_who)) m USING (indicator_id)
        WHERE o.who IS NULL OR m.who IS NULL
           OR pg_temp.differ(o.actual, m.actual) OR pg_temp.differ(o.target, m.target)
           OR pg_temp.differ(o.score, m.score) OR pg_temp.differ(o.coverage, m.coverage))
FROM (VALUES ('b. rollup(Q2, region)', 'owner b', '{member b,member_all b}'::text[]),
             ('c. member rollup(Q2) / owner rollup(Q2, region)', 'owner b', '{member c}'),
             ('d. rollup(Q2) whole organisation', 'owner d', '{member_all d}')) v(q, o_who, m_who);

\echo ''
\echo 'data set'
SELECT (SELECT count(*) FROM kpi.scope) AS scopes,
       (SELECT count(*) FROM kpi.indicator) AS indicators,
       (SELECT count(*) FROM kpi.link) AS links,
       (SELECT count(*) FROM kpi.measurement) AS measurements,
       (SELECT count(*) FROM kpi.actual) AS actual_rows,
       (SELECT count(*) FROM kpi.target) AS targets,
       round(extract(epoch FROM (SELECT at FROM bench_clock WHERE step = 'loaded')
                                - (SELECT at FROM bench_clock WHERE step = 'load'))::numeric, 1) AS load_s;

\echo 'row-level security, median of 5 (scorecard) or 15 (rollup) runs after a warm-up (ms): owner (superuser, no policy),'
\echo 'member (of co.r3: its region and 10 branches), member_all (of co: the policy applies, every row passes)'
WITH m AS (
    SELECT query, who, percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS ms
    FROM bench_time GROUP BY query, who)
SELECT r.query,
       r.rows,
       round(o.ms::numeric, 1) AS owner_ms,
       round(mb.ms::numeric, 1) AS member_ms,
       round((mb.ms / o.ms)::numeric, 2) AS member_over_owner,
       round(ma.ms::numeric, 1) AS member_all_ms,
       round((ma.ms / o.ms)::numeric, 2) AS member_all_over_owner,
       r.mismatches
FROM bench_rows r
JOIN m o ON o.query = r.query AND o.who = 'owner'
LEFT JOIN m mb ON mb.query = r.query AND mb.who = 'member'
LEFT JOIN m ma ON ma.query = r.query AND ma.who = 'member_all'
ORDER BY r.query;
\echo 'target: member_over_owner <= 1.5; mismatches (rows a member sees differently from the owner) must be 0'

\c :bench_home
SET client_min_messages = warning;
DROP DATABASE kpi_bench_rls;
DROP ROLE bench_member;
DROP ROLE bench_member_all;
