-- kpi.status and kpi.bands: text forms, errors, constructor, status for
-- every level, comparison and operator classes, binary I/O, comments.

-- operators live in schema kpi: qualified, they work without search_path
SELECT 0.9 OPERATOR(kpi.@) 'amber 0.8, green 1'::kpi.bands AS status;
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

-- kpi.status is an enum ordered worst to best
SELECT enum_range(NULL::status) AS levels, 'red'::status < 'amber' AS red_below_amber,
       'green'::status < 'blue' AS green_below_blue;

-- text forms: levels may be omitted; input case-insensitive and whitespace
-- free; output canonical and shortest-exact
SELECT b AS input, b::bands AS bands
FROM (VALUES ('amber 0.8, green 0.95, blue 1.2'), ('green 1'), ('amber 0.9, green 1'), ('amber 0.9'),
             ('blue 1.2'), ('amber 0.8, blue 1.5'), ('green 0.95,blue 1.2'), ('AMBER 0.8,GREEN 1'),
             ('  Amber .8 ,  green 1.0  '), ('amber0.5,green1e0'), ('amber -0.5, green 0'),
             ('green -0'), ('amber 0.1, green 0.30000000000000004'), ('green 1e-310')) v(b);
-- text round trip
SELECT b, b::bands::text::bands = b::bands AS round_trips
FROM (VALUES ('amber 0.8, green 0.95, blue 1.2'), ('green 1'), ('amber 0.9, green 1'),
             ('blue 1.7976931348623157e308'), ('amber -1e-310, green 0.30000000000000004')) v(b);

-- syntax errors are 22P02: unknown level, missing or non-finite number,
-- stray or doubled comma, trailing junk
\set VERBOSITY default
SELECT 'yellow 1'::bands;
SELECT 'red 0.5, green 1'::bands;
SELECT 'amber 0.8,, green 1'::bands;
SELECT 'green NaN'::bands;
\set VERBOSITY sqlstate
SELECT 'green 1 please'::bands;
\set VERBOSITY default
SELECT b AS input, pg_temp.try(format('SELECT %L::kpi.bands', b)) AS result
FROM (VALUES ('red 0.5'), ('yellow 1'), ('amber'), ('amber x'), ('amber NaN'), ('green Infinity'),
             ('green -Infinity'), ('amber 0.8,, green 1'), ('amber 0.8,'), (', amber 0.8'),
             ('amber 0.8 green 1'), ('amber 0.8; green 1'), ('amber 0.8, green 1 extra'),
             ('amber 0x1'), ('0.8'), ('amber 1 2'), ('amber: 0.8'), ('amber_1'), ('green 1e'),
             ('green 1, amber 0.5, purple 2')) v(b);
-- numbers beyond double precision are 22003
SELECT pg_temp.try($$SELECT 'green 1e400'::kpi.bands$$) AS too_big,
       pg_temp.try($$SELECT 'green 1e-400'::kpi.bands$$) AS too_small;

-- errors of meaning are 22023: no level, out of order, repeated, not
-- strictly increasing
\set VERBOSITY default
SELECT ''::bands;
SELECT 'green 1, amber 0.5'::bands;
SELECT 'green 1, green 1.1'::bands;
SELECT 'amber 0.8, green 1, blue 1'::bands;
SELECT b AS input, pg_temp.try(format('SELECT %L::kpi.bands', b)) AS result
FROM (VALUES (''), ('   '), ('green 1, amber 0.5'), ('blue 1.2, green 1'), ('green 1, green 1.1'),
             ('amber 1, green 1'), ('amber 1, green 0.9'), ('amber 0.8, green 1, blue 1'),
             ('amber 1, blue 0.5'), ('amber 0.1, green 0.2, blue 0.3, amber 0.4')) v(b);

-- constructor: NULL leaves a level out
SELECT bands(0.8, 0.95, 1.2) AS all_levels, bands(NULL, 1, NULL) AS green_only,
       bands(green => 1) AS named, bands(amber => 0.9, green => 1) AS two,
       bands(0.9, NULL, 1.5) AS no_green, bands(blue => -0.0) AS minus_zero;
SELECT q, pg_temp.try('SELECT ' || q) AS result
FROM (VALUES ('kpi.bands(NULL, NULL, NULL)'), ('kpi.bands()'), ($$kpi.bands('NaN', 1, NULL)$$),
             ($$kpi.bands(1, 'Infinity')$$), ($$kpi.bands(blue => '-Infinity')$$),
             ('kpi.bands(1, 0.5)'), ('kpi.bands(1, NULL, 1)'), ('kpi.bands(0.9, 0.9, 1)')) v(q);

-- status: the best level whose threshold the attainment reaches, red below
-- them all; +Infinity reaches the highest level present, -Infinity none
SELECT a AS attainment, status(a, 'amber 0.8, green 0.95, blue 1.2') AS status,
       a @ 'amber 0.8, green 0.95, blue 1.2'::bands AS op
FROM (VALUES (0::float8), (0.79), (0.8), (0.9), (0.95), (1.1999), (1.2), (5), (-1),
             ('Infinity'), ('-Infinity'), ('NaN'), (NULL)) v(a);
-- omitted levels are skipped
SELECT a AS attainment, a @ 'green 1'::bands AS green_1, a @ 'amber 0.9, green 1'::bands AS amber_green,
       a @ 'blue 1.2'::bands AS blue_only, a @ 'amber 0.8, blue 1.5'::bands AS amber_blue,
       a @ 'amber -0.5, green 0'::bands AS negative
FROM (VALUES (-0.6::float8), (-0.5), (0), (0.85), (0.9), (0.99), (1), (1.2), (1.5), (2),
             ('Infinity'), ('-Infinity')) v(a);
SELECT status(NULL, 'green 1') AS null_att, status(1, NULL) AS null_bands,
       pg_typeof(1 @ 'green 1'::bands) AS type,
       (1 @ 'amber 0.9, green 1'::bands) > 'amber' AS better_than_amber;
-- with a goal: / binds tighter than @, so attainment then status
SELECT a AS actual, a / '>= 1200'::goal AS attainment,
       a / '>= 1200'::goal @ 'amber 0.8, green 0.95, blue 1.2'::bands AS status
FROM (VALUES (900::float8), (1000), (1140), (1440)) v(a);
-- the worst status of a set, as an enum aggregate
SELECT min(a @ 'amber 0.8, green 1'::bands) AS worst, max(a @ 'amber 0.8, green 1'::bands) AS best
FROM (VALUES (0.85::float8), (1.3), (0.95)) v(a);
-- kpi.status is immutable: usable in generated columns
CREATE TABLE bands_gen (att float8, b bands, s status GENERATED ALWAYS AS (kpi.status(att, b)) STORED);
INSERT INTO bands_gen VALUES (0.5, 'amber 0.8, green 1'), (0.8, 'amber 0.8, green 1'), (1, 'amber 0.8, green 1'),
  ('NaN', 'green 1');
SELECT * FROM bands_gen;

-- the label OIDs are cached per session and follow a reinstall of the extension
SET client_min_messages = warning;
BEGIN;
DROP EXTENSION kpi CASCADE;
CREATE EXTENSION kpi;
SELECT 0.9 OPERATOR(kpi.@) 'amber 0.8, green 1'::kpi.bands AS after_reinstall;
ROLLBACK;
RESET client_min_messages;
SELECT 0.9 @ 'amber 0.8, green 1'::bands AS after_rollback;

-- equality, order, hashing
SELECT 'green 1'::bands = 'GREEN 1.0'::bands AS eq, 'green 0'::bands = 'green -0'::bands AS eq_minus_zero,
       'green 1'::bands <> 'blue 1'::bands AS ne_level, 'amber 0.8, green 1'::bands <> 'amber 0.9, green 1' AS ne_value,
       ROW('green 1'::bands) IS NOT DISTINCT FROM ROW('green 1.0'::bands) AS rows_equal;
SELECT 'amber 0.8'::bands < 'green 0.5'::bands AS lt, 'green 1'::bands <= 'green 1'::bands AS le,
       'blue 1'::bands > 'amber 0.1, green 0.2'::bands AS gt, 'green 2'::bands >= 'green 1'::bands AS ge,
       bands_cmp('green 1', 'green 1') AS cmp_eq, bands_cmp('amber 0.8, green 1', 'amber 0.9, green 1') AS cmp_lt,
       bands_hash('green 0') = bands_hash('green -0') AS hash_minus_zero,
       bands_hash_extended('amber .8, green 1', 7) = bands_hash_extended('amber 0.8,green 1.0', 7) AS hash_ext_equal;
-- order: the set of levels present (amber 1, green 2, blue 4), then the thresholds from amber up
SELECT b FROM (VALUES ('green 1'::bands), ('amber 0.9, green 1'), ('amber 0.8, green 1'), ('blue 1.2'),
                      ('amber 0.8'), ('amber 0.8, green 0.95, blue 1.2'), ('green 0.9')) v(b)
ORDER BY b;
CREATE TABLE bands_t (id int, b bands);
INSERT INTO bands_t SELECT i, (CASE i % 3 WHEN 0 THEN 'green 1' WHEN 1 THEN 'amber 0.8, green 1' ELSE 'GREEN 1.0' END)::bands
FROM generate_series(1, 300) i;
ANALYZE bands_t;
SET enable_sort = off;
EXPLAIN (COSTS OFF) SELECT b, count(*) FROM bands_t GROUP BY b;
SELECT b, count(*) FROM bands_t GROUP BY b ORDER BY b;
RESET enable_sort;
CREATE INDEX bands_t_b ON bands_t (b);
SET enable_seqscan = off;
SET enable_bitmapscan = off;
EXPLAIN (COSTS OFF) SELECT count(*), sum(id) FROM bands_t WHERE b = 'green 1';
SELECT count(*), sum(id) FROM bands_t WHERE b = 'green 1';
RESET enable_seqscan;
RESET enable_bitmapscan;
SET enable_nestloop = off;
SET enable_mergejoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM bands_t x JOIN bands_t y USING (b) WHERE x.id < 3;
SELECT count(*) FROM bands_t x JOIN bands_t y USING (b) WHERE x.id < 3;
RESET enable_mergejoin;
SET enable_hashjoin = off;
EXPLAIN (COSTS OFF) SELECT count(*) FROM bands_t x JOIN bands_t y USING (b) WHERE x.id < 3;
SELECT count(*) FROM bands_t x JOIN bands_t y USING (b) WHERE x.id < 3;
RESET enable_hashjoin;
RESET enable_nestloop;

-- binary I/O: send layout, COPY round trip, recv validates like in
SELECT bands_send('amber 0.8, green 0.95, blue 1.2') AS send_all, bands_send('green 1') AS send_green;
CREATE TABLE bands_bin (id int, b bands);
INSERT INTO bands_bin VALUES (1, 'amber 0.8, green 0.95, blue 1.2'), (2, 'green 1'), (3, 'amber 0.9, green 1'),
  (4, 'blue 1.2'), (5, 'amber -1e-310, blue 1.7976931348623157e308'), (6, NULL);
COPY bands_bin TO '/tmp/kpi_bands.bin' (FORMAT binary);
CREATE TABLE bands_bin2 (LIKE bands_bin);
COPY bands_bin2 FROM '/tmp/kpi_bands.bin' (FORMAT binary);
SELECT a.id, a.b AS sent, c.b AS received, a.b IS NOT DISTINCT FROM c.b AS same
FROM bands_bin a JOIN bands_bin2 c USING (id) ORDER BY id;
-- raw bytes are fed to kpi.bands_recv by a binary COPY of a bytea column
CREATE TABLE bands_raw (r bytea);
CREATE FUNCTION pg_temp.recv_test(raw bytea) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  TRUNCATE bands_raw; TRUNCATE bands_bin2;
  INSERT INTO bands_raw VALUES (raw);
  COPY bands_raw TO '/tmp/kpi_bands_raw.bin' (FORMAT binary);
  COPY bands_bin2 (b) FROM '/tmp/kpi_bands_raw.bin' (FORMAT binary);
  RETURN (SELECT b::text FROM bands_bin2);
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
SELECT name, pg_temp.recv_test(raw) AS result
FROM (VALUES ('valid', bands_send('amber 0.8, blue 1.2')),
             ('bad version', '\x0202'::bytea || float8send(1)),
             ('mask 8', '\x0108'::bytea || float8send(1)),
             ('no level', '\x0100'::bytea),
             ('not increasing', '\x0103'::bytea || float8send(1) || float8send(1)),
             ('NaN threshold', '\x0102'::bytea || float8send('NaN')),
             ('too short', '\x0103'::bytea || float8send(1)),
             ('trailing byte', bands_send('green 1') || '\x00'::bytea)) v(name, raw);

DROP TABLE bands_gen, bands_t, bands_bin, bands_bin2, bands_raw;
RESET search_path;

-- every goal, bands and status object of the extension has a comment
-- (search_path reset, so that object descriptions are schema-qualified)
SELECT m.object AS uncommented
FROM public.kpi_member m
WHERE m.object ~ '(kpi\.goal|kpi\.bands|kpi\.status)'
  AND NOT EXISTS (SELECT 1 FROM pg_description c
                  WHERE c.classoid = m.classid AND c.objoid = m.objid AND c.objsubid = 0)
ORDER BY 1;
SELECT count(*) >= 64 AS objects_checked
FROM public.kpi_member m
WHERE m.object ~ '(kpi\.goal|kpi\.bands|kpi\.status)';
