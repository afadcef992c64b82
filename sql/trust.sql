-- trust: what release 0.5 guarantees about the live state.  Owner rights
-- stay the owner's; bad data is refused at the statement that writes it,
-- for INSERT, UPDATE and COPY alike; periods are the company's, never the
-- session's; a re-created extension works in the same session; and
-- kpi.verify() / kpi.repair() find and fix drift.
SET datestyle = ISO;
SET timezone = 'UTC';
SET search_path = public;
SET client_min_messages = warning;

-- try(sql): run a statement, say 'ok' or its SQLSTATE and message
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;

INSERT INTO kpi.scope (code, name) VALUES ('co', 'Company');
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('co.a', 'Branch A', kpi.scope_id('co')),
                                                     ('co.b', 'Branch B', kpi.scope_id('co'));
INSERT INTO kpi.indicator (code, name, agg, owner) VALUES
    ('t.rev', 'Revenue', 'sum', 'alice'),
    ('t.margin', 'Margin', 'ratio', 'bob'),
    ('t.old', 'Old report', 'sum', 'carol');

-- ---------------------------------------------------------------------
-- 1. Owner rights.  No function that runs with the owner's rights, and no
-- trigger function, is executable by PUBLIC.
-- ---------------------------------------------------------------------
SELECT p.oid::regprocedure AS public_can_execute
FROM pg_proc p
JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'kpi'
WHERE (p.prosecdef OR p.prorettype = 'trigger'::regtype)
  AND (p.proacl IS NULL
       OR EXISTS (SELECT FROM aclexplode(p.proacl) a WHERE a.grantee = 0 AND a.privilege_type = 'EXECUTE'))
  AND p.proname NOT IN ('indicator_touch', 'scope_check', 'link_check', 'setting_check',
                       'history_truncate', 'scope_member_check', 'review_check', 'finding_check', 'action_check',
                       'sources_check')
ORDER BY 1;
-- the invoker-rights triggers left out above write as the caller does
SELECT p.proname, p.prosecdef FROM pg_proc p
WHERE p.pronamespace = 'kpi'::regnamespace
  AND p.proname IN ('indicator_touch', 'scope_check', 'link_check', 'setting_check',
                    'history_truncate', 'scope_member_check', 'review_check', 'finding_check', 'action_check',
                    'sources_check')
ORDER BY 1;

-- nothing waits for kpi.evaluate() (earlier suites' changes are judged)
SELECT count(*) AS evaluations FROM kpi.evaluate();
-- a read-only BI login: it can read, and nothing else
CREATE ROLE kpi_trust_reader NOLOGIN;
GRANT USAGE ON SCHEMA kpi TO kpi_trust_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA kpi TO kpi_trust_reader;
SET ROLE kpi_trust_reader;
-- attack 1: borrow the measurement trigger for a table of its own, with a
-- transition table named like the real one
CREATE TEMP TABLE fake (LIKE kpi.measurement);
SELECT pg_temp.try($$CREATE TRIGGER steal AFTER INSERT ON fake REFERENCING NEW TABLE AS kpi_new_rows
                     FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync()$$);
SELECT pg_temp.try($$CREATE TRIGGER steal AFTER UPDATE ON fake REFERENCING OLD TABLE AS kpi_old_rows NEW TABLE AS kpi_new_rows
                     FOR EACH STATEMENT EXECUTE FUNCTION kpi.indicator_sync()$$);
SELECT pg_temp.try($$CREATE TRIGGER steal AFTER INSERT ON fake REFERENCING NEW TABLE AS kpi_new_rows
                     FOR EACH STATEMENT EXECUTE FUNCTION kpi.target_sync()$$);
-- attack 2: a full rebuild, or a repair, as the owner
SELECT pg_temp.try('SELECT kpi.actual_rebuild(NULL)');
SELECT pg_temp.try('SELECT * FROM kpi.repair()');
-- and no writes to what it may only read
SELECT pg_temp.try($$INSERT INTO kpi.actual (indicator_id, scope_id, period, tally)
                     VALUES (1, 1, '2026-07', 'count=0')$$);
SELECT pg_temp.try($$SELECT kpi.record('t.rev', 'co.a', 1e9)$$);
-- reading and verifying are fine
SELECT count(*) AS problems FROM kpi.verify();
RESET ROLE;
DROP TABLE fake;

-- even the owner cannot attach the C triggers to another table
CREATE TEMP TABLE fake (LIKE kpi.measurement INCLUDING DEFAULTS);
CREATE TRIGGER steal AFTER INSERT ON fake REFERENCING NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();
SELECT pg_temp.try($$INSERT INTO fake (id, indicator_id, scope_id, value) VALUES (1, 1, 1, 1e9)$$);
DROP TABLE fake;
CREATE TEMP TABLE fake (id int);
CREATE TRIGGER steal AFTER INSERT ON fake FOR EACH ROW EXECUTE FUNCTION kpi.target_sync();
SELECT pg_temp.try('INSERT INTO fake VALUES (1)');
DROP TABLE fake;
-- nor any of its PL/pgSQL trigger functions: each, attached to a table of
-- another schema before and after each row and the statement, refuses
-- with 39P01 (trigger_protocol_violated) like the C ones; none writes
CREATE TABLE public.fake (id int);
CREATE TEMP TABLE guard (fn text, outcome text);
DO $$
DECLARE f regprocedure; w text; l text; r text;
BEGIN
    FOR f IN SELECT p.oid::regprocedure FROM pg_proc p
             WHERE p.pronamespace = 'kpi'::regnamespace AND p.prorettype = 'trigger'::regtype
               AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'plpgsql') ORDER BY 1::text LOOP
        FOREACH w IN ARRAY '{BEFORE,AFTER}'::text[] LOOP
            FOREACH l IN ARRAY '{ROW,STATEMENT}'::text[] LOOP
                EXECUTE format('CREATE TRIGGER steal %s INSERT ON public.fake FOR EACH %s EXECUTE FUNCTION %s()',
                               w, l, f::regproc);
                r := pg_temp.try('INSERT INTO public.fake VALUES (1)');
                INSERT INTO guard VALUES (f::text, w || ' ' || l || ': ' || split_part(r, ':', 1));
                DROP TRIGGER steal ON public.fake;
            END LOOP;
        END LOOP;
    END LOOP;
END $$;
SELECT fn, string_agg(outcome, ', ' ORDER BY outcome) AS outcomes FROM guard GROUP BY fn ORDER BY fn;
SELECT count(*) AS rows_written FROM public.fake;
DROP TABLE public.fake;

-- ---------------------------------------------------------------------
-- 2. Bad data gets a clear error at the statement that writes it.
-- ---------------------------------------------------------------------
-- sums that leave the float8 range: 22003, and the actual stays finite
SELECT kpi.record('t.rev', 'co.a', 1e308, '2026-07-01') > 0 AS recorded;
SELECT pg_temp.try($$SELECT kpi.record('t.rev', 'co.a', 1e308, '2026-07-02')$$);
SELECT pg_temp.try($$INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
                     VALUES (kpi.indicator_id('t.rev'), kpi.scope_id('co.a'), '2026-07-03', 1e308)$$);
SELECT period, value FROM kpi.actual
WHERE indicator_id = kpi.indicator_id('t.rev') ORDER BY period;
DELETE FROM kpi.measurement WHERE value = 1e308;
SELECT count(*) AS rows_left FROM kpi.actual WHERE indicator_id = kpi.indicator_id('t.rev');

-- times whose local date has no period (before year 1, after 9999): 22008;
-- year 1 itself is fine, and the scorecard stays readable
SELECT pg_temp.try($$SELECT kpi.record('t.rev', 'co.a', 5, '10000-01-01 00:00+00')$$);
SELECT pg_temp.try($$SELECT kpi.record('t.rev', 'co.a', 5, '0001-01-01 00:00+00'::timestamptz - interval '1 second')$$);
SELECT pg_temp.try($$SELECT kpi.record('t.rev', 'co.a', 5, '0001-01-01 00:00+00')$$);
SELECT pg_temp.try($$SELECT kpi.record('t.rev', 'co.a', 5, '9999-12-31 23:00+00')$$);
SELECT scope, period, actual, previous_actual, last_year_actual FROM kpi.scorecard
WHERE indicator = 't.rev' ORDER BY period_start, grain, scope;
DELETE FROM kpi.measurement WHERE indicator_id = kpi.indicator_id('t.rev');

-- ratio indicators need a denominator: INSERT, UPDATE and COPY alike
SELECT kpi.record_ratio('t.margin', 'co.a', 30, 100, '2026-07-05') > 0 AS recorded;
SELECT pg_temp.try($$SELECT kpi.record('t.margin', 'co.a', 30, '2026-07-05')$$);
SELECT pg_temp.try($$UPDATE kpi.measurement SET denominator = NULL
                     WHERE indicator_id = kpi.indicator_id('t.margin')$$);
CREATE TEMP TABLE copy_in (indicator_id bigint, scope_id bigint, at timestamptz, value float8);
INSERT INTO copy_in VALUES (kpi.indicator_id('t.margin'), kpi.scope_id('co.a'), '2026-07-06', 31);
COPY copy_in TO '/tmp/kpi_trust_copy.csv' WITH (FORMAT csv);
SELECT pg_temp.try($$COPY kpi.measurement (indicator_id, scope_id, at, value)
                     FROM '/tmp/kpi_trust_copy.csv' WITH (FORMAT csv)$$);
-- and an indicator becomes a ratio only when all its values have one
SELECT kpi.record('t.rev', 'co.a', 10, '2026-07-05') > 0 AS recorded;
SELECT pg_temp.try($$UPDATE kpi.indicator SET agg = 'ratio' WHERE code = 't.rev'$$);
-- values recorded with a denominator feed the ratio sums whatever the agg:
-- a switch to ratio then needs no rebuild
UPDATE kpi.measurement SET denominator = 40 WHERE indicator_id = kpi.indicator_id('t.rev');
UPDATE kpi.indicator SET agg = 'ratio' WHERE code = 't.rev';
SELECT period, value FROM kpi.actual WHERE indicator_id = kpi.indicator_id('t.rev') ORDER BY period;
UPDATE kpi.indicator SET agg = 'sum' WHERE code = 't.rev';
SELECT period, value FROM kpi.actual WHERE indicator_id = kpi.indicator_id('t.rev') ORDER BY period;

-- retired indicators take no values, moved in or recorded; other changes
-- to their rows stay possible
SELECT kpi.record('t.old', 'co.a', 1, '2026-07-01') > 0 AS recorded;
UPDATE kpi.indicator SET lifecycle = 'retired' WHERE code = 't.old';
SELECT pg_temp.try($$SELECT kpi.record('t.old', 'co.a', 1, '2026-07-02')$$);
SELECT pg_temp.try($$UPDATE kpi.measurement SET indicator_id = kpi.indicator_id('t.old')
                     WHERE indicator_id = kpi.indicator_id('t.rev')$$);
SELECT pg_temp.try($$UPDATE kpi.measurement SET value = 2 WHERE indicator_id = kpi.indicator_id('t.old')$$);
SELECT pg_temp.try($$UPDATE kpi.measurement SET note = 'checked' WHERE indicator_id = kpi.indicator_id('t.old')$$);
UPDATE kpi.indicator SET lifecycle = 'active' WHERE code = 't.old';

-- targets only at grains the indicator keeps (23514), and grains cannot
-- drop a grain that has targets
SELECT pg_temp.try($$SELECT kpi.set_target('t.rev', 'co.a', '2026-W27', '>= 10')$$);
SELECT kpi.set_target('t.rev', 'co.a', '2026-07', '>= 100') > 0 AS target_set;
SELECT pg_temp.try($$UPDATE kpi.target SET period = '2026-07-05' WHERE indicator_id = kpi.indicator_id('t.rev')$$);
SELECT pg_temp.try($$UPDATE kpi.indicator SET grains = '{quarter,year}' WHERE code = 't.rev'$$);
UPDATE kpi.indicator SET grains = '{day,month,quarter,year}' WHERE code = 't.rev';
SELECT pg_temp.try($$SELECT kpi.set_target('t.rev', 'co.a', '2026-07-05', '>= 5')$$);
DELETE FROM kpi.target WHERE period::text = '2026-07-05';
UPDATE kpi.indicator SET grains = '{month,quarter,year}' WHERE code = 't.rev';
SELECT count(*) FILTER (WHERE kpi.grain(period) = 'day') AS day_rows, count(*) AS all_rows
FROM kpi.actual WHERE indicator_id = kpi.indicator_id('t.rev');

-- a key with a target and no data has a row with an empty tally
SELECT s.code, a.period, kpi.value(a.tally, 'count') AS n, a.value, a.target, a.status
FROM kpi.actual a JOIN kpi.scope s ON s.id = a.scope_id
WHERE a.indicator_id = kpi.indicator_id('t.rev') AND a.period::text = '2026-07' ORDER BY 1;
SELECT kpi.set_target('t.rev', 'co.b', '2026-07', '>= 100') > 0 AS target_set;
SELECT s.code, a.period, kpi.value(a.tally, 'count') AS n, a.value, a.target, a.status
FROM kpi.actual a JOIN kpi.scope s ON s.id = a.scope_id
WHERE a.indicator_id = kpi.indicator_id('t.rev') AND a.period::text = '2026-07' ORDER BY 1;
DELETE FROM kpi.target WHERE scope_id = kpi.scope_id('co.b');
SELECT count(*) AS co_b_rows FROM kpi.actual WHERE scope_id = kpi.scope_id('co.b');

-- ---------------------------------------------------------------------
-- 3. Periods are the company's (kpi.setting time_zone), not the session's.
-- ---------------------------------------------------------------------
SELECT kpi.time_zone();
-- 20:00 UTC on 31 July: July in UTC, whatever zone the writer is in
SET timezone = 'Asia/Shanghai';
SELECT kpi.record('t.rev', 'co.b', 7, '2026-07-31 20:00+00') > 0 AS recorded;
SET timezone = 'America/New_York';
SELECT kpi.record('t.rev', 'co.b', 11, '2026-07-31 20:00+00') > 0 AS recorded;
-- an update from a third zone moves nothing else between months
SET timezone = 'Pacific/Chatham';
UPDATE kpi.measurement SET value = 12 WHERE value = 11 AND scope_id = kpi.scope_id('co.b');
SET timezone = 'UTC';
SELECT period, kpi.value(tally, 'count') AS n, value FROM kpi.actual
WHERE scope_id = kpi.scope_id('co.b') ORDER BY period;
-- the company moves to Shanghai: both values move to August, exactly
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai');
SELECT period, kpi.value(tally, 'count') AS n, value FROM kpi.actual
WHERE scope_id = kpi.scope_id('co.b') ORDER BY period;
SELECT kpi.period('2026-07-31 20:00+00', 'month', kpi.time_zone()) AS shanghai_month,
       kpi.period('2026-07-31 20:00+00', 'month', 'UTC') AS utc_month;
SELECT round(kpi.progress('2026-08', '2026-08-16 16:00+00', 'Asia/Shanghai')::numeric, 4) AS progress_shanghai,
       round(kpi.progress('2026-08', '2026-08-16 16:00+00', 'UTC')::numeric, 4) AS progress_utc;
-- settings are checked
SELECT pg_temp.try($$UPDATE kpi.setting SET value = 'Mars/Olympus' WHERE name = 'time_zone'$$);
SELECT pg_temp.try($$INSERT INTO kpi.setting (name, value) VALUES ('currency', 'CNY')$$);
SELECT pg_temp.try($$SELECT kpi.period(now(), 'month', 'Mars/Olympus')$$);
DELETE FROM kpi.setting;
SELECT kpi.time_zone();
SELECT period, value FROM kpi.actual WHERE scope_id = kpi.scope_id('co.b') ORDER BY period;
SELECT count(*) AS evaluations FROM kpi.evaluate();
SELECT count(*) AS problems FROM kpi.verify();

-- ---------------------------------------------------------------------
-- 4. kpi.verify() finds drift, kpi.repair() fixes it and says what it did.
-- Drift cannot come from the public write paths; here the owner makes it
-- by writing kpi.actual directly and by switching triggers off.
-- ---------------------------------------------------------------------
UPDATE kpi.actual SET tally = 'count=1, sum=999, min=999, max=999', value = 999
WHERE indicator_id = kpi.indicator_id('t.rev') AND scope_id = kpi.scope_id('co.a') AND period::text = '2026-07';
DELETE FROM kpi.actual WHERE indicator_id = kpi.indicator_id('t.margin') AND period::text = '2026';
UPDATE kpi.actual SET status = 'blue' WHERE indicator_id = kpi.indicator_id('t.rev') AND period::text = '2026-Q3'
  AND scope_id = kpi.scope_id('co.a');
-- replica mode skips the history's triggers; kpi.actual's fire ALWAYS
SET session_replication_role = replica;
UPDATE kpi.indicator SET description = 'changed behind the history''s back' WHERE code = 't.old';
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
VALUES (kpi.indicator_id('t.old'), kpi.scope_id('co.b'), '2026-08-01', 3);
RESET session_replication_role;
SELECT problem, indicator, scope, period FROM kpi.verify();
SELECT problem, indicator, scope, period, action FROM kpi.repair();
SELECT count(*) AS problems FROM kpi.verify();

-- ---------------------------------------------------------------------
-- 5. A session that restores a dump derives no history (the dump has it).
-- ---------------------------------------------------------------------
SELECT kpi.in_restore() AS normal_session;
SET check_function_bodies = off;
SET row_security = off;
SELECT kpi.in_restore() AS restore_session;
INSERT INTO kpi.indicator (code, name) VALUES ('t.restored', 'Restored');
RESET check_function_bodies;
RESET row_security;
SELECT count(*) AS history_rows FROM kpi.indicator_history
WHERE indicator_id = kpi.indicator_id('t.restored');
SELECT problem, indicator FROM kpi.verify();
DELETE FROM kpi.indicator WHERE code = 't.restored';

-- ---------------------------------------------------------------------
-- 6. DROP and CREATE EXTENSION in one session (connection pools keep
-- sessions for days): the trigger's kept plans follow the new types.
-- ---------------------------------------------------------------------
SELECT kpi.record('t.rev', 'co.a', 1, '2026-09-01') > 0 AS recorded;
SELECT count(*) > 0 AS rolled_up FROM kpi.rollup('2026-09');
DROP EXTENSION kpi CASCADE;
CREATE EXTENSION kpi;
INSERT INTO kpi.scope (code, name) VALUES ('co', 'Company');
INSERT INTO kpi.indicator (code, name) VALUES ('t.rev', 'Revenue');
SELECT kpi.set_target('t.rev', 'co', '2026-09', '>= 10') > 0 AS target_set;
SELECT kpi.record('t.rev', 'co', 4, '2026-09-01') > 0 AS recorded;
UPDATE kpi.measurement SET value = 5;
SELECT period, value, target, attainment, status FROM kpi.actual ORDER BY period;
SELECT code, actual, target FROM kpi.rollup('2026-09');
SELECT count(*) AS evaluations FROM kpi.evaluate();
SELECT count(*) AS problems FROM kpi.verify();

DROP OWNED BY kpi_trust_reader;
DROP ROLE kpi_trust_reader;
RESET client_min_messages;
RESET search_path;
RESET timezone;
RESET datestyle;
