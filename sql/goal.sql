-- kpi.goal: text forms, errors, constructors, accessors, attainment, meets,
-- pace, comparison and operator classes, binary I/O.

-- operators live in schema kpi: qualified, they work without search_path
SELECT 1320 OPERATOR(kpi./) '>= 1200'::kpi.goal AS attainment,
       1320 OPERATOR(kpi.<@) '>= 1200'::kpi.goal AS meets;
SET search_path = kpi, public;

-- try(q): run a query, return its single value or "SQLSTATE: message"
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text;
BEGIN
  EXECUTE q INTO r;
  RETURN coalesce(r, '<NULL>');
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- every text form; whitespace free on input, output canonical and
-- shortest-exact
SELECT g AS input, g::goal AS goal, direction(g::goal), target(g::goal), baseline(g::goal)
FROM (VALUES ('>= 1200'), ('<= 3.5'), ('95 .. 105'), ('>= 1200 from 1000'), ('<= 3 from 5'),
             ('>=1200'), ('   <=   3.5   '), ('95..105'), ('>=1200from1000'), ('<= 3 FROM 5'),
             ('>= -5'), ('<= 0'), ('<= -0'), ('>= +12.50'), ('>= 1.5e3'), ('>= 1E-3'),
             ('<= .5'), ('>= 5.'), ('>= 0.1'), ('>= 123456789.123'), ('>= 1e20'), ('>= 1e-310'),
             ('-10 .. -2.5'), ('-1..1'), ('1.5..2'), ('>= 0 from -100'), ('<= -3 from -1')) v(g);

-- text round trip: output reads back as the same goal
SELECT g, g::goal::text AS canonical, g::goal::text::goal = g::goal AS round_trips
FROM (VALUES ('>=1200'), ('<=3.5'), ('95..105'), ('>=1200 from 1000'), ('<=3 from 5'),
             ('>= 0.30000000000000004'), ('>= 1e-310'), ('>= 1.7976931348623157e308')) v(g);

-- syntax errors are 22P02; the message quotes the input and hints at the forms
\set VERBOSITY default
SELECT '>= NaN'::goal;
SELECT '>= 1200 from 1000 extra'::goal;
SELECT '95 ..'::goal;
\set VERBOSITY sqlstate
SELECT 'garbage'::goal;
\set VERBOSITY default
SELECT g AS input, pg_temp.try(format('SELECT %L::kpi.goal', g)) AS result
FROM (VALUES (''), ('   '), ('1200'), ('>'), ('>='), ('> 1200'), ('=> 1200'), ('= 1200'),
             ('>= abc'), ('>= NaN'), ('>= nan'), ('>= Infinity'), ('>= -Infinity'), ('>= inf'),
             ('NaN .. 1'), ('0 .. Infinity'), ('>= 0x10'), ('>= 1,200'), ('>= 1 200'),
             ('>= 5e'), ('>= 1e5.5'), ('>= 1200 x'), ('>= 1200 from'), ('>= 1200from'),
             ('>= 1200 from x'), ('>= 1200 to 1000'), ('<= 3 from 5 from 7'), ('1200 >='),
             ('95 - 105'), ('95 ... 105'), ('95 .. 105 .. 110'), ('95 .. 105 from 90'),
             ('>= 1200;'), ('>= ''1200''')) v(g);

-- numbers beyond double precision are 22003
SELECT g AS input, pg_temp.try(format('SELECT %L::kpi.goal', g)) AS result
FROM (VALUES ('>= 1e400'), ('<= -1e400'), ('>= 1e-400'), ('1 .. 1e309')) v(g);

-- errors of meaning are 22023
\set VERBOSITY default
SELECT '105 .. 95'::goal;
SELECT '>= 100 from 150'::goal;
SELECT '<= 3 from 1'::goal;
SELECT g AS input, pg_temp.try(format('SELECT %L::kpi.goal', g)) AS result
FROM (VALUES ('5 .. 5'), ('105 .. 95'), ('>= 100 from 150'), ('>= 100 from 100'),
             ('<= 3 from 1'), ('<= 3 from 3'), ('<= -1 from -2'), ('>= -100 from -50')) v(g);

-- constructors
SELECT goal(1200, 'higher') AS higher, goal(3.5, 'LOWER') AS lower,
       goal(1200, 'Higher', 1000) AS from_baseline, goal(3, 'lower', 5) AS lower_from,
       goal(1200, 'higher', NULL) AS null_baseline, goal_range(95, 105) AS range;
SELECT goal(target => -5, direction => 'higher') AS negative_target,
       goal(baseline => -100, target => 0, direction => 'higher') AS named,
       goal_range(-0.5, 0.5) AS range_around_zero;
SELECT goal(NULL, 'higher') IS NULL AS null_target, goal(1200, NULL) IS NULL AS null_direction,
       goal_range(NULL, 105) IS NULL AS null_lo, goal_range(95, NULL) IS NULL AS null_hi;
-- constructor errors are 22023
SELECT q, pg_temp.try('SELECT ' || q) AS result
FROM (VALUES ($$kpi.goal(1200, 'up')$$), ($$kpi.goal(1200, 'range')$$), ($$kpi.goal(1200, '')$$),
             ($$kpi.goal(1200, ' higher')$$),
             ($$kpi.goal('NaN', 'higher')$$), ($$kpi.goal('Infinity', 'lower')$$),
             ($$kpi.goal(1200, 'higher', '-Infinity')$$), ($$kpi.goal(1200, 'higher', 'NaN')$$),
             ($$kpi.goal(100, 'higher', 150)$$), ($$kpi.goal(100, 'higher', 100)$$),
             ($$kpi.goal(3, 'lower', 1)$$), ($$kpi.goal_range(105, 95)$$), ($$kpi.goal_range(5, 5)$$),
             ($$kpi.goal_range('-Infinity', 0)$$), ($$kpi.goal_range(0, 'NaN')$$)) v(q);
\set VERBOSITY default
SELECT goal(1200, 'up');

-- accessors
SELECT direction('>= 1'::goal), direction('<= 1'::goal), direction('1 .. 2'::goal),
       target('95 .. 105'::goal) AS mid, target('-10 .. -2.5'::goal) AS mid_negative,
       target('0 .. 1'::goal) AS mid_half, target('-1e308 .. 1e308'::goal) AS mid_huge,
       baseline('>= 1200 from 1000'::goal), baseline('>= 1200'::goal) IS NULL AS no_baseline,
       baseline('95 .. 105'::goal) IS NULL AS range_no_baseline;
SELECT direction(NULL::goal), target(NULL::goal), baseline(NULL::goal);

-- attainment, computed by hand:
-- higher, no baseline: actual / T when T > 0, else NULL
SELECT a AS actual, kpi.attainment(a, '>= 1200') AS attainment, a / '>= 1200'::goal AS op
FROM (VALUES (1200::float8), (1320), (900), (0), (-600), (NULL), ('NaN'), ('Infinity'), ('-Infinity')) v(a);
SELECT 5 / '>= 0'::goal AS zero_target, 5 / '>= -5'::goal AS negative_target,
       -5 / '>= -5'::goal AS negative_target_met;
-- higher, baseline: (actual - B) / (T - B)
SELECT a AS actual, a / '>= 1200 from 1000'::goal AS from_1000, a / '>= 0 from -100'::goal AS from_minus_100
FROM (VALUES (1100::float8), (1000), (900), (1300), (1200), (0), (-50)) v(a);
-- lower, no baseline: 2 - actual / T when T > 0; T = 0: 1 if actual <= 0 else 0; T < 0: NULL
SELECT a AS actual, a / '<= 3.5'::goal AS le_3_5, a / '<= 0'::goal AS le_0, a / '<= -1'::goal AS le_minus_1
FROM (VALUES (3.5::float8), (1.75), (7), (0), (5.25), (10.5), (-1), (0.001)) v(a);
-- lower, baseline: (B - actual) / (B - T)
SELECT a AS actual, a / '<= 3 from 5'::goal AS from_5, a / '<= -2 from 2'::goal AS from_2
FROM (VALUES (4::float8), (3), (5), (2), (6), (0)) v(a);
-- range: 1 inside; outside 1 - d / (hi - lo)
SELECT a AS actual, a / '95 .. 105'::goal AS in_95_105, a / '-10 .. -2'::goal AS in_minus_10_minus_2
FROM (VALUES (95::float8), (100), (105), (104.99), (90), (110), (106), (85), (75), (-14), (0), (-6)) v(a);
-- NULL and non-finite inputs
SELECT attainment(NULL, '>= 1'::goal) AS null_actual, attainment(1, NULL) AS null_goal,
       'NaN' / '95 .. 105'::goal AS nan_range, '-Infinity' / '<= 3 from 5'::goal AS minus_inf_lower;
-- no spurious overflow when the numbers are huge but the result is not
SELECT 0 / '>= 1e308 from -1e308'::goal AS half_way, 0 / '-1e308 .. 1e308'::goal AS inside,
       1.5e308 / '-1e308 .. 1e308'::goal AS above;
-- a result beyond double precision is 22003
SELECT q, pg_temp.try('SELECT ' || q) AS result
FROM (VALUES ($$1e308 OPERATOR(kpi./) '>= 1e-10'::kpi.goal$$),
             ($$-1e308 OPERATOR(kpi./) '<= 1e-300'::kpi.goal$$),
             ($$-1e308 OPERATOR(kpi./) '0 .. 1e-300'::kpi.goal$$),
             ($$kpi.attainment(1e308, '>= 1 from 0.9999999'::kpi.goal)$$)) v(q);

-- meets: actual <@ g and g @> actual
SELECT a AS actual, a <@ '>= 1200'::goal AS ge_1200, '>= 1200'::goal @> a AS contains,
       a <@ '<= 1200'::goal AS le_1200, a <@ '1100 .. 1200'::goal AS in_range,
       a <@ '>= 1300 from 1000'::goal AS ge_1300_from_1000
FROM (VALUES (1200::float8), (1199.99), (1100), (1300), (1099), ('Infinity'), ('-Infinity'), ('NaN'), (NULL)) v(a);
SELECT meets(3.5, '<= 3.5'), meets(3.6, '<= 3.5'), goal_contains('95 .. 105', 105),
       goal_contains('95 .. 105', 105.1), meets(NULL, '>= 1'), goal_contains(NULL, 1);
-- <@ and @> are each other's commutator
SELECT oprcode, oprcom::regoperator AS commutator, oprrest, oprjoin FROM pg_operator
WHERE oid IN ('kpi.<@(float8, kpi.goal)'::regoperator, 'kpi.@>(kpi.goal, float8)'::regoperator)
ORDER BY oprcode::text;

-- pace: target replaced by B + (T - B) * progress (B = 0 without baseline)
SELECT a AS actual, g AS goal, p AS progress, pace(a, g::goal, p) AS pace
FROM (VALUES (600::float8, '>= 1200', 0.5::float8),  -- due 600: 1
             (450, '>= 1200', 0.5),                   -- 450 / 600 = 0.75
             (900, '>= 1200', 1),                     -- progress 1 = attainment 0.75
             (1100, '>= 1200 from 1000', 0.5),        -- due 1100: 1
             (1050, '>= 1200 from 1000', 0.5),        -- 50 / 100 = 0.5
             (1, '<= 4', 0.5),                        -- due 2: 2 - 1/2 = 1.5
             (2, '<= 4', 0.25),                       -- due 1: 2 - 2 = 0
             (4, '<= 3 from 5', 0.5),                 -- due 4: 1
             (4.5, '<= 3 from 5', 0.5),               -- (5 - 4.5) / (5 - 4) = 0.5
             (50, '95 .. 105', 0.5),                  -- due 47.5 .. 52.5: inside, 1
             (45, '95 .. 105', 0.5),                  -- 1 - 2.5 / 5 = 0.5
             (60, '95 .. 105', 0.5),                  -- 1 - 7.5 / 5 = -0.5
             (5, '>= 0', 0.5),                        -- T = 0: NULL
             (-1, '<= 0', 0.5)                        -- T = 0 stays 0: 1
     ) v(a, g, p);
-- progress outside (0, 1], NaN or NULL: NULL (0.125: due 150, 450 / 150 = 3)
SELECT p AS progress, pace(450, '>= 1200', p) AS pace
FROM (VALUES (0::float8), (-0.1), (1.01), ('NaN'), ('Infinity'), ('-Infinity'), (NULL), (0.125)) v(p);
SELECT pace(NULL, '>= 1200', 0.5) AS null_actual, pace('NaN', '>= 1200', 0.5) AS nan_actual,
       pace(1, NULL, 0.5) AS null_goal;

-- equality, order, hashing: goals in rows can be compared, sorted, grouped
SELECT '>= 1200'::goal = '>=1200.0'::goal AS eq, '>= 1200'::goal = '>= 12e2'::goal AS eq_exp,
       '<= 0'::goal = '<= -0'::goal AS eq_minus_zero,
       '>= 1200'::goal = '>= 1200 from 0'::goal AS eq_baseline_0,
       '>= 1200'::goal <> '<= 1200'::goal AS ne_direction,
       ROW(1, '>= 5'::goal) IS DISTINCT FROM ROW(1, '>= 5 from 0'::goal) AS row_distinct,
       ROW(1, '>= 5'::goal) IS DISTINCT FROM ROW(1, '>=5'::goal) AS row_same;
SELECT '>= 5'::goal < '<= 5'::goal AS higher_first, '<= 5'::goal < '1 .. 5'::goal AS range_last,
       '>= 5'::goal <= '>= 5'::goal AS le, '>= 6'::goal > '>= 5 from 1'::goal AS gt,
       '>= 5'::goal < '>= 5 from -1'::goal AS no_baseline_first,
       goal_cmp('>= 5', '<= 5') AS cmp_lt, goal_cmp('1 .. 2', '1 .. 2') AS cmp_eq,
       goal_cmp('1 .. 3', '1 .. 2') AS cmp_gt;
-- order: direction (higher, lower, range), first number, no baseline first, second number
SELECT g FROM (VALUES ('95 .. 105'::goal), ('<= 3'), ('>= 1200 from 1000'), ('>= 1200'), ('>= 5'),
                      ('<= 3 from 5'), ('90 .. 110'), ('>= 1200 from -5'), ('95 .. 100')) v(g)
ORDER BY g;
SELECT goal_hash('<= 0') = goal_hash('<= -0') AS hash_minus_zero,
       goal_hash('>= 1200') = goal_hash('>=12e2') AS hash_equal,
       goal_hash_extended('>= 1200', 42) = goal_hash_extended('>=12e2', 42) AS hash_ext_equal,
       goal_hash_extended('>= 1200', 0) <> goal_hash_extended('>= 1200', 1) AS seed_matters;

CREATE TABLE goal_t (id int, g goal);
INSERT INTO goal_t SELECT i, format('>= %s', i % 10)::goal FROM generate_series(1, 1000) i;
INSERT INTO goal_t VALUES (0, '<= -0'), (-1, '<= 0'), (-2, '5 .. 6');
ANALYZE goal_t;
-- hash aggregate and sort give the same groups
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT g, count(*) FROM goal_t GROUP BY g;
SELECT g, count(*) FROM goal_t GROUP BY g ORDER BY g;
RESET enable_sort;
SET enable_hashagg = off;
SELECT count(DISTINCT g) AS distinct_goals FROM goal_t;
RESET enable_hashagg;
-- btree index, hash index, hash join and merge join
CREATE INDEX goal_t_g ON goal_t (g);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM goal_t WHERE g = '<= 0';
SELECT id FROM goal_t WHERE g = '<= 0' ORDER BY id;
SELECT count(*) FROM goal_t WHERE g > '>= 8';
DROP INDEX goal_t_g;
CREATE INDEX goal_t_g_hash ON goal_t USING hash (g);
EXPLAIN (COSTS OFF) SELECT id FROM goal_t WHERE g = '5 .. 6';
SELECT id FROM goal_t WHERE g = '5 .. 6';
RESET enable_seqscan;
RESET enable_bitmapscan;
SET enable_nestloop = off;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM goal_t a JOIN goal_t b ON a.g = b.g WHERE a.id < 1;
SELECT count(*) FROM goal_t a JOIN goal_t b ON a.g = b.g WHERE a.id < 1;
RESET enable_mergejoin;
SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM goal_t a JOIN goal_t b ON a.g = b.g WHERE a.id < 1;
SELECT count(*) FROM goal_t a JOIN goal_t b ON a.g = b.g WHERE a.id < 1;
RESET enable_hashjoin;
RESET enable_nestloop;

-- binary I/O: send layout, COPY round trip, recv validates like in
SELECT goal_send('>= 1200') AS send_higher, goal_send('95 .. 105') AS send_range,
       goal_send('<= 3 from 5') AS send_lower_from;
CREATE TABLE goal_bin (id int, g goal);
INSERT INTO goal_bin VALUES (1, '>= 1200'), (2, '<= 3.5'), (3, '95 .. 105'), (4, '>= 1200 from 1000'),
  (5, '<= 3 from 5'), (6, '>= 0.1'), (7, '-1e-310 .. 1.7976931348623157e308'), (8, '<= -0'), (9, NULL);
COPY goal_bin TO '/tmp/kpi_goal.bin' (FORMAT binary);
CREATE TABLE goal_bin2 (LIKE goal_bin);
COPY goal_bin2 FROM '/tmp/kpi_goal.bin' (FORMAT binary);
SELECT a.id, a.g AS sent, b.g AS received, a.g IS NOT DISTINCT FROM b.g AS same
FROM goal_bin a JOIN goal_bin2 b USING (id) ORDER BY id;
-- raw bytes are fed to kpi.goal_recv by a binary COPY of a bytea column
CREATE TABLE goal_raw (b bytea);
CREATE FUNCTION pg_temp.recv_test(raw bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE goal_raw; TRUNCATE goal_bin2;
  INSERT INTO goal_raw VALUES (raw);
  COPY goal_raw TO '/tmp/kpi_goal_raw.bin' (FORMAT binary);
  COPY goal_bin2 (g) FROM '/tmp/kpi_goal_raw.bin' (FORMAT binary);
  RETURN (SELECT g::text FROM goal_bin2);
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT name, pg_temp.recv_test(raw) AS result
FROM (VALUES ('valid', goal_send('>= 1200 from 1000')),
             ('baseline ignored without flag', '\x010100'::bytea || float8send(1200) || float8send('NaN')),
             ('bad version', '\x020100'::bytea || float8send(1200) || float8send(0)),
             ('direction 0', '\x010000'::bytea || float8send(1200) || float8send(0)),
             ('direction 4', '\x010400'::bytea || float8send(1200) || float8send(0)),
             ('baseline flag 2', '\x010102'::bytea || float8send(1200) || float8send(1000)),
             ('range with baseline', '\x010301'::bytea || float8send(95) || float8send(105)),
             ('range lo >= hi', '\x010300'::bytea || float8send(105) || float8send(95)),
             ('baseline above target', '\x010101'::bytea || float8send(100) || float8send(150)),
             ('baseline below lower target', '\x010201'::bytea || float8send(3) || float8send(1)),
             ('NaN target', '\x010100'::bytea || float8send('NaN') || float8send(0)),
             ('infinite bound', '\x010300'::bytea || float8send(0) || float8send('Infinity')),
             ('too short', '\x010100'::bytea || float8send(1200)),
             ('trailing byte', goal_send('>= 1200') || '\x00'::bytea)) v(name, raw);

DROP TABLE goal_t, goal_bin, goal_bin2, goal_raw;
RESET search_path;
