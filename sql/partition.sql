-- partition: kpi.measurement partitioned by time (0.11).  Writes through
-- kpi.measurement to every partition (insert, update across partitions,
-- delete, MERGE, truncate) keep kpi.actual equal to a fresh computation; a restore
-- that loads a partition directly is folded in; the row trigger refuses
-- other uses; a partition written directly outside a restore is what
-- kpi.verify() reports and kpi.repair() mends.
SET search_path = kpi, public;
SET TimeZone = 'UTC';
SET DateStyle = 'ISO';
BEGIN;
DELETE FROM kpi.setting WHERE name = 'time_zone';
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai');
INSERT INTO kpi.scope (code, name) VALUES ('pt', 'Partitioned Co');
INSERT INTO kpi.scope (code, name, parent_id) VALUES
    ('pt.n', 'North', kpi.scope_id('pt')), ('pt.s', 'South', kpi.scope_id('pt'));
INSERT INTO kpi.indicator (code, name, agg, grains) VALUES
    ('pt.sum', 'Partitioned sum', 'sum', '{day,month,quarter,year}'),
    ('pt.ratio', 'Partitioned ratio', 'ratio', '{month,quarter,year}'),
    ('pt.last', 'Partitioned last', 'last', '{month,year}');
INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
VALUES (kpi.indicator_id('pt.sum'), kpi.scope_id('pt'), '2026', '>= 5000');

-- the table: partitioned by range of at, the table of 0.10 its default
SELECT c.relname, c.relkind, pg_catalog.pg_get_partkeydef(c.oid) AS key,
       pg_catalog.pg_get_expr(c.relpartbound, c.oid) AS bound
FROM pg_catalog.pg_class c
WHERE c.oid IN ('kpi.measurement'::regclass, 'kpi.measurement_default'::regclass) ORDER BY 1;

-- a partition per company year, with the primary key and index each
-- partition keeps: made by kpi.measurement_partition(), which moves the
-- rows of its range out of the default partition (other suites left some)
CREATE TEMP TABLE before_partitions AS
SELECT indicator_id, scope_id, period, value, status FROM kpi.actual;
SELECT count(*) > 0 AS default_holds_2026 FROM kpi.measurement_default
WHERE at >= '2026-01-01 00:00+08' AND at < '2027-01-01 00:00+08';
SELECT kpi.measurement_partition('measurement_y2025', '2025-01-01 00:00+08', '2026-01-01 00:00+08');
SELECT kpi.measurement_partition('measurement_y2026', '2026-01-01 00:00+08', '2027-01-01 00:00+08');
SELECT count(*) AS left_in_default FROM kpi.measurement_default
WHERE at >= '2025-01-01 00:00+08' AND at < '2027-01-01 00:00+08';
-- the actuals did not move, and nothing is out of step
SELECT count(*) AS changed FROM (SELECT * FROM before_partitions EXCEPT SELECT indicator_id, scope_id, period, value, status FROM kpi.actual) x;
SELECT count(*) AS problems FROM kpi.verify();
SELECT kpi_try($$SELECT kpi.measurement_partition('measurement_bad', '2027-01-01', '2026-01-01')$$);
SELECT kpi_try($$SELECT kpi.measurement_partition('measurement_y2026b', '2026-06-01', '2026-07-01')$$);
-- everything kpi.measurement's writers need reaches the partition
SELECT t.tgname, t.tgenabled FROM pg_catalog.pg_trigger t
WHERE t.tgrelid = 'kpi.measurement_y2026'::regclass AND NOT t.tgisinternal ORDER BY 1;

-- ---------------------------------------------------------------------
-- 1. Writers of kpi.measurement, rows in every partition
-- ---------------------------------------------------------------------
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator)
SELECT i.id, s.id, timestamptz '2024-11-01 00:00+08' + d * interval '1 day' + interval '7 hours',
       (d % 17) - 3, CASE WHEN i.code = 'pt.ratio' THEN 10 + d % 5 END
FROM kpi.indicator i, kpi.scope s, generate_series(0, 540, 2) d
WHERE i.code LIKE 'pt.%' AND s.code IN ('pt.n', 'pt.s');
SELECT kpi.record('pt.sum', 'pt.n', 4.5, '2026-12-31 23:30+08') > 0 AS recorded;   -- the company's 2026's last half hour
SELECT tableoid::regclass AS partition, count(*) FROM kpi.measurement m
WHERE m.indicator_id IN (SELECT id FROM kpi.indicator WHERE code LIKE 'pt.%') GROUP BY 1 ORDER BY 1;
SELECT count(*) AS problems FROM kpi.verify();
-- an update that moves rows from one partition to another, and a delete
UPDATE kpi.measurement SET at = at + interval '1 year', value = value + 1
WHERE indicator_id = kpi.indicator_id('pt.sum') AND at < '2025-01-01 00:00+08';
DELETE FROM kpi.measurement WHERE at >= '2025-06-01 00:00+08' AND at < '2025-06-15 00:00+08';
SELECT tableoid::regclass AS partition, count(*) FROM kpi.measurement m
WHERE m.indicator_id IN (SELECT id FROM kpi.indicator WHERE code LIKE 'pt.%') GROUP BY 1 ORDER BY 1;
SELECT count(*) AS problems FROM kpi.verify();
-- MERGE, the upsert by id: rows moved to another partition (whose old
-- version PostgreSQL leaves out of the transition tables), rows inserted,
-- and a MERGE that deletes
MERGE INTO kpi.measurement m
USING (SELECT id, at + interval '1 year' AS at, value * 2 AS value FROM kpi.measurement
       WHERE indicator_id = kpi.indicator_id('pt.sum') AND at < '2025-03-01 00:00+08'
       UNION ALL
       SELECT nextval('kpi.measurement_id_seq'), timestamptz '2026-02-02 00:00+08', 11) x ON m.id = x.id
WHEN MATCHED THEN UPDATE SET at = x.at, value = x.value
WHEN NOT MATCHED THEN INSERT (id, indicator_id, scope_id, at, value)
    VALUES (x.id, kpi.indicator_id('pt.sum'), kpi.scope_id('pt.n'), x.at, x.value);
-- a MERGE that only updates: PostgreSQL leaves the moved row's new version
-- out of every transition table as well
MERGE INTO kpi.measurement m
USING (SELECT id FROM kpi.measurement
       WHERE indicator_id = kpi.indicator_id('pt.ratio') AND at < '2025-02-01 00:00+08') x ON m.id = x.id
WHEN MATCHED THEN UPDATE SET at = m.at + interval '400 days', value = m.value + 1;
MERGE INTO kpi.measurement m
USING (SELECT id FROM kpi.measurement WHERE indicator_id = kpi.indicator_id('pt.last') AND id % 5 = 0) x ON m.id = x.id
WHEN MATCHED THEN DELETE;
SELECT count(*) AS problems FROM kpi.verify();
-- an upsert by id with ON CONFLICT has no unique key on id alone to use
-- (42P10): each partition has its own; MERGE does it
SELECT kpi_try($$INSERT INTO kpi.measurement (id, indicator_id, scope_id, at, value)
                 VALUES (1, kpi.indicator_id('pt.sum'), kpi.scope_id('pt.n'), '2026-03-01', 1)
                 ON CONFLICT (id) DO UPDATE SET value = excluded.value$$);
-- the company's 2026 against the rows, whichever partition holds them
SELECT sc.actual = (SELECT sum(m.value) FROM kpi.measurement m
                    WHERE m.indicator_id = kpi.indicator_id('pt.sum')
                      AND m.at >= '2026-01-01 00:00+08' AND m.at < '2027-01-01 00:00+08') AS year_equals_rows
FROM kpi.scorecard sc
WHERE sc.indicator = 'pt.sum' AND sc.scope = 'pt' AND sc.period = '2026';
-- the checks of kpi.measurement hold in every partition (23514, 23503)
SELECT kpi_try($$INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
                 VALUES (kpi.indicator_id('pt.sum'), kpi.scope_id('pt.n'), '2026-03-01', 'Infinity')$$);
SELECT kpi_try($$INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
                 VALUES (-1, kpi.scope_id('pt.n'), '2026-03-01', 1)$$);

-- ---------------------------------------------------------------------
-- 2. A restore: rows loaded straight into a partition are folded in
-- ---------------------------------------------------------------------
-- the settings pg_dump's scripts and pg_restore start with (kpi.in_restore())
SET LOCAL check_function_bodies = off;
SET LOCAL row_security = off;
SELECT kpi.in_restore();
-- a partition's own rows, as pg_restore loads them without
-- --load-via-partition-root: kpi.actual takes them, and the partition's
-- foreign keys wait for the end of the load's transaction (replica), as
-- for kpi's own tables
INSERT INTO kpi.measurement_y2026 (indicator_id, scope_id, at, value, source)
SELECT kpi.indicator_id('pt.sum'), kpi.scope_id('pt.s'), timestamptz '2026-05-05 10:00+08' + d * interval '1 hour', 10, 'restored'
FROM generate_series(1, 5) d;
SELECT current_setting('session_replication_role') AS role_in_partition_load;
SET LOCAL session_replication_role = origin;
-- rows through kpi.measurement (--load-via-partition-root) or into
-- kpi.measurement_default are its statement triggers': counted once
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, source)
SELECT kpi.indicator_id('pt.sum'), kpi.scope_id('pt.n'), timestamptz '2026-05-05 10:00+08' + d * interval '1 year', 7, 'restored'
FROM generate_series(-3, 0) d;
INSERT INTO kpi.measurement_default (indicator_id, scope_id, at, value, source)
VALUES (kpi.indicator_id('pt.sum'), kpi.scope_id('pt.n'), '2023-01-01 10:00+08', 3, 'restored');
SELECT current_setting('session_replication_role') AS role_after_root_load;
RESET check_function_bodies;
RESET row_security;
SELECT kpi.in_restore();
SELECT tableoid::regclass AS partition, count(*) FROM kpi.measurement WHERE source = 'restored' GROUP BY 1 ORDER BY 1;
SELECT count(*) AS problems FROM kpi.verify();

-- ---------------------------------------------------------------------
-- 3. A partition written directly outside a restore: the owner's storage,
--    not a write path; kpi.verify() reports it, kpi.repair() mends it
-- ---------------------------------------------------------------------
INSERT INTO kpi.measurement_y2026 (indicator_id, scope_id, at, value)
VALUES (kpi.indicator_id('pt.sum'), kpi.scope_id('pt.s'), '2026-08-08 08:00+08', 100);
SELECT problem, indicator, scope, period FROM kpi.verify() ORDER BY 1, 2, 3, 4;
SELECT count(*) > 0 AS repaired FROM kpi.repair();
SELECT count(*) AS problems FROM kpi.verify();

-- ---------------------------------------------------------------------
-- 4. The row trigger refuses other uses (39P01)
-- ---------------------------------------------------------------------
SELECT kpi_try($$SELECT kpi.measurement_restore_row()$$);
CREATE TABLE pg_temp.not_a_partition (LIKE kpi.measurement);
CREATE TRIGGER misuse BEFORE INSERT ON pg_temp.not_a_partition
    FOR EACH ROW EXECUTE FUNCTION kpi.measurement_restore_row();
SELECT kpi_try($$INSERT INTO pg_temp.not_a_partition (id, indicator_id, scope_id, value) VALUES (1, 1, 1, 1)$$);
CREATE TRIGGER misuse BEFORE INSERT ON kpi.measurement_y2025
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_restore_row();
SELECT kpi_try($$INSERT INTO kpi.measurement_y2025 (indicator_id, scope_id, at, value)
                 VALUES (kpi.indicator_id('pt.sum'), kpi.scope_id('pt.n'), '2025-03-01', 1)$$);
DROP TRIGGER misuse ON kpi.measurement_y2025;
SELECT kpi_try($$SELECT kpi.measurement_moved_row()$$);
CREATE TRIGGER misuse AFTER INSERT ON kpi.measurement_y2025
    FOR EACH ROW EXECUTE FUNCTION kpi.measurement_moved_row();
SELECT kpi_try($$INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
                 VALUES (kpi.indicator_id('pt.sum'), kpi.scope_id('pt.n'), '2025-03-01', 1)$$);
DROP TRIGGER misuse ON kpi.measurement_y2025;

-- ---------------------------------------------------------------------
-- 5. TRUNCATE of kpi.measurement empties every partition; keys with a
--    target stay, without data
-- ---------------------------------------------------------------------
TRUNCATE kpi.measurement;
SELECT count(*) AS measurements FROM kpi.measurement;
SELECT indicator, scope, period, actual, target FROM kpi.scorecard WHERE indicator LIKE 'pt.%' ORDER BY 1, 2, 3;
SELECT count(*) AS problems FROM kpi.verify();
ROLLBACK;
