-- subtree: kpi.subtree, the tally of each non-leaf scope's subtree per
-- indicator and period, kept by kpi.subtree_refresh() (kpi.evaluate() runs
-- it) from the marks writers append to kpi.subtree_stale.  What is proved:
-- kpi.rollup gives the same rows whether it reads the kept rows, merges
-- the branches itself (everything marked), or mixes the two (some keys
-- marked), after every kind of change; kpi.verify() finds a kept row that
-- is wrong and kpi.repair() rebuilds it.  In one transaction, rolled back.
SET TimeZone = 'UTC';
SET extra_float_digits = 0;
-- the earlier suites' writes left marks (no kpi.evaluate() ran): take
-- them, and give their pages back, or the kept rows would not be read
-- (section 9)
SELECT kpi.subtree_refresh() >= 0 AS refreshed;
VACUUM kpi.subtree_stale;
BEGIN;

-- sb > sb.n > sb.n.a, sb.n.b; sb > sb.s
INSERT INTO kpi.scope (code, name) VALUES ('sb', 'Company');
INSERT INTO kpi.scope (code, name, parent_id)
VALUES ('sb.n', 'North', kpi.scope_id('sb')), ('sb.s', 'South', kpi.scope_id('sb'));
INSERT INTO kpi.scope (code, name, parent_id)
VALUES ('sb.n.a', 'North A', kpi.scope_id('sb.n')), ('sb.n.b', 'North B', kpi.scope_id('sb.n'));
INSERT INTO kpi.indicator (code, name, owner, agg) VALUES
    ('sb.all', 'Everything', 'ann', 'sum'),
    ('sb.rev', 'Revenue', 'ann', 'sum'),
    ('sb.margin', 'Margin', 'ann', 'ratio'),
    ('sb.stock', 'Stock', 'ann', 'last'),
    ('sb.csat', 'Satisfaction', 'ann', 'avg');
INSERT INTO kpi.link (parent_id, child_id, weight)
SELECT kpi.indicator_id('sb.all'), kpi.indicator_id(c), 1
FROM unnest(ARRAY['sb.rev', 'sb.margin', 'sb.stock', 'sb.csat']) c;
SELECT count(*) AS recorded FROM (
    SELECT kpi.record('sb.rev', s, v, t)
    FROM (VALUES ('sb.n.a', 100, '2026-01-10'::timestamptz), ('sb.n.b', 50, '2026-01-12'),
                 ('sb.s', 80, '2026-02-03'), ('sb.n', 5, '2026-02-04'), ('sb', 1, '2026-03-01')) v(s, v, t)
    UNION ALL
    SELECT kpi.record_ratio('sb.margin', s, n, d, t)
    FROM (VALUES ('sb.n.a', 30, 100, '2026-01-10'::timestamptz), ('sb.n.b', 10, 50, '2026-01-20'),
                 ('sb.s', -8, 80, '2026-02-03')) v(s, n, d, t)
    UNION ALL
    SELECT kpi.record('sb.stock', s, v, t)
    FROM (VALUES ('sb.n.a', 7, '2026-01-05'::timestamptz), ('sb.n.a', 9, '2026-01-25'),
                 ('sb.n.b', 4, '2026-01-31'), ('sb.s', 11, '2026-03-31')) v(s, v, t)
    UNION ALL
    SELECT kpi.record('sb.csat', s, v, t)
    FROM (VALUES ('sb.n.a', 4.5, '2026-01-10'::timestamptz), ('sb.s', 3.5, '2026-02-10')) v(s, v, t)) r;
SELECT kpi.set_target('sb.rev', 'sb', '2026-Q1', '>= 250') > 0 AS target_set;
SELECT kpi.set_target('sb.margin', 'sb.n', '2026-Q1', '>= 0.3') > 0 AS target_set;
-- a target alone, with no data under it: its kpi.actual row counts
SELECT kpi.set_target('sb.csat', 'sb.n.b', '2026-Q1', '>= 4') > 0 AS target_set;

-- Every rollup row of the company's scopes for the periods of 2026, as
-- read now, against the same with everything marked (the branches merged
-- in kpi.rollup): the rows that differ, or that only one side has.
CREATE FUNCTION pg_temp.rollups() RETURNS TABLE (scope text, period text, code text, actual float8,
                                                 target float8, score float8, status kpi.status, coverage float8)
    LANGUAGE sql AS $$
    SELECT s.code, p.period::text, r.code, r.actual, r.target, r.score, r.status, r.coverage
    FROM kpi.scope s
    CROSS JOIN (SELECT DISTINCT a.period FROM kpi.actual a JOIN kpi.scope s ON s.id = a.scope_id
                WHERE s.code LIKE 'sb%') p
    CROSS JOIN LATERAL kpi.rollup(p.period, s.code) r
    WHERE s.code LIKE 'sb%' AND r.code LIKE 'sb.%'
$$;
CREATE FUNCTION pg_temp.differ() RETURNS TABLE (rows bigint, different bigint)
    LANGUAGE plpgsql AS $$
DECLARE
    mark tid;
BEGIN
    CREATE TEMP TABLE now_read ON COMMIT DROP AS SELECT * FROM pg_temp.rollups();
    INSERT INTO kpi.subtree_stale VALUES (NULL, NULL) RETURNING ctid INTO mark;
    CREATE TEMP TABLE merged ON COMMIT DROP AS SELECT * FROM pg_temp.rollups();
    DELETE FROM kpi.subtree_stale WHERE ctid = mark;   -- this mark only
    RETURN QUERY
    SELECT count(*), count(*) FILTER (WHERE n.code IS NULL OR m.code IS NULL
                                        OR abs(n.actual - m.actual) > 1e-9 OR (n.actual IS NULL) <> (m.actual IS NULL)
                                        OR n.target IS DISTINCT FROM m.target
                                        OR abs(n.score - m.score) > 1e-9 OR (n.score IS NULL) <> (m.score IS NULL)
                                        OR n.status IS DISTINCT FROM m.status
                                        OR abs(n.coverage - m.coverage) > 1e-9)
    FROM now_read n FULL JOIN merged m USING (scope, period, code);
    DROP TABLE now_read;
    DROP TABLE merged;
END $$;

-- 1. Writers marked what they changed; the refresh takes every mark
SELECT count(*) > 0 AS marked FROM kpi.subtree_stale;
SELECT kpi.subtree_refresh() > 0 AS refreshed;
SELECT count(*) AS marks FROM kpi.subtree_stale;
-- the kept rows: the company and the north region (sb.s and the branches
-- have no scopes below them)
SELECT s.code AS scope, i.code AS indicator, k.period::text, kpi.value(k.tally, i.agg) AS value,
       k.level_sum, k.nrows
FROM kpi.subtree k JOIN kpi.scope s ON s.id = k.scope_id JOIN kpi.indicator i ON i.id = k.indicator_id
WHERE k.period::text IN ('2026-01', '2026-Q1')
ORDER BY 1, 2, 3;
SELECT * FROM pg_temp.differ();
SELECT count(*) AS problems FROM kpi.verify() WHERE problem LIKE 'subtree%';

-- The company's figures, read from the kept rows: revenue 236 (= 100 + 50
-- + 80 + 5 + 1), margin 32/230, stock 9 + 4 + 11 = 24 (levels add up
-- across scopes), csat (4.5 + 3.5) / 2
SELECT code, actual, target, status FROM kpi.rollup('2026-Q1', 'sb') WHERE code LIKE 'sb.%' ORDER BY code;
-- read through the primary key of kpi.subtree, and a branch's own rows
-- through (period, scope_id) of kpi.actual
SELECT pg_stat_get_xact_numscans('kpi.subtree_pkey'::regclass) AS kept_before,
       pg_stat_get_xact_numscans('kpi.actual_period_scope'::regclass) AS own_before \gset
SELECT count(*) FROM kpi.rollup('2026-Q1', 'sb.n') WHERE code LIKE 'sb.%';
SELECT count(*) FROM kpi.rollup('2026-Q1', 'sb.n.a') WHERE code LIKE 'sb.%';
SELECT pg_stat_get_xact_numscans('kpi.subtree_pkey'::regclass) > :kept_before AS kept_read,
       pg_stat_get_xact_numscans('kpi.actual_period_scope'::regclass) > :own_before AS own_read;

-- 2. New data at a branch: marked, read merged until the refresh
SELECT kpi.record('sb.rev', 'sb.n.b', 14, '2026-03-15') > 0 AS recorded;
SELECT indicator_id = kpi.indicator_id('sb.rev') AS rev, period::text FROM kpi.subtree_stale ORDER BY 2;
SELECT actual FROM kpi.rollup('2026-Q1', 'sb') WHERE code = 'sb.rev';
SELECT * FROM pg_temp.differ();
SELECT kpi.subtree_refresh() > 0 AS refreshed;
SELECT actual FROM kpi.rollup('2026-Q1', 'sb') WHERE code = 'sb.rev';
SELECT * FROM pg_temp.differ();

-- 3. Updates, deletes and a target removed
UPDATE kpi.measurement SET value = 90 WHERE indicator_id = kpi.indicator_id('sb.rev') AND value = 100;
DELETE FROM kpi.measurement WHERE indicator_id = kpi.indicator_id('sb.stock') AND value = 4;
DELETE FROM kpi.target WHERE indicator_id = kpi.indicator_id('sb.csat');
SELECT * FROM pg_temp.differ();
SELECT kpi.subtree_refresh() > 0 AS refreshed;
SELECT * FROM pg_temp.differ();
SELECT count(*) AS problems FROM kpi.verify() WHERE problem LIKE 'subtree%';

-- 4. A scope moved (sb.n.b to the south), a scope added under a branch
-- that had none: everything is marked, the next refresh rebuilds
UPDATE kpi.scope SET parent_id = kpi.scope_id('sb.s') WHERE code = 'sb.n.b';
SELECT count(*) AS whole_marks FROM kpi.subtree_stale WHERE indicator_id IS NULL;
SELECT * FROM pg_temp.differ();
SELECT kpi.subtree_refresh() > 0 AS refreshed;
SELECT * FROM pg_temp.differ();
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('sb.n.a.x', 'Shop', kpi.scope_id('sb.n.a'));
SELECT * FROM pg_temp.differ();
SELECT kpi.subtree_refresh() > 0 AS refreshed;
SELECT * FROM pg_temp.differ();
-- an indicator's agg changed: its keys are evaluated again, and marked
UPDATE kpi.indicator SET agg = 'max' WHERE code = 'sb.stock';
SELECT count(*) > 0 AS marked FROM kpi.subtree_stale WHERE indicator_id = kpi.indicator_id('sb.stock');
SELECT kpi.subtree_refresh() > 0 AS refreshed;
SELECT * FROM pg_temp.differ();
SELECT count(*) AS problems FROM kpi.verify() WHERE problem LIKE 'subtree%';

-- 5. kpi.evaluate() refreshes first
SELECT kpi.record('sb.rev', 'sb.s', 3, '2026-03-20') > 0 AS recorded;
SELECT judged >= 0 AS evaluated FROM kpi.evaluate('2026-03-21');
SELECT count(*) AS marks FROM kpi.subtree_stale;

-- 6. A kept row written by hand: kpi.verify() reports it (readers would
-- trust it), kpi.repair() rebuilds the table
UPDATE kpi.subtree SET nrows = nrows + 1
WHERE scope_id = kpi.scope_id('sb') AND indicator_id = kpi.indicator_id('sb.rev') AND period::text = '2026-Q1';
SELECT problem, indicator, scope, period FROM kpi.verify() WHERE problem LIKE 'subtree%';
SELECT problem, indicator, scope, period, action FROM kpi.repair() WHERE problem LIKE 'subtree%';
SELECT count(*) AS problems FROM kpi.verify() WHERE problem LIKE 'subtree%';
SELECT * FROM pg_temp.differ();

-- 6b. The whole organisation (scope NULL) is one tree when every other
-- top-level scope goes under sb: it reads sb's kept rows, and gives sb's
-- rows
UPDATE kpi.scope SET parent_id = kpi.scope_id('sb') WHERE parent_id IS NULL AND code <> 'sb';
SELECT kpi.subtree_refresh() > 0 AS refreshed;
SELECT pg_stat_get_xact_numscans('kpi.subtree_pkey'::regclass) AS kept_before \gset
SELECT count(*) AS rows, count(*) FILTER (WHERE o.code IS NULL OR w.code IS NULL OR w.actual IS DISTINCT FROM o.actual
                                              OR w.score IS DISTINCT FROM o.score) AS different
FROM (SELECT * FROM kpi.rollup('2026-Q1') WHERE code LIKE 'sb.%') w
FULL JOIN (SELECT * FROM kpi.rollup('2026-Q1', 'sb') WHERE code LIKE 'sb.%') o USING (indicator_id);
SELECT pg_stat_get_xact_numscans('kpi.subtree_pkey'::regclass) > :kept_before AS kept_read;

-- 7. Who may do what.  A role that sees only the north region reads its
-- rollup from the kept rows (as the owner reads them) and gets the
-- owner's rows; kpi.subtree itself shows it the north only; it may not
-- refresh, mark or write.
CREATE ROLE kpi_sb_north;
GRANT USAGE ON SCHEMA kpi TO kpi_sb_north;
GRANT SELECT ON kpi.actual, kpi.scope, kpi.indicator, kpi.link, kpi.target, kpi.subtree TO kpi_sb_north;
INSERT INTO kpi.scope_member (scope_id, role) VALUES (kpi.scope_id('sb.n'), 'kpi_sb_north');
CREATE TEMP TABLE owner_rows AS SELECT code, actual, score FROM kpi.rollup('2026-Q1', 'sb.n') WHERE code LIKE 'sb.%';
GRANT SELECT ON owner_rows TO kpi_sb_north;
SET ROLE kpi_sb_north;
SET search_path = evil, pg_catalog;
SELECT count(*) AS rows, count(*) FILTER (WHERE o.code IS NULL OR r.actual IS DISTINCT FROM o.actual
                                              OR r.score IS DISTINCT FROM o.score) AS different
FROM (SELECT * FROM kpi.rollup('2026-Q1', 'sb.n') WHERE code LIKE 'sb.%') r FULL JOIN owner_rows o USING (code);
SELECT DISTINCT s.code FROM kpi.subtree k JOIN kpi.scope s ON s.id = k.scope_id ORDER BY 1;
SAVEPOINT denied;
SELECT kpi.subtree_refresh();
ROLLBACK TO denied;
INSERT INTO kpi.subtree_stale VALUES (NULL, NULL);
ROLLBACK TO denied;
DELETE FROM kpi.subtree;
ROLLBACK TO denied;
SELECT count(*) FROM kpi.rollup('2026-Q1', 'sb');
ROLLBACK TO denied;
RESET search_path;
RESET ROLE;
-- without SELECT on kpi.actual the kept rows do not help: refused as before
REVOKE SELECT ON kpi.actual FROM kpi_sb_north;
SET ROLE kpi_sb_north;
SAVEPOINT denied2;
SELECT count(*) FROM kpi.rollup('2026-Q1', 'sb.n');
ROLLBACK TO denied2;
RESET ROLE;

-- 8. The trigger refuses a table that is not kpi.scope
CREATE TABLE public.sb_fake (id int);
CREATE TRIGGER steal AFTER INSERT ON public.sb_fake FOR EACH STATEMENT EXECUTE FUNCTION kpi.subtree_scopes_changed();
SAVEPOINT fake;
INSERT INTO public.sb_fake VALUES (1);
ROLLBACK TO fake;

-- 9. Marks that pile up (kpi.evaluate() never runs) past 8 pages and one
-- page in 64 of kpi.actual's: the kept rows are no longer read, the
-- branches are merged as before 0.14, with the same rows (last: the
-- table's pages stay once grown)
INSERT INTO kpi.subtree_stale (indicator_id, period) SELECT 0, '2026-01' FROM generate_series(1, 5000);
SELECT pg_stat_get_xact_numscans('kpi.subtree_pkey'::regclass) AS kept_before \gset
SELECT * FROM pg_temp.differ();
SELECT pg_stat_get_xact_numscans('kpi.subtree_pkey'::regclass) = :kept_before AS kept_not_read;

ROLLBACK;
