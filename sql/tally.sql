-- tally: kpi.tally, its aggregates, merging, kpi.value, text and binary forms,
-- exactness of the compensated sums and parallel plans.
SET search_path = kpi, public;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';

-- every object of the tally has a comment
SELECT m.object
FROM public.kpi_member m
WHERE m.object ~ '(tally|agg_kind|kpi\.merge|kpi\.value|first_at|last_at)'
  AND obj_description(m.objid, m.classid::regclass::name) IS NULL;

-- functions and aggregates: volatility, strictness, parallel safety
SELECT p.oid::regprocedure AS function, p.prokind, p.provolatile, p.proisstrict, p.proparallel
FROM pg_proc p
WHERE p.pronamespace = 'kpi'::regnamespace
  AND (p.proname IN ('tally', 'tally_add', 'merge', 'value', 'first_at', 'last_at')
       OR p.proname LIKE 'tally\_%')
ORDER BY p.proname, p.pronargs, p.oid::regprocedure::text;

-- aggregates: state type kpi.tally, combine function, no serial functions
SELECT a.aggfnoid::regprocedure AS aggregate, a.aggtransfn, a.aggcombinefn,
       a.aggtranstype::regtype, a.agginitval, a.aggserialfn, a.aggdeserialfn
FROM pg_aggregate a
WHERE a.aggfnoid::regproc::text IN ('tally', 'merge', 'kpi.tally', 'kpi.merge')
ORDER BY 1::text;

SELECT enum_range(NULL::agg_kind);

-- ---------------------------------------------------------------------
-- empty and all-NULL input
-- ---------------------------------------------------------------------
CREATE TEMP TABLE nothing (v float8, d float8, at timestamptz);
SELECT tally(v) AS one_arg, tally(v, at) AS timed, tally(v, d, at) AS ratio
FROM nothing;
INSERT INTO nothing VALUES (NULL, NULL, NULL), (NULL, 1, now()), (1, NULL, NULL);
-- NULL value, NULL time or NULL denominator: the row is skipped
SELECT tally(v, at) AS timed, tally(v, d, at) AS ratio FROM nothing;
SELECT tally(v) FROM nothing;   -- only the (1, NULL, NULL) row counts
SELECT k, value('count=0', k) FROM unnest(enum_range(NULL::agg_kind)) k;
SELECT merge(t) FROM (VALUES (NULL::tally), (NULL)) s(t);
SELECT merge(t) FROM (SELECT 'count=0'::tally WHERE false) s(t);
SELECT first_at('count=0'), last_at('count=0'), value(NULL, 'sum'), value('count=0', NULL);

-- ---------------------------------------------------------------------
-- every kind, checked against plain SQL
-- ---------------------------------------------------------------------
CREATE TEMP TABLE m (day date, v float8, d float8, at timestamptz);
INSERT INTO m VALUES
    ('2026-07-01', 10,  20, '2026-07-01 09:00+00'),
    ('2026-07-01', 30,  40, '2026-07-01 18:00+00'),
    ('2026-07-02', 5,   50, '2026-07-02 08:00+00'),
    ('2026-07-02', 7.5, 0,  '2026-07-02 12:00+00'),
    ('2026-07-03', -2,  10, '2026-07-03 07:30+00'),
    ('2026-07-03', 40,  80, '2026-07-03 23:59:59.999999+00');
SELECT tally(v, at) FROM m;
SELECT k, value(t, k) FROM (SELECT tally(v, d, at) AS t FROM m) s,
       unnest(enum_range(NULL::agg_kind)) k;
SELECT sum(v), avg(v), min(v), max(v), count(v), sum(v) / sum(d) AS ratio,
       (array_agg(v ORDER BY at))[1] AS first, (array_agg(v ORDER BY at DESC))[1] AS last
FROM m;
SELECT first_at(tally(v, at)), last_at(tally(v, at)) FROM m;
-- one argument: no times, so first and last are unknown
SELECT t, value(t, 'first') AS first, value(t, 'last') AS last, first_at(t), last_at(t),
       value(t, 'avg') AS avg
FROM (SELECT tally(v) AS t FROM m) s;

-- ratio input: the numerator is the value; ratio = sum(num) / sum(den)
SELECT tally(v, d, at) FROM m;
-- a ratio rolled up is not the average of the daily ratios
SELECT round(value(merge(t), 'ratio')::numeric, 6) AS ratio_of_sums,
       round(avg(value(t, 'ratio'))::numeric, 6) AS average_of_ratios
FROM (SELECT day, tally(v, d, at) AS t FROM m GROUP BY day) s;
-- zero denominators: ratio NULL when the denominator sum is 0, whatever the numerator
SELECT t, value(t, 'ratio') AS ratio, value(t, 'sum') AS sum
FROM (VALUES (tally_add('count=0', 3, 0, '2026-07-01')),
             (tally_add(tally_add('count=0', 3, 2, '2026-07-01'), 1, -2, '2026-07-02')),
             (tally_add('count=0', 0, 0, '2026-07-01')),
             (tally_add('count=0', 0, 4, '2026-07-01')),
             (tally_add('count=0', -3, 4, '2026-07-01'))) s(t);
SELECT tally(n, d, at) FROM (VALUES (1, 0, '2026-07-01'::timestamptz), (2, 0, '2026-07-02')) s(n, d, at);
-- plain and ratio rows merged: the ratio covers the rows that had a denominator
SELECT t, value(t, 'ratio') AS ratio
FROM (SELECT tally(v, at) + tally(v, d, at) AS t FROM m WHERE day = '2026-07-01') s;

-- ---------------------------------------------------------------------
-- first and last: ties in time and row order
-- ---------------------------------------------------------------------
CREATE TEMP TABLE ties (v float8, at timestamptz);
INSERT INTO ties VALUES (5, '2026-07-01'), (3, '2026-07-01'), (4, '2026-07-01'),
                        (9, '2026-07-05'), (1, '2026-07-05'), (7, '2026-07-05');
-- first takes the smaller value of the earliest time, last the larger of the latest
SELECT tally(v, at ORDER BY v) AS ascending FROM ties;
SELECT tally(v, at ORDER BY v)::text = tally(v, at ORDER BY v DESC)::text AS same_either_way
FROM ties;
-- one time for every row: first = min, last = max
SELECT value(t, 'first') AS first, value(t, 'last') AS last
FROM (SELECT tally(v, '2026-07-01') AS t FROM ties) s;
-- -0 and +0: min takes -0, max +0, whatever comes first
SELECT tally(v, '2026-07-01' ORDER BY o) AS minus_zero_first, tally(v, '2026-07-01' ORDER BY -o) AS plus_zero_first
FROM (VALUES (1, '-0'::float8), (2, '0')) s(o, v);

-- no result depends on row order: many orders, one tally
CREATE TEMP TABLE mixed AS
SELECT i, ((i * 7919) % 1001 - 500) / 100.0 AS v,
       timestamptz '2026-07-01' + ((i * 37) % 50) * interval '1 hour' AS at,
       ((i * 13) % 7 + 1)::float8 AS d
FROM generate_series(1, 5000) i;
SELECT count(DISTINCT t::text) AS distinct_tallies, min(t::text) AS tally
FROM (SELECT tally(v, at ORDER BY i) AS t FROM mixed
      UNION ALL SELECT tally(v, at ORDER BY i DESC) FROM mixed
      UNION ALL SELECT tally(v, at ORDER BY md5(i::text)) FROM mixed
      UNION ALL SELECT tally(v, at ORDER BY v, at) FROM mixed
      UNION ALL SELECT tally(v, at ORDER BY at DESC, v) FROM mixed) s;
-- and it agrees with plain SQL (ties broken the same way)
SELECT value(t, 'first') = f AS first_ok, value(t, 'last') = l AS last_ok,
       value(t, 'min') = mn AND value(t, 'max') = mx AND value(t, 'count') = n AS min_max_count_ok,
       first_at(t) = fa AND last_at(t) = la AS times_ok
FROM (SELECT tally(v, at) AS t,
             (array_agg(v ORDER BY at, v))[1] AS f, (array_agg(v ORDER BY at DESC, v DESC))[1] AS l,
             min(at) AS fa, max(at) AS la, min(v) AS mn, max(v) AS mx, count(*) AS n
      FROM mixed) s;
SELECT count(DISTINCT t::text) AS distinct_ratio_tallies
FROM (SELECT tally(v, d, at ORDER BY i) AS t FROM mixed
      UNION ALL SELECT tally(v, d, at ORDER BY md5(i::text)) FROM mixed
      UNION ALL SELECT tally(v, d, at ORDER BY v DESC) FROM mixed) s;

-- ---------------------------------------------------------------------
-- merging: associative and commutative, empty is the identity
-- ---------------------------------------------------------------------
-- merge of merges = one tally: hourly tallies -> daily -> all, against all rows at once
SELECT (SELECT merge(t) FROM (SELECT day, merge(t) AS t
                              FROM (SELECT date_trunc('day', at) AS day, tally(v, at) AS t
                                    FROM mixed GROUP BY at) h
                              GROUP BY day) dd)::text
       = (SELECT tally(v, at) FROM mixed)::text AS merge_of_merges_equals_one_tally;
-- the same by explicit buckets, in different groupings
WITH b AS (SELECT i % 10 AS k, tally(v, d, at) AS t FROM mixed GROUP BY i % 10)
SELECT (SELECT merge(t ORDER BY k) FROM b)::text = (SELECT tally(v, d, at) FROM mixed)::text AS buckets,
       (SELECT merge(t ORDER BY k DESC) FROM b)::text = (SELECT merge(t ORDER BY k) FROM b)::text AS reversed,
       (SELECT merge(x) FROM (SELECT merge(t) AS x FROM b GROUP BY k % 3) y)::text
           = (SELECT merge(t) FROM b)::text AS regrouped;
WITH p AS (SELECT tally(v, at) FILTER (WHERE i % 3 = 0) AS a,
                  tally(v, at) FILTER (WHERE i % 3 = 1) AS b,
                  tally(v, at) FILTER (WHERE i % 3 = 2) AS c FROM mixed)
SELECT ((a + b) + c)::text = (a + (b + c))::text AS associative,
       (a + b)::text = (b + a)::text AS commutative,
       (a + 'count=0')::text = a::text AND ('count=0' + a)::text = a::text AS identity,
       merge(a, b)::text = (a + b)::text AS merge_is_plus
FROM p;
SELECT 'count=0'::tally + 'count=0' AS empty_plus_empty, NULL::tally + 'count=0' AS null_plus;
SELECT 'count=9223372036854775807, sum=1, min=1, max=1'::tally + 'count=1, sum=1, min=1, max=1';
-- an untimed tally merged with a timed one: first and last become unknown
SELECT tally(v) + tally(v, at) AS untimed FROM m;
SELECT oprname, oprcom::regoperator FROM pg_operator
WHERE oprleft = 'tally'::regtype AND oprright = 'tally'::regtype;

-- called directly, transition functions do not change their argument
SELECT t, tally_add(t, 5) AS added, tally_add(t, 5, '2026-07-01') AS added_at, merge(t, t) AS doubled
FROM (SELECT 'count=1, sum=1, min=1, max=1'::tally AS t) s;
-- running tallies (window aggregate)
SELECT at, tally(v, at) OVER (ORDER BY at) AS running FROM m WHERE day = '2026-07-01';

-- ---------------------------------------------------------------------
-- non-finite values: Infinity and NaN propagate into the sum as in float8;
-- min/max order: -Infinity < ... < -0 < +0 < ... < Infinity < NaN
-- ---------------------------------------------------------------------
SELECT tally(v, '2026-07-01') FROM (VALUES (1), ('Infinity'::float8)) s(v);
SELECT tally(v, '2026-07-01') FROM (VALUES ('-Infinity'::float8), ('Infinity')) s(v);
SELECT tally(v, '2026-07-01') FROM (VALUES (1), ('NaN'::float8), (-5)) s(v);
SELECT tally(v) FROM (VALUES (-('NaN'::float8))) s(v);
SELECT sum(v) AS native_sum, max(v) AS native_max, value(tally(v), 'sum') AS sum,
       value(tally(v), 'max') AS max, value(tally(v), 'avg') AS avg
FROM (VALUES (1), ('NaN'::float8)) s(v);
-- overflow gives Infinity rather than an error
SELECT tally(v) FROM (VALUES (1.7976931348623157e308), (1.7976931348623157e308)) s(v);
SELECT tally(v) FROM (VALUES (5e-324), (1.7976931348623157e308), (-1.7976931348623157e308)) s(v);
SELECT tally(v, at) FROM (VALUES (1, '-infinity'::timestamptz), (2, 'infinity')) s(v, at);

-- ---------------------------------------------------------------------
-- compensated sums: kpi.value(t, 'sum') is the correctly rounded sum of the
-- float8 inputs.  The reference: each double is exactly mantissa * 2^e, so
-- the mantissas summed per exponent and scaled in numeric give the exact sum,
-- rounded once by the cast to float8 (normal numbers only, enough here).
-- ---------------------------------------------------------------------
CREATE FUNCTION pg_temp.exact_sum(query text) RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    result float8;
BEGIN
    EXECUTE format($q$
        WITH bits AS (
            SELECT ('x' || encode(float8send(v), 'hex'))::bit(64)::bigint AS b
            FROM (%s) q(v) WHERE v <> 0),
        parts AS (
            SELECT (b >> 52) & 2047 AS e,
                   sum(CASE WHEN b < 0 THEN -1 ELSE 1 END
                       * ((b & 4503599627370495) | 4503599627370496)::numeric) AS m
            FROM bits GROUP BY 1)
        SELECT coalesce(sum(CASE WHEN e >= 1075 THEN m * 2::numeric ^ (e - 1075)
                                 ELSE m * 5::numeric ^ (1075 - e) * ('1e-' || (1075 - e))::numeric
                            END), 0)::float8
        FROM parts$q$, query) INTO result;
    RETURN result;
END $$;
-- two million values with two decimals: sum(float8) drifts, the tally does not;
-- for these values the sum of the decimals rounds to the same double
SET max_parallel_workers_per_gather = 0;
CREATE TEMP VIEW two_decimals AS
SELECT (((i::bigint * 7919) % 200001 - 100000)::numeric / 100)::float8 AS v
FROM generate_series(1, 2000000) i;
SELECT value(tally(v), 'sum') = pg_temp.exact_sum('SELECT v FROM two_decimals') AS tally_sum_exact,
       value(tally(v), 'sum') = sum(v::numeric)::float8 AS tally_sum_is_numeric_sum,
       sum(v) = sum(v::numeric)::float8 AS float8_sum_exact,
       sum(v::numeric) AS numeric_sum, value(tally(v), 'sum') AS tally_sum, sum(v) AS float8_sum,
       value(tally(v), 'avg') = (sum(v::numeric) / 2000000)::float8 AS avg_exact
FROM two_decimals;
-- the sum of the doubles is not always the sum of the decimals they stand
-- for: here the tally is exact for the doubles, and sum(float8) is neither
SELECT pg_temp.exact_sum('SELECT v FROM two_decimals LIMIT 100000') AS exact_sum_of_doubles,
       (SELECT value(tally(v), 'sum') FROM (SELECT v FROM two_decimals LIMIT 100000) s) AS tally_sum,
       (SELECT sum(v::numeric) FROM (SELECT v FROM two_decimals LIMIT 100000) s) AS sum_of_decimals,
       (SELECT sum(v) FROM (SELECT v FROM two_decimals LIMIT 100000) s) AS float8_sum;
SELECT value(tally(v), 'sum') = pg_temp.exact_sum('SELECT v FROM mixed') AS mixed_sum_exact
FROM mixed;
-- the textbook case: 0.1 + 0.2 - 0.3 as decimals is 0, as doubles it is not,
-- and the tally keeps the exact difference; 1e100 + 1 - 1e100 keeps the 1
SELECT tally(v ORDER BY o), value(tally(v ORDER BY o), 'sum'), sum(v ORDER BY o)
FROM (VALUES (1, 0.1::float8), (2, 0.2), (3, -0.3)) s(o, v);
SELECT value(tally(v ORDER BY o), 'sum') AS tally_sum, sum(v ORDER BY o) AS float8_sum
FROM (VALUES (1, 1e100::float8), (2, 1), (3, -1e100)) s(o, v);
-- merging keeps the compensation: sum of a thousand 0.01 tallies
SELECT value(merge(t), 'sum') AS merged_sum, sum(value(t, 'sum')) AS float8_sum_of_sums
FROM (SELECT tally(0.01) AS t FROM generate_series(1, 1000) i GROUP BY i) s;

-- ---------------------------------------------------------------------
-- text form: exact round trips, whatever TimeZone and DateStyle say
-- ---------------------------------------------------------------------
CREATE TEMP TABLE samples (name text, t tally);
INSERT INTO samples
SELECT 'empty', 'count=0'
UNION ALL SELECT 'untimed', tally(v) FROM m
UNION ALL SELECT 'timed', tally(v, at) FROM m
UNION ALL SELECT 'ratio', tally(v, d, at) FROM m
UNION ALL SELECT 'mixed', tally(v, d, at) FROM mixed
UNION ALL SELECT 'remainder', tally(v) FROM (VALUES (0.1::float8), (0.2), (1e-20)) s(v)
UNION ALL SELECT 'extremes', tally(v, at) FROM (VALUES (5e-324::float8, '4713-01-01 00:00:00+00 BC'::timestamptz),
                                                    (1.7976931348623157e308, '294276-12-31 23:59:59.999999+00'),
                                                    (-2.2250738585072014e-308, '2000-02-29 12:34:56.000001+00')) s(v, at)
UNION ALL SELECT 'infinite times', tally(v, at) FROM (VALUES (1, '-infinity'::timestamptz), (2, 'infinity')) s(v, at)
UNION ALL SELECT 'nan', tally(v, at) FROM (VALUES ('NaN'::float8, '2026-07-01'::timestamptz), ('-Infinity', '2026-07-01')) s(v, at);
SELECT name, t FROM samples ORDER BY name;
SELECT name, t::text::tally::text = t::text AS round_trip,
       tally_send(t::text::tally) = tally_send(t) AS same_binary
FROM samples ORDER BY name;
SET TimeZone = 'Asia/Shanghai';
SET DateStyle = 'SQL, DMY';
SELECT name, t::text::tally::text = t::text AS round_trip FROM samples ORDER BY name;
SELECT t FROM samples WHERE name = 'timed';   -- still UTC, still ISO
SELECT first_at(t), last_at(t) FROM samples WHERE name = 'timed';   -- session zone and style
RESET TimeZone;
RESET DateStyle;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO, YMD';
-- accepted on input: any key order, free spaces, other offsets, a T, Z; canonical on output
SELECT ' max = 3 ,min=1,count= 2 ,sum=4,last=3 at 2026-07-01T10:00:00+02:00,first=1 at 2026-07-01 07:00:00Z '::tally;
SELECT 'count=2, sum=1 + 0.5, min=0.5, max=1'::tally;   -- the remainder is normalized
SELECT 'count=1, sum=-0, min=-0, max=-0'::tally, 'count=1, sum=1e3, min=1000.0, max=1E3'::tally;
SELECT 'count=3, sum=6, min=1, max=3, num=1, den=4'::tally;
SELECT 'count=2, sum=2, min=1, max=1, first=1 at 0044-03-15 12:00:00+00 BC, last=1 at 0044-03-15 12:00:00-01:30 BC'::tally;

-- ---------------------------------------------------------------------
-- garbage text: 22P02, with a detail saying what is wrong
-- ---------------------------------------------------------------------
SELECT 'count=1, sum=1, min=2, max=1'::tally;
SELECT 'count=1, sum=1, min=1, max=1 junk'::tally;
CREATE FUNCTION pg_temp.try(s text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM s::kpi.tally;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    DECLARE
        detail text;
    BEGIN
        GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL;
        RETURN SQLSTATE || ' ' || coalesce(detail, SQLERRM);
    END;
END $$;
SELECT s AS input, pg_temp.try(s) AS result FROM (VALUES
    (''), ('   '), ('count'), ('count='), ('count=x'), ('count=-1'), ('count=1.5'),
    ('count=99999999999999999999'), ('count=0,'), ('count=0, count=0'), ('Count=0'),
    ('count=0, sum=0'), ('sum=1, min=1, max=1'), ('count=1'), ('count=1, sum=1, min=1'),
    ('count=1, sum=1, min=1, max=1, mean=1'), ('count=1; sum=1, min=1, max=1'),
    ('count=1, sum=one, min=1, max=1'), ('count=1, sum=1, min=1, max=1e999'),
    ('count=1, sum=1 +, min=1, max=1'), ('count=1, sum=1 + -1, min=1, max=1'),
    ('count=1, sum=Infinity + 1, min=1, max=1'), ('count=1, sum=1 + NaN, min=1, max=1'),
    ('count=1, sum=1, min=1, max=2'), ('count=2, sum=3, min=2, max=1'),
    ('count=1, sum=1, min=1, max=1, first=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, num=1'),
    ('count=1, sum=1, min=1, max=1, first=1, last=1'),
    ('count=1, sum=1, min=1, max=1, first=1 at, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 2026-07-01 00:00:00, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 2026-07-01 00:00+00, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 2026-02-30 00:00:00+00, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 2026-07-01 24:00:00+00, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 2026-07-01 00:00:00.1234567+00, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 2026-07-01 00:00:00+25, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 0000-07-01 00:00:00+00, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 4714-01-01 00:00:00+00 BC, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 2026-07-01 00:00:00+00 AD, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at now, last=1 at 2026-07-01 00:00:00+00'),
    ('count=1, sum=1, min=1, max=1, first=1 at 2026-07-01 00:00:00+00, last=1 at 2026-07-02 00:00:00+00'),
    ('count=2, sum=3, min=1, max=2, first=1 at 2026-07-02 00:00:00+00, last=2 at 2026-07-01 00:00:00+00'),
    ('count=2, sum=3, min=1, max=2, first=3 at 2026-07-01 00:00:00+00, last=2 at 2026-07-02 00:00:00+00'),
    ('count=2, sum=3, min=1, max=2, first=2 at 2026-07-01 00:00:00+00, last=1 at 2026-07-01 00:00:00+00'),
    ('count=2, sum=3, min=1, max=2, first=1 at 2026-07-01 00:00:00+00, last=2 at 2026-07-01 00:00:00+00')
) v(s);

-- ---------------------------------------------------------------------
-- binary form: COPY BINARY round trip (send and recv), and recv validation.
-- A bytea's binary form is its bytes, so COPY of a crafted bytea feeds recv.
-- ---------------------------------------------------------------------
\copy (SELECT name, t FROM samples ORDER BY name) TO 'results/tally.bin' WITH (FORMAT binary)
CREATE TEMP TABLE samples_back (name text, t tally);
\copy samples_back FROM 'results/tally.bin' WITH (FORMAT binary)
SELECT s.name, b.t::text = s.t::text AS same
FROM samples s JOIN samples_back b USING (name) ORDER BY s.name;
SELECT length(tally_send('count=0')) AS bytes, tally_send('count=0');
SELECT tally_send('count=1, sum=1, min=1, max=1, first=1 at 2000-01-01 00:00:00+00, last=1 at 2000-01-01 00:00:00+00');
CREATE TEMP TABLE bad_binary (name text, b bytea);
-- version, flags, count, then sum, remainder, min, max, first_at, first,
-- last_at, last, num, its remainder, den, its remainder (big-endian)
INSERT INTO bad_binary (name, b)
SELECT name, decode(hex, 'hex') FROM (VALUES
    ('version 2',     '02' || repeat('0', 210)),
    ('unknown flag',  '0102' || repeat('0', 208)),
    ('count -1',      '0100ffffffffffffffff' || repeat('0', 192)),
    ('empty, sum 1',  '01000000000000000000' || '3ff0000000000000' || repeat('0', 176)),
    ('min > max',     '01000000000000000001' || '3ff0000000000000' || '0000000000000000' || '4000000000000000' || '3ff0000000000000'
                      || '0000000000000000' || '3ff0000000000000' || '0000000000000000' || '3ff0000000000000' || repeat('0', 64)),
    ('bad time',      '01000000000000000001' || '3ff0000000000000' || '0000000000000000' || '3ff0000000000000' || '3ff0000000000000'
                      || '7000000000000000' || '3ff0000000000000' || '7000000000000000' || '3ff0000000000000' || repeat('0', 64)),
    ('NaN remainder', '01000000000000000001' || '3ff0000000000000' || '7ff8000000000000' || '3ff0000000000000' || '3ff0000000000000'
                      || '0000000000000000' || '3ff0000000000000' || '0000000000000000' || '3ff0000000000000' || repeat('0', 64)),
    ('short',         '0100000000000000000000'),
    ('valid',         '01000000000000000001' || '3ff0000000000000' || '0000000000000000' || '3ff0000000000000' || '3ff0000000000000'
                      || '0000000000000000' || '3ff0000000000000' || '0000000000000000' || '3ff0000000000000' || repeat('0', 64))
) v(name, hex);
SELECT name, length(b) AS bytes FROM bad_binary ORDER BY name;
\copy (SELECT b FROM bad_binary WHERE name = 'valid') TO 'results/tally_valid.bin' WITH (FORMAT binary)
CREATE TEMP TABLE recv_target (t tally);
\copy recv_target FROM 'results/tally_valid.bin' WITH (FORMAT binary)
SELECT t FROM recv_target;
\copy (SELECT b FROM bad_binary WHERE name = 'version 2') TO 'results/tally_bad.bin' WITH (FORMAT binary)
\copy recv_target FROM 'results/tally_bad.bin' WITH (FORMAT binary)
\copy (SELECT b FROM bad_binary WHERE name = 'unknown flag') TO 'results/tally_bad.bin' WITH (FORMAT binary)
\copy recv_target FROM 'results/tally_bad.bin' WITH (FORMAT binary)
\copy (SELECT b FROM bad_binary WHERE name = 'count -1') TO 'results/tally_bad.bin' WITH (FORMAT binary)
\copy recv_target FROM 'results/tally_bad.bin' WITH (FORMAT binary)
\copy (SELECT b FROM bad_binary WHERE name = 'empty, sum 1') TO 'results/tally_bad.bin' WITH (FORMAT binary)
\copy recv_target FROM 'results/tally_bad.bin' WITH (FORMAT binary)
\copy (SELECT b FROM bad_binary WHERE name = 'min > max') TO 'results/tally_bad.bin' WITH (FORMAT binary)
\copy recv_target FROM 'results/tally_bad.bin' WITH (FORMAT binary)
\copy (SELECT b FROM bad_binary WHERE name = 'bad time') TO 'results/tally_bad.bin' WITH (FORMAT binary)
\copy recv_target FROM 'results/tally_bad.bin' WITH (FORMAT binary)
\copy (SELECT b FROM bad_binary WHERE name = 'NaN remainder') TO 'results/tally_bad.bin' WITH (FORMAT binary)
\copy recv_target FROM 'results/tally_bad.bin' WITH (FORMAT binary)
\copy (SELECT b FROM bad_binary WHERE name = 'short') TO 'results/tally_bad.bin' WITH (FORMAT binary)
\copy recv_target FROM 'results/tally_bad.bin' WITH (FORMAT binary)
SELECT count(*) AS rows_received FROM recv_target;

-- ---------------------------------------------------------------------
-- kpi.value: every kind, NULL kind, and a kind kept per row (cache)
-- ---------------------------------------------------------------------
SELECT k, value(t, k) AS value
FROM (SELECT tally(v, d, at) AS t FROM m) s, unnest(enum_range(NULL::agg_kind)) k
ORDER BY k;
SELECT day, k, value(tally(v, d, at), k)
FROM m, (VALUES ('sum'::agg_kind), ('last'), ('ratio')) ks(k)
GROUP BY day, k ORDER BY day, k;
SELECT value(tally(v, at), 'median') FROM m;

-- ---------------------------------------------------------------------
-- parallel query: Partial Aggregate, and the same tally as a serial plan
-- ---------------------------------------------------------------------
CREATE TABLE tally_big AS
SELECT i, ((i % 1000) * 0.125 - 40)::float8 AS v, ((i % 17) * 0.5)::float8 AS d,
       (((i::bigint * 7919) % 200001 - 100000)::numeric / 100)::float8 AS w,
       timestamptz '2026-07-01' + (i % 5000) * interval '1 minute' AS at,
       i % 4 AS region
FROM generate_series(1, 100000) i;
ANALYZE tally_big;
SET max_parallel_workers_per_gather = 0;
CREATE TEMP TABLE serial AS
SELECT (SELECT tally(v, at) FROM tally_big)::text AS timed,
       (SELECT tally(v, d, at) FROM tally_big)::text AS ratio,
       (SELECT tally(v) FROM tally_big)::text AS untimed,
       (SELECT merge(t) FROM (SELECT tally(v, at) AS t FROM tally_big GROUP BY region) r)::text AS merged,
       (SELECT tally(w, at) FROM tally_big)::text AS two_decimals;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT tally(v, at) FROM tally_big;
SELECT (SELECT tally(v, at) FROM tally_big)::text = timed AS timed_equal,
       (SELECT tally(v, d, at) FROM tally_big)::text = ratio AS ratio_equal,
       (SELECT tally(v) FROM tally_big)::text = untimed AS untimed_equal,
       (SELECT merge(t) FROM (SELECT tally(v, at) AS t FROM tally_big GROUP BY region) r)::text = merged AS merged_equal
FROM serial;
-- values with two decimals: the same value in parallel as serially, the exact one
SELECT value((SELECT tally(w, at) FROM tally_big), 'sum') = value(two_decimals::tally, 'sum') AS same_sum,
       value((SELECT tally(w, at) FROM tally_big), 'sum') = pg_temp.exact_sum('SELECT w FROM tally_big') AS exact,
       value(two_decimals::tally, 'sum') AS sum
FROM serial;
SELECT tally(v, at) FROM tally_big;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
DROP TABLE tally_big;

-- a negative zero sum reads as +0 with or without a remainder: equal
-- values have equal bytes after a text round trip (found by fuzzing)
SELECT kpi.tally_send('count=1, sum=-0, min=-0, max=-0'::kpi.tally)
     = kpi.tally_send('count=1, sum=-0 + 0, min=-0, max=-0'::kpi.tally) AS same_bytes,
       kpi.tally_send('count=1, sum=-0, min=-0, max=-0'::kpi.tally)
     = kpi.tally_send(('count=1, sum=-0, min=-0, max=-0'::kpi.tally)::text::kpi.tally) AS round_trip;
SELECT kpi.tally_send('count=1, sum=-0 - 0, min=-0, max=-0'::kpi.tally)
     = kpi.tally_send('count=1, sum=0, min=-0, max=-0'::kpi.tally) AS zero_remainder_too;
