-- Benchmark: the lessons search, kpi.lessons(q), over 100,000 findings,
-- against the query a user would write without kpi: a substring match
-- (ILIKE) on the same text, one condition per word of the query,
--
--   SELECT f.id, f.root_cause, f.lesson FROM kpi.finding f
--   WHERE (coalesce(root_cause, '') || ' ' || coalesce(lesson, '')) ILIKE '%w1%'
--     AND ... ILIKE '%w2%'
--
-- which reads every finding (a sequential scan).  kpi.lessons also ranks
-- every hit and joins its indicator, scope and review; it finds English
-- words by stem ('suppliers' finds 'supplier'), which ILIKE does not.
-- Prints rows found and the median of 5 runs after a warm-up (ms) of each,
-- and plain/lessons; then the plan of kpi.lessons' main query for a
-- Chinese query (its WHERE clause with the query's terms, as the function
-- plans it: a query that is not all ASCII gets an empty tsquery), which
-- must use the GIN index finding_terms.
--
-- Then the same ILIKE queries with a pg_trgm index (gin_trgm_ops) on the
-- same text, when pg_trgm is installed (it ships with Debian's
-- postgresql-15).  pg_trgm finds Chinese trigrams here only because this
-- cluster's ctype is C.UTF-8: in a database with LC_CTYPE 'C' it extracts
-- none from CJK text (show_trgm('供应商断货') is {}), and a query word of two
-- Chinese characters ('台风') has no trigram under any locale, so pg_trgm
-- cannot narrow it down.  Text search takes a whole run of Chinese
-- characters as one word under either ctype ('供应商断货'), so it never finds
-- 供应商 inside it.  kpi.search_terms cuts its own terms (characters and
-- pairs, by Unicode block) for these reasons; the last table shows the
-- three side by side in this database and in one with LC_CTYPE 'C'.
--
-- Data: the demo company (test/demo/company.sql: 6 scopes, 41 indicators,
-- and one review with five findings of its own); 1,000 held reviews of its
-- scopes over the months 2025-01..2026-10 and the quarters
-- 2025-Q1..2026-Q3; 100 findings each, inserted through the triggers
-- (checks and review history): even ones in Chinese, odd ones in English.
-- Root causes and lessons are sentences built from a vocabulary of 45
-- Chinese and 45 English terms, picked deterministically from the
-- finding's number with a skew (a word's share falls with its place in the
-- list), so common and rare words exist; 压缩机 and compressor appear in
-- one finding in a thousand (and 压缩机 in one demo finding).
--
-- Runs in its own databases, dropped at the end.
\set QUIET on
\set ON_ERROR_STOP on
\set bench_home :DBNAME
SET client_min_messages = warning;
DROP DATABASE IF EXISTS kpi_bench_lessons;
DROP DATABASE IF EXISTS kpi_bench_lessons_c;
CREATE DATABASE kpi_bench_lessons;
\c kpi_bench_lessons
SET client_min_messages = warning;
CREATE EXTENSION kpi;
\ir ../demo/company.sql
SET client_min_messages = warning;
SET TimeZone = 'UTC';

CREATE TEMP TABLE bench_clock (step text PRIMARY KEY, at timestamptz NOT NULL);
INSERT INTO bench_clock VALUES ('load', clock_timestamp());

-- 1,000 reviews: scope, period and the day it was held follow from n
INSERT INTO kpi.review (title, period, scope_id, state, held_at, facilitator, summary)
SELECT format('%s %s复盘 #%s', p.p, s.name, n), p.p, s.id, 'held',
       kpi.start_date(p.p) + 20 + n % 7, 'bench', 'generated'
FROM generate_series(0, 999) n
CROSS JOIN LATERAL (
    SELECT CASE WHEN n % 4 = 3
                THEN kpi.period(date '2025-01-01' + (n / 24 % 7) * interval '3 months', 'quarter')
                ELSE kpi.period(date '2025-01-01' + (n / 6 % 22) * interval '1 month', 'month') END AS p) p
JOIN (SELECT id, name, row_number() OVER (ORDER BY id) - 1 AS k FROM kpi.scope) s ON s.k = n % 6;

-- the vocabularies, commonest first
CREATE TEMP TABLE bench_vocab (lang text PRIMARY KEY, words text[]);
INSERT INTO bench_vocab VALUES
('zh', '{供应商,交付,延迟,库存,物流,价格战,促销,渠道,客诉,缺陷,原材料,涨价,产能,排产,设备故障,
         系统故障,数据错误,招聘,离职,培训,审批,预算,回款,账期,经销商,售后,备件,能耗,门店,客流,
         竞争对手,汇率,政策,补贴,电商,直播,退货,满意度,质检,返工,安全事故,疫情,天气,台风,仓储}'),
('en', '{supplier,delivery,inventory,logistics,"price war",promotion,channel,complaints,defects,
         "raw material","price increase",capacity,scheduling,"equipment failure","system outage",
         "data errors",recruitment,attrition,training,approvals,budget,collections,"payment terms",
         dealers,after-sales,"spare parts","energy use",stores,"foot traffic",competitors,
         "exchange rate",policy,subsidies,e-commerce,livestream,returns,satisfaction,inspection,
         rework,"safety incident",epidemic,weather,typhoon,warehousing,suppliers}');

-- w(n, k, words): the k-th word of finding n, skewed towards the head of
-- the list (index = floor(length * u^3), u spread evenly over [0, 1))
CREATE FUNCTION pg_temp.w(n bigint, k int, words text[]) RETURNS text
LANGUAGE sql IMMUTABLE AS $$
    SELECT words[1 + floor(cardinality(words)
                           * power(((n * (7919 + 104 * k) + 31 * k * k) % 10007) / 10007.0, 3))::int]
$$;

-- 100,000 findings, 100 per review
INSERT INTO kpi.finding (review_id, indicator_id, kind, summary, cause_category, root_cause, lesson)
SELECT r.id, ind.ids[1 + n % cardinality(ind.ids)],
       CASE WHEN n % 7 = 0 THEN 'success' ELSE 'gap' END,
       'finding ' || n,
       (ARRAY['people', 'process', 'equipment', 'material', 'supplier', 'market', 'data'])[1 + n % 7],
       CASE WHEN n % 2 = 0 THEN
            pg_temp.w(n, 1, zh.words) || (ARRAY['问题', '异常', '不足'])[1 + n % 3] || '导致'
            || pg_temp.w(n, 2, zh.words) || '，' || pg_temp.w(n, 3, zh.words)
            || (ARRAY['环节未及时处理', '响应慢', '缺少预案', '沟通不畅'])[1 + n / 2 % 4]
            || CASE WHEN n % 1000 = 8 THEN '；压缩机批次缺陷' ELSE '' END
       ELSE
            initcap(pg_temp.w(n, 1, en.words)) || ' ' || (ARRAY['problems', 'issues', 'shortfall'])[1 + n % 3]
            || ' ' || (ARRAY['led to late delivery of', 'meant delivery was late for', 'hit',
                             'slowed down', 'were ignored while fixing'])[1 + n / 2 % 5]
            || ' ' || pg_temp.w(n, 2, en.words) || '; ' || pg_temp.w(n, 3, en.words)
            || (ARRAY[' not handled in time', ' responded slowly', ' had no fallback plan',
                      ' was poorly communicated'])[1 + n / 3 % 4]
            || CASE WHEN n % 1000 = 9 THEN '; compressor batch defect' ELSE '' END
       END,
       CASE WHEN n % 2 = 0 THEN
            '提前' || pg_temp.w(n, 4, zh.words) || '，加强' || pg_temp.w(n, 5, zh.words) || '管理，建立'
            || pg_temp.w(n, 6, zh.words) || '预警机制'
       ELSE
            'Plan ' || pg_temp.w(n, 4, en.words) || ' earlier, manage ' || pg_temp.w(n, 5, en.words)
            || ' closely and set up early warnings on ' || pg_temp.w(n, 6, en.words) || '.'
       END
FROM generate_series(0, 99999) n
JOIN (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM kpi.review WHERE facilitator = 'bench') r
     ON r.k = n / 100
CROSS JOIN (SELECT array_agg(id ORDER BY id) AS ids FROM kpi.indicator) ind
CROSS JOIN (SELECT words FROM bench_vocab WHERE lang = 'zh') zh
CROSS JOIN (SELECT words FROM bench_vocab WHERE lang = 'en') en;
VACUUM ANALYZE;
INSERT INTO bench_clock VALUES ('loaded', clock_timestamp());

\echo 'the first generated findings'
SELECT id, root_cause, lesson FROM kpi.finding
WHERE summary IN ('finding 0', 'finding 1', 'finding 2', 'finding 3') ORDER BY id;

-- the queries, and each one's plain-SQL condition
CREATE TEMP TABLE bench_query (k int PRIMARY KEY, label text, q text, plain text);
INSERT INTO bench_query
SELECT k, label, q,
       (SELECT string_agg(format('(coalesce(f.root_cause, %L) || %L || coalesce(f.lesson, %L)) ILIKE %L',
                                 '', ' ', '', '%' || w || '%'), ' AND ')
        FROM regexp_split_to_table(q, '\s+') w)
FROM (VALUES (1, 'rare Chinese word', '压缩机'),
             (2, 'common Chinese word', '供应商'),
             (3, 'two Chinese words', '物流 延迟'),
             (4, 'two-character Chinese word', '台风'),
             (5, 'English, stemmed', 'suppliers'),
             (6, 'English phrase', 'late delivery'),
             (7, 'rare English word', 'compressor')) v(k, label, q);

CREATE TEMP TABLE bench_time (k int, method text, rows bigint, ms float8);

-- bench(k, method, query): the row count, then one untimed warm-up and 5
-- timed runs (EXECUTE: every row is produced and kept)
CREATE FUNCTION pg_temp.bench(k int, method text, query text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz;
    n bigint;
    times float8[] := '{}';
    i int;
BEGIN
    EXECUTE 'SELECT count(*) FROM (' || query || ') x' INTO n;
    EXECUTE query;
    FOR i IN 1 .. 5 LOOP
        t0 := clock_timestamp();
        EXECUTE query;
        times := times || extract(epoch FROM clock_timestamp() - t0) * 1000;
    END LOOP;
    INSERT INTO bench_time
    SELECT k, method, n, percentile_cont(0.5) WITHIN GROUP (ORDER BY t) FROM unnest(times) t;
END $$;

SELECT pg_temp.bench(k, 'lessons', format('SELECT * FROM kpi.lessons(%L)', q))
FROM bench_query ORDER BY k \g /dev/null
SELECT pg_temp.bench(k, 'plain', 'SELECT f.id, f.root_cause, f.lesson FROM kpi.finding f WHERE ' || plain)
FROM bench_query ORDER BY k \g /dev/null

\echo ''
\echo 'plan of kpi.lessons'' main query for ''压缩机'' (its WHERE clause with the query''s terms filled in;'
\echo 'a query that is not all ASCII gets an empty tsquery: Chinese is found by kpi.search_terms alone)'
EXPLAIN (ANALYZE, COSTS OFF)
SELECT f.id
FROM kpi.finding f
WHERE (numnode(''::tsquery) > 0 AND f.search_vector @@ ''::tsquery)
   OR (cardinality(kpi.search_terms('压缩机', true)) > 0
       AND kpi.search_terms(coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, ''), false)
           @> kpi.search_terms('压缩机', true)
       AND NOT EXISTS (SELECT FROM unnest(ARRAY['压缩机']) w
                       WHERE strpos(lower(coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, '')), w) = 0));

-- pg_trgm, when the server has it
SELECT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_trgm') AS have_trgm \gset
\if :have_trgm
CREATE EXTENSION pg_trgm;
INSERT INTO bench_clock VALUES ('trgm', clock_timestamp());
CREATE INDEX finding_trgm ON kpi.finding
    USING gin ((coalesce(root_cause, '') || ' ' || coalesce(lesson, '')) gin_trgm_ops);
INSERT INTO bench_clock VALUES ('trgm built', clock_timestamp());
ANALYZE kpi.finding;
SELECT pg_temp.bench(k, 'trgm', 'SELECT f.id, f.root_cause, f.lesson FROM kpi.finding f WHERE ' || plain)
FROM bench_query ORDER BY k \g /dev/null
\echo ''
\echo 'plan of the ILIKE query for ''台风'' with the pg_trgm index (a two-character word: no trigram)'
EXPLAIN (ANALYZE, COSTS OFF)
SELECT f.id FROM kpi.finding f
WHERE (coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, '')) ILIKE '%台风%';
\endif

\echo ''
\echo 'data set'
SELECT (SELECT count(*) FROM kpi.review) AS reviews,
       (SELECT count(*) FROM kpi.finding) AS findings,
       (SELECT count(*) FROM kpi.review_history) AS history_rows,
       round(extract(epoch FROM (SELECT at FROM bench_clock WHERE step = 'loaded')
                                - (SELECT at FROM bench_clock WHERE step = 'load'))::numeric, 1) AS load_s,
       pg_size_pretty(pg_table_size('kpi.finding')) AS table_size,
       pg_size_pretty(pg_relation_size('kpi.finding_terms')) AS finding_terms,
       pg_size_pretty(pg_relation_size('kpi.finding_text')) AS finding_text,
       CASE WHEN to_regclass('kpi.finding_trgm') IS NOT NULL
            THEN pg_size_pretty(pg_relation_size('kpi.finding_trgm')) END AS finding_trgm,
       round(extract(epoch FROM (SELECT at FROM bench_clock WHERE step = 'trgm built')
                                - (SELECT at FROM bench_clock WHERE step = 'trgm'))::numeric, 1) AS trgm_build_s;

\echo 'kpi.lessons(q) vs ILIKE on every word (plain: sequential scan; trgm: with a pg_trgm GIN index),'
\echo 'rows found and median of 5 runs after a warm-up (ms)'
SELECT q.k, q.label, q.q AS query,
       l.rows AS lessons_rows,
       p.rows AS plain_rows,
       round(l.ms::numeric, 1) AS lessons_ms,
       round(p.ms::numeric, 1) AS plain_ms,
       round((p.ms / l.ms)::numeric, 1) AS plain_over_lessons,
       round(t.ms::numeric, 1) AS trgm_ms,
       round((t.ms / l.ms)::numeric, 1) AS trgm_over_lessons
FROM bench_query q
JOIN bench_time l ON l.k = q.k AND l.method = 'lessons'
JOIN bench_time p ON p.k = q.k AND p.method = 'plain'
LEFT JOIN bench_time t ON t.k = q.k AND t.method = 'trgm'
ORDER BY q.k;

-- the same text under the C ctype: no trigrams, the same single text-search
-- word, and kpi's own terms unchanged
SELECT current_setting('lc_ctype') AS u_lc_ctype,
       to_tsvector('english', '供应商断货')::text AS u_text_search,
       kpi.search_terms('供应商断货')::text AS u_kpi_search_terms \gset
\if :have_trgm
SELECT show_trgm('供应商断货')::text AS u_pg_trgm \gset
\else
\set u_pg_trgm '(no pg_trgm)'
\endif
\c :bench_home
SET client_min_messages = warning;
CREATE DATABASE kpi_bench_lessons_c TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C';
\c kpi_bench_lessons_c
SET client_min_messages = warning;
CREATE EXTENSION kpi;
SELECT current_setting('lc_ctype') AS c_lc_ctype,
       to_tsvector('english', '供应商断货')::text AS c_text_search,
       kpi.search_terms('供应商断货')::text AS c_kpi_search_terms \gset
\if :have_trgm
CREATE EXTENSION pg_trgm;
SELECT show_trgm('供应商断货')::text AS c_pg_trgm \gset
\else
\set c_pg_trgm '(no pg_trgm)'
\endif
\echo ''
\echo 'terms of ''供应商断货'' by the database''s ctype'
SELECT :'u_lc_ctype' AS lc_ctype, :'u_pg_trgm' AS pg_trgm, :'u_text_search' AS text_search,
       :'u_kpi_search_terms' AS kpi_search_terms
UNION ALL
SELECT :'c_lc_ctype', :'c_pg_trgm', :'c_text_search', :'c_kpi_search_terms';

\c :bench_home
SET client_min_messages = warning;
DROP DATABASE kpi_bench_lessons;
DROP DATABASE kpi_bench_lessons_c;
