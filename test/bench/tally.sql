-- Benchmark: kpi.tally(v, at) against PostgreSQL's own aggregates on
-- 2,000,000 rows, serial and with 2 parallel workers.
--
--   native     count(v), sum(v), min(v), max(v)
--   tally      kpi.tally(v, at)   (count, sum, min, max, first, last in one value)
--   plain SQL  the four native aggregates plus first/last by time through
--              (array_agg(v ORDER BY at, v))[1] and
--              (array_agg(v ORDER BY at DESC, v DESC))[1]
--
-- Each query runs once to warm the cache, then :runs times (default 3);
-- wall time is measured with clock_timestamp() around EXECUTE.  Printed:
-- best and median in ms, the workers PostgreSQL launched (EXPLAIN ANALYZE),
-- and median ratios against native.  Target: tally within 1.2x of native.
-- Benchmarks print figures; they never fail on speed.
--
--   psql -X -f test/bench/tally.sql            (or: make bench)
--   psql -X -v runs=7 -f test/bench/tally.sql
\set QUIET on
\if :{?runs}
\else
\set runs 3
\endif
\set ON_ERROR_STOP on
SET work_mem = '256MB';
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS kpi;
DROP TABLE IF EXISTS bench_tally;
RESET client_min_messages;

-- Values with two decimals, times with ties (many rows share a second).
-- Unlogged, not temporary: parallel workers cannot read temporary tables.
CREATE UNLOGGED TABLE bench_tally AS
SELECT (((i::bigint * 7919) % 200001 - 100000)::numeric / 100)::float8 AS v,
       timestamptz '2026-07-01' + ((i::bigint * 104729) % 2592000) * interval '1 second' AS at
FROM generate_series(1, 2000000) i;
VACUUM ANALYZE bench_tally;

-- time_query(query, runs): best and median wall time in ms over `runs` runs,
-- after one warm-up run.
CREATE FUNCTION pg_temp.time_query(query text, runs int)
RETURNS TABLE (best_ms float8, median_ms float8) LANGUAGE plpgsql AS $$
DECLARE
    times float8[] := '{}';
    t0 timestamptz;
    i int;
BEGIN
    EXECUTE query;
    FOR i IN 1 .. runs LOOP
        t0 := clock_timestamp();
        EXECUTE query;
        times := times || extract(epoch FROM clock_timestamp() - t0)::float8 * 1000;
    END LOOP;
    RETURN QUERY
    SELECT round(min(x)::numeric, 1)::float8,
           round((percentile_cont(0.5) WITHIN GROUP (ORDER BY x))::numeric, 1)::float8
    FROM unnest(times) x;
END $$;

-- workers(query): parallel workers launched for the query (0 when serial).
CREATE FUNCTION pg_temp.workers(query text) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    plan jsonb;
BEGIN
    EXECUTE 'EXPLAIN (ANALYZE, FORMAT JSON) ' || query INTO plan;
    RETURN coalesce((jsonb_path_query_first(plan, '$.**."Workers Launched"'))::int, 0);
END $$;

CREATE TEMP TABLE bench_queries (ord int, name text, query text);
INSERT INTO bench_queries VALUES
    (1, 'native count/sum/min/max',
        'SELECT count(v), sum(v), min(v), max(v) FROM bench_tally'),
    (2, 'kpi.tally(v, at)',
        'SELECT kpi.tally(v, at) FROM bench_tally'),
    (3, 'plain SQL + first/last (array_agg ORDER BY)',
        'SELECT count(v), sum(v), min(v), max(v), (array_agg(v ORDER BY at, v))[1], '
        '(array_agg(v ORDER BY at DESC, v DESC))[1] FROM bench_tally');
CREATE TEMP TABLE bench_results (mode text, ord int, name text, workers int, best_ms float8, median_ms float8);

-- serial
SET max_parallel_workers_per_gather = 0;
INSERT INTO bench_results
SELECT 'serial', q.ord, q.name, pg_temp.workers(q.query), t.best_ms, t.median_ms
FROM bench_queries q, LATERAL pg_temp.time_query(q.query, :runs) t;

-- parallel: 2 workers, parallel costs forced to zero
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
INSERT INTO bench_results
SELECT 'parallel', q.ord, q.name, pg_temp.workers(q.query), t.best_ms, t.median_ms
FROM bench_queries q, LATERAL pg_temp.time_query(q.query, :runs) t;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- the answers agree: first/last from the tally and from plain SQL
SELECT kpi.value(t, 'count') = n AND kpi.value(t, 'min') = mn AND kpi.value(t, 'max') = mx
       AND kpi.value(t, 'first') = f AND kpi.value(t, 'last') = l AS tally_agrees_with_plain_sql
FROM (SELECT kpi.tally(v, at) AS t, count(v) AS n, min(v) AS mn, max(v) AS mx,
             (array_agg(v ORDER BY at, v))[1] AS f,
             (array_agg(v ORDER BY at DESC, v DESC))[1] AS l
      FROM bench_tally) s;

\echo 'kpi.tally vs native aggregates, 2,000,000 rows; best and median of' :runs 'runs (ms); ratio = median / native median'
SELECT r.mode, r.name AS query, r.workers, r.best_ms, r.median_ms,
       round((r.median_ms / n.median_ms)::numeric, 2) AS ratio_vs_native,
       round((r.best_ms / n.best_ms)::numeric, 2) AS best_ratio_vs_native
FROM bench_results r
JOIN bench_results n ON n.mode = r.mode AND n.ord = 1
ORDER BY r.mode DESC, r.ord;

DROP TABLE bench_tally;
