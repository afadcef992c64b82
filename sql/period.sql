-- kpi.period: text forms, errors, accessors, arithmetic, containment,
-- ordering, operator classes, casts, progress and enumeration.

-- operators live in schema kpi: qualified, they work without search_path
SELECT '2026-07'::kpi.period OPERATOR(kpi.+) 1 AS next_month;
SET search_path = kpi, public;
SET datestyle = ISO;

-- every text form, input case-insensitive, output canonical
SELECT p::period, grain(p::period), start_date(p::period), end_date(p::period)
FROM (VALUES ('2026'), ('2026-h1'), ('2026-H2'), ('2026-q1'), ('2026-Q4'),
             ('2026-02'), ('2026-12'), ('2026-w01'), ('2026-W53'), ('2026-07-15'),
             ('  2024-02-29  '), ('0001'), ('9999-12-31'), ('0001-W01'), ('9999-W52')) v(p);

-- text round trip is exact
SELECT p, p::period::text = upper(p) AS round_trips
FROM (VALUES ('2026'), ('2026-H2'), ('2026-Q3'), ('2026-07'), ('2026-W05'), ('2026-07-15')) v(p);

-- malformed text: 22007 with the accepted forms
\set VERBOSITY default
SELECT ''::period;
SELECT '26'::period;
SELECT '2026-7'::period;
SELECT '2026-Q'::period;
SELECT '2026-Q12'::period;
SELECT '2026-W5'::period;
SELECT '2026-07-1'::period;
SELECT '2026-07-15x'::period;
SELECT '2026-07 x'::period;
SELECT '2026/07'::period;
SELECT '2026-M07'::period;
SELECT '-2026'::period;
SELECT '12026'::period;
SELECT '2026-07-15T00:00'::period;
\set VERBOSITY sqlstate
SELECT 'junk'::period;
-- well formed but impossible: 22008
\set VERBOSITY default
SELECT '0000'::period;
SELECT '2026-13'::period;
SELECT '2026-00'::period;
SELECT '2026-Q5'::period;
SELECT '2026-Q0'::period;
SELECT '2026-H3'::period;
SELECT '2026-W00'::period;
SELECT '2026-W54'::period;
SELECT '2027-W53'::period;
SELECT '2026-02-29'::period;
SELECT '2026-04-31'::period;
SELECT '2026-01-00'::period;
\set VERBOSITY sqlstate
SELECT '2026-02-30'::period;
SELECT '2027-W53'::period;
\set VERBOSITY default

-- leap years: 2024 and 2000 are, 1900 and 2100 are not
SELECT '2024-02-29'::period, '2000-02-29'::period;
SELECT '1900-02-29'::period;
SELECT '2100-02-29'::period;
SELECT end_date('2024-02'), end_date('2100-02'), end_date('2000-Q1'), end_date('1900-H1');

-- ISO weeks agree with PostgreSQL's own IYYY-IW for every day of 1999..2032
SELECT count(*) AS days, count(*) FILTER (
         WHERE period(d::date, 'week')::text <> to_char(d, 'IYYY-"W"IW')) AS mismatches
FROM generate_series('1999-01-01'::date, '2032-12-31', '1 day') d;
-- and the week starts on the Monday and ends on the Sunday
SELECT count(*) FILTER (WHERE extract(isodow FROM start_date(period(d::date, 'week'))) <> 1
                           OR end_date(period(d::date, 'week')) - start_date(period(d::date, 'week')) <> 6) AS bad
FROM generate_series('2015-12-01'::date, '2027-01-31', '1 day') d;
-- years with 53 ISO weeks between 2000 and 2040
SELECT string_agg(y::text, ' ' ORDER BY y) AS years_with_w53
FROM generate_series(2000, 2040) y
WHERE extract(week FROM make_date(y, 12, 28)) = 53;
-- year boundaries of weeks
SELECT d, period(d, 'week') AS week, period(d, 'year') AS year
FROM (VALUES (date '2020-12-31'), ('2021-01-03'), ('2021-01-04'), ('2024-12-30'),
             ('2025-12-28'), ('2025-12-29'), ('2027-01-03'), ('2027-01-04')) v(d);
SELECT start_date('2020-W53'), end_date('2020-W53'), start_date('2025-W01'), end_date('2026-W53');

-- kpi.period(date/timestamptz, grain)
SELECT g, period(date '2026-08-31', g), period(timestamptz '2026-08-31 23:30:00+00', g)
FROM unnest(ARRAY['year', 'half', 'quarter', 'month', 'week', 'day', 'MONTH']) g;
-- the timestamptz is placed in the session time zone
SET timezone = 'Asia/Shanghai';
SELECT period(timestamptz '2026-06-30 20:00:00+00', 'month') AS shanghai_month;
SET timezone = 'UTC';
SELECT period(timestamptz '2026-06-30 20:00:00+00', 'month') AS utc_month;
RESET timezone;
SELECT period(date '2026-01-01', 'fortnight');
SELECT period(date '2026-01-01', '');
SELECT period(date 'infinity', 'month');
SELECT period(timestamptz '-infinity', 'month');
SELECT period(date '10000-01-01', 'day');
SELECT period(date '0001-01-01 BC', 'year');
SELECT period(date '0001-01-01', 'week'), period(date '9999-12-31', 'week');
SELECT period(NULL::date, 'month'), period(date '2026-01-01', NULL);

-- shifts by n periods, across year ends
SELECT p::period + n AS plus, p::period - n AS minus
FROM (VALUES ('2026', 3), ('2026-H2', 1), ('2026-Q4', 1), ('2026-Q1', 5), ('2026-11', 3),
             ('2026-01', 13), ('2026-W52', 1), ('2026-W53', 1), ('2025-W52', 1),
             ('2026-12-31', 1), ('2024-02-28', 1), ('2026-07', 0), ('2026-07', -2)) v(p, n);
SELECT '9999'::period + 1;
SELECT '0001-01'::period - 1;
SELECT '9999-W52'::period + 1;
SELECT '0001-W01'::period - 1;
SELECT '2026-07'::period + 2147483647;
SELECT '2026-07'::period - (-2147483647);
-- differences
SELECT '2026-03'::period - '2025-11'::period AS months, '2027-W01'::period - '2026-W52'::period AS weeks,
       '2026-Q1'::period - '2026-Q3'::period AS quarters, '2026-03-01'::period - '2026-02-01'::period AS days,
       '2026-H1'::period - '2020-H2'::period AS halves, '9999'::period - '0001'::period AS years;
SELECT '2026-03'::period - '2026-Q1'::period;
-- p + n - p = n
SELECT count(*) FILTER (WHERE (p + n) - p <> n) AS bad
FROM (VALUES ('2026'::period), ('2026-H1'), ('2026-Q2'), ('2026-05'), ('2026-W10'), ('2026-05-05')) v(p),
     generate_series(-500, 500, 7) n;

-- containment and overlap
SELECT '2026'::period @> '2026-Q3'::period AS y_q, '2026-Q3'::period <@ '2026'::period AS q_y,
       '2026-Q3'::period @> '2026'::period AS q_y2, '2026-Q3'::period @> '2026-09'::period AS q_m,
       '2026-Q3'::period @> '2026-10'::period AS q_m2, '2026'::period @> '2026-W01'::period AS y_w,
       '2026'::period && '2026-W01'::period AS y_w_overlap, '2026-07'::period @> '2026-07'::period AS self,
       '2026-07'::period && '2026-08'::period AS neighbours;
SELECT '2026-Q3'::period @> date '2026-09-30' AS last_day, '2026-Q3'::period @> date '2026-10-01' AS next_day,
       date '2026-07-01' <@ '2026-Q3'::period AS first_day, date '2026-06-30' <@ '2026-Q3'::period AS day_before;
SELECT '2026-W01'::period && '2025-12'::period AS w_overlaps_dec, '2026-W01'::period <@ '2025'::period AS w_in_2025;

-- ordering: start date, then the longer period first
SELECT p FROM (VALUES ('2026-07-15'::period), ('2026-07'), ('2026'), ('2026-Q3'), ('2026-H2'),
                      ('2026-W27'), ('2025-12'), ('2026-07-01'), ('2026-01'), ('2026-H1'), ('2026-Q1'),
                      ('2026-01-01'), ('2020-W53'), ('2026-W01')) v(p)
ORDER BY p;
SELECT '2026'::period < '2026-01'::period AS year_first, '2026-01'::period < '2026-01-01'::period AS month_first,
       '2026-Q3'::period <= '2026-Q3'::period AS le, '2026-Q3'::period = '2026-Q3'::period AS eq,
       '2026-Q3'::period <> '2026-07'::period AS ne, '2026-Q3'::period >= '2026-07'::period AS ge,
       '2026-08'::period > '2026-Q3'::period AS gt;
SELECT min(p), max(p) FROM (VALUES ('2026-07'::period), ('2026'), ('2027-W01'), (NULL)) v(p);
SELECT count(*) FILTER (WHERE (a < b) <> (period_cmp(a, b) < 0)
                           OR (a = b) <> (period_cmp(a, b) = 0)
                           OR (a > b) <> (period_cmp(a, b) > 0)
                           OR (a < b) <> (start_date(a) < start_date(b) OR
                                          (start_date(a) = start_date(b) AND end_date(a) > end_date(b)))) AS bad
FROM (SELECT period(d::date, g) p FROM generate_series('2025-12-20'::date, '2026-01-10', '1 day') d,
             unnest(ARRAY['year', 'half', 'quarter', 'month', 'week', 'day']) g) x(a),
     (SELECT period(d::date, g) p FROM generate_series('2025-12-20'::date, '2026-01-10', '3 days') d,
             unnest(ARRAY['year', 'month', 'week', 'day']) g) y(b);

-- GROUP BY, DISTINCT, hash and merge joins, indexes
CREATE TABLE period_t (p period, v int);
INSERT INTO period_t
SELECT period(date '2024-01-01' + i, g), i
FROM generate_series(0, 1095) i, unnest(ARRAY['month', 'quarter', 'week']) g;
SELECT p, count(*), sum(v) FROM period_t WHERE p <@ '2025'::period AND grain(p) <> 'week'
GROUP BY p ORDER BY p;
SELECT count(DISTINCT p) AS distinct_periods FROM period_t;
SET enable_sort = off;
SELECT count(*) FROM (SELECT DISTINCT p FROM period_t) s;
RESET enable_sort;
SET enable_hashagg = off;
SELECT count(*) FROM (SELECT p FROM period_t GROUP BY p) s;
RESET enable_hashagg;
SELECT period_hash('2026-07') = period_hash('2026-07'::text::period) AS hash_stable,
       period_hash('2026-07') <> period_hash('2026-08') AS hash_differs,
       period_hash_extended('2026-07', 0) = period_hash_extended('2026-07', 0) AS ext_stable,
       period_hash_extended('2026-07', 0) <> period_hash_extended('2026-07', 1) AS ext_seeded;
CREATE TABLE period_u AS SELECT DISTINCT p FROM period_t;
SET enable_mergejoin = off; SET enable_nestloop = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM period_t t JOIN period_u u USING (p);
SELECT count(*) FROM period_t t JOIN period_u u USING (p);
RESET enable_mergejoin; SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM period_t t JOIN period_u u USING (p);
SELECT count(*) FROM period_t t JOIN period_u u USING (p);
RESET enable_hashjoin; RESET enable_nestloop;
CREATE INDEX period_t_p ON period_t (p);
CREATE INDEX period_t_h ON period_t USING hash (p);
ANALYZE period_t;
SET enable_seqscan = off; SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT v FROM period_t WHERE p = '2025-Q2' ORDER BY v LIMIT 3;
SELECT v FROM period_t WHERE p = '2025-Q2' ORDER BY v LIMIT 3;
EXPLAIN (COSTS OFF) SELECT p FROM period_t WHERE p >= '2026-12' AND p < '2027' ORDER BY p;
SELECT DISTINCT p FROM period_t WHERE p >= '2026-12' AND p < '2027' ORDER BY p;
DROP INDEX period_t_p;
EXPLAIN (COSTS OFF) SELECT count(*) FROM period_t WHERE p = '2026-W10';
SELECT count(*) FROM period_t WHERE p = '2026-W10';
RESET enable_seqscan; RESET enable_bitmapscan;
ALTER TABLE period_u ADD PRIMARY KEY (p);
INSERT INTO period_u VALUES ('2024-01');

-- casts
SELECT '2026-Q1'::period::daterange, '2024-02'::period::daterange, '2026-W53'::period::daterange,
       '2026-07-15'::period::daterange, '9999'::period::daterange;
SELECT '2026-Q1'::period::text, '2026-q1'::text::period, CAST('2026-W05' AS period);
SELECT upper('2026-07'::period::daterange) - lower('2026-07'::period::daterange) AS july_days;

-- progress, in the session time zone, clamped to [0, 1]
SET timezone = 'UTC';
SELECT progress('2026-Q1', '2026-02-15') AS half_q1, progress('2026', '2026-01-01') AS year_start,
       progress('2026', '2025-06-01') AS before, progress('2026', '2027-06-01') AS after,
       progress('2026-07-15', '2026-07-15 06:00') AS quarter_day, progress('2026-W05', '2026-02-01 12:00') AS late_week,
       progress('2026', 'infinity') AS inf, progress('2026', '-infinity') AS neg_inf;
SELECT progress('2026-02', '2026-02-15 00:00+08') AS utc_view;
SET timezone = 'Asia/Shanghai';
SELECT progress('2026-02', '2026-02-15 00:00+08') AS shanghai_view;
-- a DST day has 23 hours in Europe/Berlin
SET timezone = 'Europe/Berlin';
SELECT progress('2026-03-29', '2026-03-29 12:00') AS dst_day_noon;
RESET timezone;
SELECT progress('2026', NULL) IS NULL AS null_at;
SELECT progress('1999') = 1 AS default_now_past, progress('9999') = 0 AS default_now_future;

-- periods(p, grain): every period of grain overlapping p, in order
SELECT periods('2026-Q1', 'month');
SELECT periods('2026-02', 'week');
SELECT periods('2026-07', 'quarter') AS coarser, periods('2026-W01', 'year') AS week_spans_two_years;
SELECT count(*) AS days_2024 FROM periods('2024', 'day');
SELECT count(*) AS weeks_2026 FROM periods('2026', 'week');
SELECT periods('9999-12', 'week');
SELECT periods('9999', 'half');
SELECT periods('2026', 'decade');

-- binary round trip through COPY
CREATE TABLE period_bin (p period);
INSERT INTO period_bin SELECT DISTINCT p FROM period_t UNION VALUES ('0001'::period), ('9999-12-31'), ('2026-W53'), ('2026-H2');
COPY period_bin TO '/tmp/kpi_regress_period.bin' (FORMAT binary);
CREATE TABLE period_bin2 (p period);
COPY period_bin2 FROM '/tmp/kpi_regress_period.bin' (FORMAT binary);
SELECT count(*) AS copied, count(*) FILTER (WHERE p NOT IN (SELECT p FROM period_bin)) AS different FROM period_bin2;
-- recv validates like in: raw field bytes are fed to kpi.period_recv by
-- binary COPY of a bytea column into a kpi.period column
CREATE TABLE period_raw (b bytea);
CREATE FUNCTION pg_temp.recv_test(raw bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE period_raw; TRUNCATE period_bin2;
  INSERT INTO period_raw VALUES (raw);
  COPY period_raw TO '/tmp/kpi_regress_period_raw.bin' (FORMAT binary);
  COPY period_bin2 FROM '/tmp/kpi_regress_period_raw.bin' (FORMAT binary);
  RETURN (SELECT p::text FROM period_bin2);
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT period_send('2026-07') AS send_month, period_send('2026-07-02') AS send_day;
SELECT pg_temp.recv_test(period_send('2026-07')) AS valid;
SELECT pg_temp.recv_test('\x03'::bytea || substr(period_send('2026-07-02'), 2)) AS misaligned_month;
SELECT pg_temp.recv_test('\x04'::bytea || substr(period_send('2026-07-02'), 2)) AS week_not_monday;
SELECT pg_temp.recv_test('\x09'::bytea || substr(period_send('2026-07'), 2)) AS bad_grain;
SELECT pg_temp.recv_test('\x0500000000'::bytea) AS day_2000_01_01;
SELECT pg_temp.recv_test('\x05ffcc0000'::bytea) AS far_past;
SELECT pg_temp.recv_test('\x057fffffff'::bytea) AS far_future;
SELECT pg_temp.recv_test('\x03'::bytea) AS too_short;
SELECT pg_temp.recv_test(period_send('2026-07') || '\x00'::bytea) AS trailing_byte;

-- NULLs
SELECT NULL::period + 1 AS plus, grain(NULL), start_date(NULL), '2026'::period @> NULL::period AS contains;
DROP TABLE period_t, period_u, period_bin, period_bin2, period_raw;
RESET search_path;
RESET datestyle;
