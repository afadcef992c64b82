-- Benchmark: parse and compare 1M kpi.period values against the same work on
-- date.  Prints best-of-3 wall times (ms) and the period/date ratio.
\set QUIET on
\ir _lib.sql
CREATE EXTENSION IF NOT EXISTS kpi;
SET max_parallel_workers_per_gather = 0;
SET work_mem = '256MB';
SET search_path = public, kpi;

SET client_min_messages = warning;
DROP TABLE IF EXISTS bench_period_text;
RESET client_min_messages;
CREATE TEMP TABLE bench_period_text AS
SELECT to_char(d, 'YYYY-MM-DD') AS day_text,
       to_char(d, 'YYYY-MM') AS month_text,
       d AS d,
       kpi.period(d, 'day') AS p_day,
       kpi.period(d, 'month') AS p_month
FROM (SELECT date '2000-01-01' + ((i::bigint * 7919) % 36500)::int AS d
      FROM generate_series(1, 1000000) i) s;
VACUUM ANALYZE bench_period_text;

\echo 'kpi.period vs date, 1,000,000 values, best of 3 (ms)'
WITH r AS (
    SELECT 'parse YYYY-MM-DD' AS task,
           pg_temp.bench($$SELECT count(day_text::kpi.period) FROM bench_period_text$$) AS period_ms,
           pg_temp.bench($$SELECT count(day_text::date) FROM bench_period_text$$) AS date_ms
    UNION ALL
    SELECT 'parse YYYY-MM (period) vs YYYY-MM-DD (date)',
           pg_temp.bench($$SELECT count(month_text::kpi.period) FROM bench_period_text$$),
           pg_temp.bench($$SELECT count(day_text::date) FROM bench_period_text$$)
    UNION ALL
    SELECT 'output (text)',
           pg_temp.bench($$SELECT count(p_day::text) FROM bench_period_text$$),
           pg_temp.bench($$SELECT count(d::text) FROM bench_period_text$$)
    UNION ALL
    SELECT 'compare (filter <)',
           pg_temp.bench($$SELECT count(*) FROM bench_period_text WHERE p_day < '2050-06-15'::kpi.period$$),
           pg_temp.bench($$SELECT count(*) FROM bench_period_text WHERE d < date '2050-06-15'$$)
    UNION ALL
    SELECT 'sort (ORDER BY)',
           pg_temp.bench($$SELECT count(*) FROM (SELECT p_day FROM bench_period_text ORDER BY p_day OFFSET 0) s$$),
           pg_temp.bench($$SELECT count(*) FROM (SELECT d FROM bench_period_text ORDER BY d OFFSET 0) s$$)
    UNION ALL
    SELECT 'hash GROUP BY',
           pg_temp.bench($$SELECT count(*) FROM (SELECT p_month FROM bench_period_text GROUP BY p_month) s$$),
           pg_temp.bench($$SELECT count(*) FROM (SELECT date_trunc('month', d) FROM bench_period_text GROUP BY 1) s$$)
)
SELECT task, period_ms, date_ms, round((period_ms / date_ms)::numeric, 2) AS ratio FROM r;
DROP TABLE bench_period_text;
