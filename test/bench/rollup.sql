-- Benchmark: kpi.rollup(p) on indicator trees of about 1k, 10k and 100k
-- indicators, against the same scores computed in plain SQL (PL/pgSQL that
-- scores the leaves from kpi.actual and kpi.target, then the parents level
-- by level with set-based UPDATEs).  Checks both give the same score and
-- coverage for every indicator (scored: how many have a score; mismatches
-- must be 0), then prints best-of-3 wall times (ms).
--
-- Trees: one root, branching 10, 3, 4 and 5 levels below the root (1,111,
-- 11,111 and 111,111 indicators).  Leaves mix sum, avg, last and ratio;
-- 9 in 10 have a target at the organisation's scope, 19 in 20 have three
-- measurements in January at one of ten branches; link weights are 1..3,
-- and one leaf in a hundred has a second parent.
--
-- Runs in its own database, dropped at the end.
\set QUIET on
\set ON_ERROR_STOP on
\set bench_home :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS kpi_bench_rollup;
CREATE DATABASE kpi_bench_rollup;
\c kpi_bench_rollup
SET client_min_messages = warning;
CREATE EXTENSION kpi;
\ir _lib.sql
SET TimeZone = 'UTC';
SET search_path = public, kpi;
SET max_parallel_workers_per_gather = 0;
SET work_mem = '256MB';

INSERT INTO kpi.scope (code, name) VALUES ('org', 'Organisation');
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'org.b' || b, 'Branch ' || b, kpi.scope_id('org') FROM generate_series(0, 9) b;

-- bench_build(levels): replace the indicator tree by one of 1 + 10 + ... +
-- 10^levels indicators with its links, targets and measurements.
CREATE FUNCTION pg_temp.bench_build(levels int) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    org bigint := kpi.scope_id('org');
    n bigint;
BEGIN
    TRUNCATE kpi.indicator, kpi.indicator_history, kpi.target_history CASCADE;

    -- Dictionary, links and targets are loaded without their row triggers
    -- (history and cycle checks; the tree is acyclic by construction); the
    -- measurements go through the trigger that fills kpi.actual.
    SET LOCAL session_replication_role = replica;
    INSERT INTO kpi.indicator (code, name, agg, grains)
    SELECT format('n%s_%s', k, lpad(j::text, 6, '0')), 'bench',
           CASE WHEN k < levels THEN 'sum'
                ELSE (ARRAY['sum', 'avg', 'last', 'ratio'])[j % 4 + 1] END::kpi.agg_kind,
           '{month}'
    FROM generate_series(0, levels) k, generate_series(0, (10 ^ k)::int - 1) j;
    ANALYZE kpi.indicator;

    INSERT INTO kpi.link (parent_id, child_id, weight)
    SELECT p.id, c.id, 1 + e.j % 3
    FROM (SELECT k, j, j / 10 AS pj FROM generate_series(1, levels) k,
                 generate_series(0, (10 ^ k)::int - 1) j
          UNION ALL
          -- a second parent for one leaf in a hundred
          SELECT levels, j, (j / 10 + 1) % (10 ^ (levels - 1))::int
          FROM generate_series(7, (10 ^ levels)::int - 1, 100) j) e
    JOIN kpi.indicator p ON p.code = format('n%s_%s', e.k - 1, lpad(e.pj::text, 6, '0'))
    JOIN kpi.indicator c ON c.code = format('n%s_%s', e.k, lpad(e.j::text, 6, '0'));

    INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
    SELECT i.id, org, '2026-01',
           CASE WHEN i.agg = 'ratio' THEN '>= 0.5'
                WHEN j % 7 = 0 THEN '<= 120'
                ELSE '>= 100' END::kpi.goal
    FROM kpi.indicator i, LATERAL (SELECT substr(i.code, strpos(i.code, '_') + 1)::int AS j) x
    WHERE i.code LIKE format('n%s\_%%', levels) AND j % 10 <> 9;
    SET LOCAL session_replication_role = origin;

    INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator)
    SELECT i.id, kpi.scope_id('org.b' || j % 10),
           timestamptz '2026-01-01 12:00+00' + (d * 10 + 4) * interval '1 day',
           40 + (j * 37 + d * 11) % 100,
           CASE WHEN i.agg = 'ratio' THEN 100 + j % 50 END
    FROM kpi.indicator i,
         LATERAL (SELECT substr(i.code, strpos(i.code, '_') + 1)::int AS j) x,
         generate_series(0, 2) d
    WHERE i.code LIKE format('n%s\_%%', levels) AND j % 20 <> 19;

    ANALYZE kpi.indicator;
    ANALYZE kpi.link;
    ANALYZE kpi.target;
    ANALYZE kpi.actual;
    SELECT count(*) INTO n FROM kpi.indicator;
    RETURN n;
END $$;

-- The plain-SQL rollup: leaves (and any node with target and actual) from
-- kpi.actual merged over every scope and the target at the top-level
-- scope, then parents bottom-up, one set-based UPDATE per level.
CREATE TEMP TABLE bench_node (
    id bigint PRIMARY KEY,
    score float8,
    coverage float8,
    done boolean NOT NULL
);
CREATE FUNCTION pg_temp.plain_rollup(p kpi.period)
RETURNS TABLE (indicator_id bigint, score float8, coverage float8)
LANGUAGE plpgsql AS $$
DECLARE
    changed bigint;
BEGIN
    TRUNCATE bench_node;
    INSERT INTO bench_node (id, score, coverage, done)
    SELECT i.id,
           CASE WHEN x.att IS NOT NULL
                THEN greatest(0, least(x.att, coalesce(i.score_cap, 'Infinity'))) END,
           CASE WHEN x.att IS NOT NULL THEN 1 ELSE 0 END,
           x.att IS NOT NULL
             OR NOT EXISTS (SELECT FROM kpi.link l JOIN kpi.indicator c ON c.id = l.child_id
                            WHERE l.parent_id = i.id AND c.lifecycle <> 'retired')
    FROM kpi.indicator i
    LEFT JOIN (SELECT a.indicator_id, kpi.merge(a.tally) AS tally
               FROM kpi.actual a WHERE a.period = p
               GROUP BY a.indicator_id) m ON m.indicator_id = i.id
    LEFT JOIN kpi.target t ON t.indicator_id = i.id AND t.period = p
         AND t.scope_id = (SELECT s.id FROM kpi.scope s WHERE s.parent_id IS NULL)
    CROSS JOIN LATERAL (SELECT kpi.attainment(kpi.value(m.tally, i.agg), t.goal) AS att) x
    WHERE i.lifecycle <> 'retired';
    ANALYZE bench_node;

    LOOP
        UPDATE bench_node n
        SET score = s.score, coverage = s.coverage, done = true
        FROM (SELECT l.parent_id AS id,
                     sum(l.weight * c.score) / nullif(sum(l.weight) FILTER (WHERE c.score IS NOT NULL), 0) AS score,
                     coalesce(sum(l.weight) FILTER (WHERE c.score IS NOT NULL), 0) / sum(l.weight) AS coverage
              FROM kpi.link l
              JOIN bench_node c ON c.id = l.child_id
              JOIN bench_node pn ON pn.id = l.parent_id AND NOT pn.done
              GROUP BY l.parent_id
              HAVING bool_and(c.done)) s
        WHERE n.id = s.id;
        GET DIAGNOSTICS changed = ROW_COUNT;
        EXIT WHEN changed = 0;
    END LOOP;
    RETURN QUERY SELECT n.id, n.score, n.coverage FROM bench_node n;
END $$;

CREATE TEMP TABLE bench_result (
    size bigint,
    rollup_ms float8,
    plain_ms float8,
    scored bigint,
    mismatches bigint
);

-- bench_run(levels): build, check, time, and keep one result row.
CREATE FUNCTION pg_temp.bench_run(levels int) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    n bigint := pg_temp.bench_build(levels);
    scored bigint;
    bad bigint;
BEGIN
    SELECT count(*) INTO scored FROM kpi.rollup('2026-01') r WHERE r.score IS NOT NULL;
    SELECT count(*) INTO bad
    FROM kpi.rollup('2026-01') r
    FULL JOIN pg_temp.plain_rollup('2026-01') q ON q.indicator_id = r.indicator_id
    WHERE r.indicator_id IS NULL OR q.indicator_id IS NULL
       OR (r.score IS NULL) <> (q.score IS NULL)
       OR abs(r.score - q.score) > 1e-9
       OR abs(r.coverage - q.coverage) > 1e-9;
    INSERT INTO bench_result
    VALUES (n,
            pg_temp.bench($q$SELECT count(*) FROM kpi.rollup('2026-01')$q$, 3),
            pg_temp.bench($q$SELECT count(*) FROM pg_temp.plain_rollup('2026-01')$q$, 3),
            scored, bad);
END $$;

SELECT FROM pg_temp.bench_run(3) \g /dev/null
SELECT FROM pg_temp.bench_run(4) \g /dev/null
SELECT FROM pg_temp.bench_run(5) \g /dev/null

\echo 'kpi.rollup(p) vs the same scores in plain SQL, best of 3 (ms)'
SELECT to_char(size, 'FM999,999') AS indicators,
       rollup_ms,
       plain_ms,
       round((plain_ms / rollup_ms)::numeric, 1) AS plain_over_rollup,
       round((rollup_ms / size * 1000)::numeric, 3) AS rollup_ms_per_1k,
       scored,
       mismatches
FROM bench_result ORDER BY size;

\c :bench_home
SET client_min_messages = warning;
DROP DATABASE kpi_bench_rollup;
