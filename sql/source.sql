-- source: indicators computed from the business's own tables (0.10).
-- Measurements that carry a tally; kpi.set_source and its errors;
-- kpi.refresh against a direct GROUP BY of the source for every agg kind,
-- idempotence, late rows inside and outside the look-back, updated and
-- deleted source rows; kpi.restate; the rights a definition runs with.
SET search_path = kpi, public;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
BEGIN;
-- errors as text through kpi_try (setup), so that the transaction goes on
DELETE FROM kpi.setting WHERE name = 'time_zone';
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai');
INSERT INTO kpi.scope (code, name) VALUES ('src', 'Source Co');
INSERT INTO kpi.scope (code, name, parent_id) VALUES
    ('src.n', 'North', kpi.scope_id('src')), ('src.s', 'South', kpi.scope_id('src'));

-- ---------------------------------------------------------------------
-- 1. Measurements that carry a tally
-- ---------------------------------------------------------------------
INSERT INTO kpi.indicator (code, name, agg) VALUES ('src.t_avg', 'Average, pre-aggregated', 'avg');
-- two days, summarised elsewhere: (10, 20) and (30)
SELECT kpi.record_tally('src.t_avg', 'src.n', (SELECT kpi.tally(v, '2026-01-05 09:00+08'::timestamptz) FROM (VALUES (10.0), (20.0)) x(v)),
                        '2026-01-05 00:00+08') IS NOT NULL AS recorded;
SELECT kpi.record_tally('src.t_avg', 'src.n', kpi.tally_add('count=0', 30, '2026-01-06 10:00+08'), '2026-01-06 00:00+08') IS NOT NULL AS recorded;
-- the month's average is 20 (of three values), not 22.5 (of two days)
SELECT period::text, value, kpi.value(tally, 'count') AS n FROM kpi.actual
WHERE indicator_id = kpi.indicator_id('src.t_avg') AND scope_id = kpi.scope_id('src.n') ORDER BY period;
-- value must be the tally's sum, the tally not empty (23514), on INSERT and UPDATE alike
SELECT kpi_try($$INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, tally)
                     VALUES (kpi.indicator_id('src.t_avg'), kpi.scope_id('src.n'), '2026-01-07', 5, kpi.tally_add('count=0', 6, now()))$$);
SELECT kpi_try($$INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, tally)
                     VALUES (kpi.indicator_id('src.t_avg'), kpi.scope_id('src.n'), '2026-01-07', 0, 'count=0')$$);
SELECT kpi_try($$UPDATE kpi.measurement SET value = value + 1 WHERE indicator_id = kpi.indicator_id('src.t_avg')$$);
-- changing a carried tally recomputes its keys
UPDATE kpi.measurement SET tally = kpi.tally_add(tally, 60, '2026-01-06 11:00+08'), value = value + 60
WHERE indicator_id = kpi.indicator_id('src.t_avg') AND at = '2026-01-06 00:00+08';
SELECT period::text, value, kpi.value(tally, 'max') AS max FROM kpi.actual
WHERE indicator_id = kpi.indicator_id('src.t_avg') AND scope_id = kpi.scope_id('src.n') AND period = '2026-01'::kpi.period;
DELETE FROM kpi.measurement WHERE indicator_id = kpi.indicator_id('src.t_avg') AND at = '2026-01-05 00:00+08';
SELECT period::text, value FROM kpi.actual
WHERE indicator_id = kpi.indicator_id('src.t_avg') AND scope_id = kpi.scope_id('src.n') AND period = '2026-01'::kpi.period;
SELECT * FROM kpi.verify();

-- ---------------------------------------------------------------------
-- 2. Definitions and their errors
-- ---------------------------------------------------------------------
CREATE TABLE public.src_orders (
    id bigint PRIMARY KEY, branch text, ordered_at timestamptz, amount numeric, complaints int,
    status text, region varchar(10), day date, local_at timestamp, n_items int);
INSERT INTO public.src_orders (id, branch, ordered_at, amount, complaints, status, day, local_at, n_items)
SELECT g, CASE WHEN g % 3 = 0 THEN 'src.s' ELSE 'src.n' END,
       timestamptz '2026-01-01 00:00+08' + g * interval '97 minutes',
       (g * 37) % 101 - 20.5, (g % 7 = 0)::int, CASE WHEN g % 11 = 0 THEN 'cancelled' ELSE 'paid' END,
       (timestamptz '2026-01-01 00:00+08' + g * interval '97 minutes') AT TIME ZONE 'Asia/Shanghai',
       (timestamptz '2026-01-01 00:00+08' + g * interval '97 minutes') AT TIME ZONE 'Asia/Shanghai', 1 + g % 4
FROM generate_series(1, 1500) g;
INSERT INTO kpi.indicator (code, name, agg) VALUES
    ('src.sum', 'Revenue', 'sum'), ('src.avg', 'Average order', 'avg'), ('src.min', 'Smallest order', 'min'),
    ('src.max', 'Largest order', 'max'), ('src.first', 'First order', 'first'), ('src.last', 'Last order', 'last'),
    ('src.count', 'Orders', 'count'), ('src.ratio', 'Complaint rate', 'ratio'), ('src.daily', 'Revenue by date', 'sum');
SELECT kpi_try(q) FROM (VALUES
    -- columns that do not exist or do not fit
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'nope', 'branch', 'amount')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'nope', 'amount')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'local_at', 'branch', 'amount')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'amount', 'branch', 'amount')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'id', 'amount')$$),
    ($$SELECT kpi.set_source('src.sum', 'no_such_table', 'ordered_at', 'branch', 'amount')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders_pkey', 'ordered_at', 'branch', 'amount')$$),
    ($$SELECT kpi.source_check(0, 'ordered_at', 'branch', 'amount', NULL, NULL)$$),
    ($$SELECT kpi.set_source('src.nope', 'src_orders', 'ordered_at', 'branch', 'amount')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', NULL)$$),
    -- expressions: not a number, not boolean, not immutable, not of one row
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'status')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'amount', filter => 'amount')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'amount * random()')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'amount', filter => 'ordered_at < now()')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'sum(amount)')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', '(SELECT 1)')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'generate_series(1, 2)')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'amount +')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', '1) FROM pg_authid --')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', '1; DROP TABLE src_orders')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'nope * 2')$$),
    -- scope codes that are not scopes (23503), unless filtered out
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'status', 'amount')$$),
    -- a ratio needs a denominator (23502); look-back not negative
    ($$SELECT kpi.set_source('src.ratio', 'src_orders', 'ordered_at', 'branch', 'complaints')$$),
    ($$SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'amount', lookback => '-1 day')$$),
    -- written directly: unknown keys, two definitions from one day, not an array
    ($$UPDATE kpi.indicator SET sources = '[{"source": "src_orders", "at": "ordered_at", "scope": "branch", "value": "amount", "colour": "red"}]' WHERE code = 'src.sum'$$),
    ($$UPDATE kpi.indicator SET sources = '[{"source": "public.src_orders", "at": "ordered_at", "scope": "branch", "value": "1"},
                                           {"source": "public.src_orders", "at": "ordered_at", "scope": "branch", "value": "2"}]' WHERE code = 'src.sum'$$),
    ($$UPDATE kpi.indicator SET sources = '{}' WHERE code = 'src.sum'$$),
    -- written directly, a source is read with search_path pg_catalog: qualify it
    ($$UPDATE kpi.indicator SET sources = '[{"source": "src_orders", "at": "ordered_at", "scope": "branch", "value": "1"}]' WHERE code = 'src.sum'$$)) t(q);
SELECT kpi_try($$SELECT kpi.refresh('src.sum')$$) AS refresh_without_source;

-- the definitions of every agg kind; the stored form is qualified and owned
SELECT kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'amount', filter => $$status <> 'cancelled'$$);
SELECT kpi.set_source(c, 'src_orders', 'ordered_at', 'branch', 'amount') IS NOT NULL AS set
FROM unnest('{src.avg,src.min,src.max,src.last}'::text[]) c;
-- expressions are kept as PostgreSQL prints them back, self-contained: a
-- filter written "a) OR (b" cannot reach past its parentheses in the query
-- kpi builds (paid or cancelled: every order)
SELECT kpi.set_source('src.first', 'src_orders', 'ordered_at', 'branch', 'amount',
                      filter => $$status = 'paid') OR (status = 'cancelled'$$) ->> 'filter' AS kept_filter;
SELECT kpi.set_source('src.count', 'src_orders', 'ordered_at', 'branch', 'n_items');
SELECT kpi.set_source('src.ratio', 'src_orders', 'ordered_at', 'branch', 'complaints', denominator => '1') IS NOT NULL AS set;
-- a date column: the day itself, in the company's zone
SELECT kpi.set_source('src.daily', 'src_orders', 'day', 'branch', 'amount', filter => $$status <> 'cancelled'$$) IS NOT NULL AS set;
SELECT code, sources IS NOT NULL AS computed FROM kpi.indicator WHERE code LIKE 'src.%' ORDER BY code;
-- the view a dashboard reads them from (not refreshed yet)
SELECT indicator, effective, until, source, time_column, scope_column, value, denominator, filter, lookback,
       owner, watermark, refreshed_at
FROM kpi.computed WHERE indicator IN ('src.sum', 'src.ratio', 'src.daily') ORDER BY indicator;

-- ---------------------------------------------------------------------
-- 3. Refresh against a direct GROUP BY of the source, every agg kind,
--    under another session zone and DateStyle than the company's
-- ---------------------------------------------------------------------
SET TimeZone = 'America/Los_Angeles';
SET DateStyle = 'SQL, DMY';
SELECT code, from_day, inserted, deleted FROM kpi.refresh() WHERE code LIKE 'src.%' ORDER BY code;
SET DateStyle = 'ISO';
SET TimeZone = 'UTC';
-- direct: the same figures per branch and month, straight from the rows
CREATE TEMP VIEW direct AS
SELECT i.code, o.branch, kpi.period(o.ordered_at, 'month', 'Asia/Shanghai') AS period,
       CASE i.code
           WHEN 'src.sum' THEN sum(o.amount) FILTER (WHERE o.status <> 'cancelled')
           WHEN 'src.daily' THEN sum(o.amount) FILTER (WHERE o.status <> 'cancelled')
           WHEN 'src.avg' THEN avg(o.amount)
           WHEN 'src.min' THEN min(o.amount)
           WHEN 'src.max' THEN max(o.amount)
           WHEN 'src.first' THEN (array_agg(o.amount ORDER BY o.ordered_at))[1]
           WHEN 'src.last' THEN (array_agg(o.amount ORDER BY o.ordered_at DESC))[1]
           WHEN 'src.count' THEN count(o.n_items)
           WHEN 'src.ratio' THEN sum(o.complaints)::numeric / count(*) END::float8 AS value
FROM public.src_orders o CROSS JOIN kpi.indicator i
WHERE i.code LIKE 'src.%' AND i.code <> 'src.t_avg'
GROUP BY 1, 2, 3;
CREATE TEMP VIEW compared AS
SELECT d.code, count(*) AS keys,
       count(*) FILTER (WHERE a.value IS NULL OR abs(a.value - d.value) > 1e-9 * greatest(abs(d.value), 1)) AS differ
FROM direct d
LEFT JOIN kpi.actual a ON a.indicator_id = kpi.indicator_id(d.code) AND a.scope_id = kpi.scope_id(d.branch)
                      AND a.period = d.period
GROUP BY d.code ORDER BY d.code;
SELECT * FROM compared;
-- the company rolls up both branches (the same figure kpi.rollup gives)
SELECT round(actual::numeric, 2) AS company_revenue_2026_q1,
       (SELECT round(sum(amount), 2) FROM src_orders WHERE status <> 'cancelled'
         AND ordered_at >= '2026-01-01 00:00+08' AND ordered_at < '2026-04-01 00:00+08') AS direct
FROM kpi.rollup('2026-Q1', 'src') WHERE code = 'src.sum';
SELECT * FROM kpi.verify();

-- idempotent: a second refresh changes nothing
SELECT code, inserted, deleted FROM kpi.refresh() WHERE code LIKE 'src.%' AND (inserted, deleted) <> (0, 0);
SELECT watermark FROM kpi.refresh_state WHERE indicator_id = kpi.indicator_id('src.sum');

-- ---------------------------------------------------------------------
-- 4. Late, updated and deleted source rows
-- ---------------------------------------------------------------------
-- the last day is 2026-04-12 (company time); the look-back is 3 days
SELECT max(timezone('Asia/Shanghai', ordered_at))::date AS last_day FROM src_orders;
-- inside the look-back: a late order, an amount corrected, an order deleted
INSERT INTO src_orders (id, branch, ordered_at, amount, complaints, status, n_items)
VALUES (5001, 'src.n', '2026-04-11 12:00+08', 1000, 0, 'paid', 1);
UPDATE src_orders SET amount = amount + 5 WHERE id = 1490;
DELETE FROM src_orders WHERE id = 1480;
-- outside it: an order of January
INSERT INTO src_orders (id, branch, ordered_at, amount, complaints, status, n_items)
VALUES (5002, 'src.s', '2026-01-20 12:00+08', 777, 0, 'paid', 1);
-- a row whose scope code is not a scope fails the refresh (23503), and changes nothing
INSERT INTO src_orders (id, branch, ordered_at, amount, complaints, status, n_items)
VALUES (5003, 'src.west', '2026-04-12 09:00+08', 5, 0, 'paid', 1);
SELECT kpi_try($$SELECT kpi.refresh('src.sum')$$) AS unknown_scope;
DELETE FROM src_orders WHERE id = 5003;
SELECT code, from_day, watermark, inserted, deleted FROM kpi.refresh('src.sum');
SELECT * FROM compared WHERE code = 'src.sum';
-- the January order is not read until the history is restated
SELECT d.period::text, d.value AS direct, a.value AS computed FROM direct d
JOIN kpi.actual a ON a.indicator_id = kpi.indicator_id('src.sum') AND a.scope_id = kpi.scope_id(d.branch) AND a.period = d.period
WHERE d.code = 'src.sum' AND d.branch = 'src.s' AND d.period = '2026-01'::kpi.period;
SELECT scope, period, reported_value, restated_value, reported_status, restated_status
FROM kpi.restate('src.sum', '2026-01-01');
SELECT * FROM compared WHERE code = 'src.sum';
SELECT s.code, r.period::text, r.reported_value, r.restated_value, r.from_day
FROM kpi.restatement r JOIN kpi.scope s ON s.id = r.scope_id ORDER BY r.period, s.code;
-- restating again finds nothing to change
SELECT count(*) AS changed FROM kpi.restate('src.sum', '2026-01-01');
SELECT kpi_try($$SELECT kpi.restate('src.sum', NULL)$$), kpi_try($$SELECT kpi.restate('src.sum', 'infinity')$$),
       kpi_try($$SELECT kpi.restate('src.t_avg', '2026-01-01')$$);

-- ---------------------------------------------------------------------
-- 5. A new definition from an effective date, and the dictionary's memory
-- ---------------------------------------------------------------------
-- from February, cancelled orders count too
SELECT (kpi.set_source('src.sum', 'src_orders', 'ordered_at', 'branch', 'amount', effective => '2026-02-01')) ->> 'effective' AS effective;
SELECT jsonb_array_length(sources) AS definitions, sources -> 0 ->> 'filter' AS filter_until_feb,
       sources -> 1 ->> 'filter' AS filter_from_feb FROM kpi.indicator WHERE code = 'src.sum';
SELECT effective, until, filter, watermark IS NOT NULL AS refreshed FROM kpi.computed WHERE indicator = 'src.sum' ORDER BY effective NULLS FIRST;
SELECT count(*) AS changed, min(period), max(period) FROM kpi.restate('src.sum', '2026-01-01');
-- January under the old definition, February under the new one
SELECT a.period::text, round(a.value::numeric, 2) AS computed,
       (SELECT round(sum(amount) FILTER (WHERE status <> 'cancelled' OR ordered_at >= '2026-02-01 00:00+08'), 2)
        FROM src_orders WHERE branch = 'src.n' AND kpi.period(ordered_at, 'month', 'Asia/Shanghai') = a.period) AS direct
FROM kpi.actual a
WHERE a.indicator_id = kpi.indicator_id('src.sum') AND a.scope_id = kpi.scope_id('src.n') AND kpi.grain(a.period) = 'month'
ORDER BY a.period;
-- the history keeps each version: one definition before, two after
SELECT count(*) FILTER (WHERE jsonb_typeof(h.new_row -> 'sources') = 'null') AS versions_by_hand,
       count(*) FILTER (WHERE jsonb_typeof(h.new_row -> 'sources') = 'array' AND jsonb_array_length(h.new_row -> 'sources') = 1) AS versions_with_one,
       count(*) FILTER (WHERE jsonb_typeof(h.new_row -> 'sources') = 'array' AND jsonb_array_length(h.new_row -> 'sources') = 2) AS versions_with_two
FROM kpi.indicator_history h WHERE h.indicator_id = kpi.indicator_id('src.sum');
SELECT jsonb_array_length(sources) AS definitions_as_of_now FROM kpi.indicator_as_of(now()) WHERE code = 'src.sum';
-- a value recorded by hand for a computed day is a problem kpi.verify names
SELECT kpi.record('src.sum', 'src.n', 1, '2026-02-03 12:00+08') IS NOT NULL AS recorded;
SELECT problem, indicator, scope FROM kpi.verify();
DELETE FROM kpi.measurement WHERE indicator_id = kpi.indicator_id('src.sum') AND source IS NULL;
SELECT * FROM kpi.verify();

-- ---------------------------------------------------------------------
-- 6. Rights: a definition reads what its owner may read, and no more
-- ---------------------------------------------------------------------
CREATE ROLE src_analyst;
GRANT USAGE ON SCHEMA kpi TO src_analyst;
GRANT SELECT, UPDATE ON kpi.indicator TO src_analyst;
GRANT SELECT ON kpi.scope TO src_analyst;
GRANT SELECT (id, branch, ordered_at, status) ON src_orders TO src_analyst;
SET ROLE src_analyst;
-- no SELECT on amount: refused when set
SELECT kpi_try($$SELECT kpi.set_source('src.max', 'src_orders', 'ordered_at', 'branch', 'amount')$$);
-- a definition written directly gets its writer as owner, not the one it names
UPDATE kpi.indicator SET sources = '[{"source": "public.src_orders", "at": "ordered_at", "scope": "branch", "value": "id", "owner": "postgres"}]'
WHERE code = 'src.max';
SELECT sources -> 0 ->> 'owner' AS owner FROM kpi.indicator WHERE code = 'src.max';
-- refresh, restate and the runner are the owner's to grant
SELECT kpi_try($$SELECT kpi.refresh()$$), kpi_try($$SELECT kpi.restate('src.max', '2026-01-01')$$),
       kpi_try($$SELECT kpi.source_run('10'::oid, 'SELECT 1')$$);
RESET ROLE;
-- refreshed by the owner of kpi, the definition still runs as src_analyst
SELECT code, inserted > 0 AS computed FROM kpi.refresh('src.max');
REVOKE SELECT (id) ON src_orders FROM src_analyst;
SELECT kpi_try($$SELECT kpi.refresh('src.max')$$);
-- row-level security of the source applies to the definition's owner
GRANT SELECT (id) ON src_orders TO src_analyst;
ALTER TABLE src_orders ENABLE ROW LEVEL SECURITY;
CREATE POLICY north_only ON src_orders TO src_analyst USING (branch = 'src.n');
SELECT count(*) > 0 AS restated FROM kpi.restate('src.max', '2026-01-01');
SELECT DISTINCT s.code FROM kpi.measurement m JOIN kpi.scope s ON s.id = m.scope_id
WHERE m.indicator_id = kpi.indicator_id('src.max');
ALTER TABLE src_orders DISABLE ROW LEVEL SECURITY;
-- a function that lies about being immutable cannot write: the query is read-only
CREATE FUNCTION public.src_sneaky(x numeric) RETURNS numeric LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
    INSERT INTO kpi.scope (code, name) VALUES ('src.evil', 'Evil');
    RETURN x;
END
$$;
SELECT kpi.set_source('src.min', 'src_orders', 'ordered_at', 'branch', 'public.src_sneaky(amount)') IS NOT NULL AS set;
SELECT kpi_try($$SELECT kpi.refresh('src.min')$$);
SELECT count(*) AS evil_scopes FROM kpi.scope WHERE code = 'src.evil';
-- nor can an owner be written over: an unchanged definition keeps its own
SELECT kpi.set_source('src.min', 'src_orders', 'ordered_at', 'branch', 'amount') IS NOT NULL AS set;
UPDATE kpi.indicator SET sources = jsonb_set(sources, '{0,owner}', '"src_gone"') WHERE code = 'src.min';
SELECT sources -> 0 ->> 'owner' AS kept_owner FROM kpi.indicator WHERE code = 'src.min';
-- a definition whose owner was dropped fails with a clear error, rather
-- than run with anyone else's rights
CREATE ROLE src_temp;
GRANT USAGE ON SCHEMA kpi TO src_temp;
GRANT SELECT, UPDATE ON kpi.indicator TO src_temp;
GRANT SELECT ON kpi.scope TO src_temp;
GRANT SELECT ON src_orders TO src_temp;
SET ROLE src_temp;
SELECT kpi.set_source('src.min', 'src_orders', 'ordered_at', 'branch', 'amount') ->> 'owner' AS owner;
RESET ROLE;
REVOKE ALL ON kpi.indicator, kpi.scope, src_orders FROM src_temp;
REVOKE ALL ON SCHEMA kpi FROM src_temp;
DROP ROLE src_temp;
SELECT kpi_try($$SELECT kpi.refresh('src.min')$$) AS owner_gone;
SELECT kpi.drop_source('src.min');
SELECT sources FROM kpi.indicator WHERE code = 'src.min';
ROLLBACK;
