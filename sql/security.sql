-- security: row-level security by organisation scope (SPEC §6).  The same
-- questions asked as the owner, a member of a region, a member of a
-- branch, a member through a group role and a role that is a member of
-- nothing, on every protected table, view and function.
SET datestyle = ISO;
SET timezone = 'UTC';
SET search_path = public;
SET client_min_messages = warning;
\set VERBOSITY terse


-- sec > sec.n (sec.n.a, sec.n.b), sec.s (sec.s.c)
INSERT INTO kpi.scope (code, name) VALUES ('sec', 'Secure Co');
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('sec.n', 'North', kpi.scope_id('sec')),
                                                     ('sec.s', 'South', kpi.scope_id('sec'));
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('sec.n.a', 'Branch A', kpi.scope_id('sec.n')),
                                                     ('sec.n.b', 'Branch B', kpi.scope_id('sec.n')),
                                                     ('sec.s.c', 'Branch C', kpi.scope_id('sec.s'));
INSERT INTO kpi.indicator (code, name, owner) VALUES ('sec.sales', 'Sales', 'alice'), ('sec.cost', 'Cost', 'bob');
INSERT INTO kpi.link (parent_id, child_id) VALUES (kpi.indicator_id('sec.sales'), kpi.indicator_id('sec.cost'));
INSERT INTO kpi.alert_rule (indicator_id) VALUES (kpi.indicator_id('sec.sales'));
SELECT count(*) AS targets FROM (
    SELECT kpi.set_target('sec.sales', s, '2026-06', '>= 100') FROM unnest('{sec,sec.n,sec.s,sec.n.a,sec.n.b,sec.s.c}'::text[]) s) t;
-- every branch below target: an alert each
SELECT count(*) AS recorded FROM (
    SELECT kpi.record('sec.sales', s, v, '2026-06-10') FROM (VALUES ('sec.n.a', 50), ('sec.n.b', 70), ('sec.s.c', 40)) x(s, v)
    UNION ALL
    SELECT kpi.record('sec.cost', s, 10, '2026-06-10') FROM unnest('{sec.n.a,sec.n.b,sec.s.c}'::text[]) s) r;
INSERT INTO kpi.review (title, period, scope_id, state) VALUES
    ('North June', '2026-06', kpi.scope_id('sec.n'), 'held'),
    ('Branch A June', '2026-06', kpi.scope_id('sec.n.a'), 'held'),
    ('South June', '2026-06', kpi.scope_id('sec.s'), 'held');
INSERT INTO kpi.finding (review_id, indicator_id, scope_id, root_cause, lesson)
SELECT r.id, kpi.indicator_id('sec.sales'), r.scope_id, 'secret cause of ' || r.title, 'keep the ledger ' || r.title
FROM kpi.review r WHERE r.title IN ('North June', 'Branch A June', 'South June');
INSERT INTO kpi.action (finding_id, title, owner, due)
SELECT f.id, 'fix ' || r.title, 'owner ' || r.title, '2026-06-20'
FROM kpi.finding f JOIN kpi.review r ON r.id = f.review_id WHERE r.title IN ('North June', 'Branch A June', 'South June');

-- the roles: members of a region, of a branch, through a group, of nothing
CREATE ROLE sec_region;
CREATE ROLE sec_branch;
CREATE ROLE sec_group NOLOGIN;
CREATE ROLE sec_inherit IN ROLE sec_group;
CREATE ROLE sec_none;
INSERT INTO kpi.scope_member (role, scope_id) VALUES
    ('sec_region', kpi.scope_id('sec.n')), ('sec_branch', kpi.scope_id('sec.n.a')), ('sec_group', kpi.scope_id('sec.s'));
GRANT USAGE ON SCHEMA kpi TO sec_region, sec_branch, sec_inherit, sec_none;
GRANT SELECT ON ALL TABLES IN SCHEMA kpi TO sec_region, sec_branch, sec_inherit, sec_none;
GRANT INSERT, UPDATE, DELETE ON kpi.measurement, kpi.target, kpi.review, kpi.finding, kpi.action
    TO sec_region, sec_branch, sec_inherit, sec_none;
GRANT UPDATE ON kpi.alert TO sec_region, sec_branch, sec_inherit, sec_none;
GRANT INSERT ON kpi.alert_event TO sec_region, sec_branch, sec_inherit, sec_none;
GRANT USAGE ON ALL SEQUENCES IN SCHEMA kpi TO sec_region, sec_branch, sec_inherit, sec_none;
-- a membership names an existing role
SELECT public.kpi_try($$INSERT INTO kpi.scope_member (role, scope_id) VALUES ('sec_nobody', kpi.scope_id('sec'))$$);

-- what a role sees: scope codes per protected table and view
CREATE FUNCTION pg_temp.seen() RETURNS TABLE (relation text, scopes text)
LANGUAGE sql AS $$
    SELECT 'visible_scopes', (SELECT string_agg(s.code, ',' ORDER BY s.code) FROM kpi.scope s
                              WHERE s.id = ANY (kpi.visible_scopes()) AND s.code LIKE 'sec%')
    UNION ALL SELECT 'measurement', string_agg(DISTINCT s.code, ',') FROM kpi.measurement x JOIN kpi.scope s ON s.id = x.scope_id WHERE s.code LIKE 'sec%'
    UNION ALL SELECT 'target', string_agg(DISTINCT s.code, ',') FROM kpi.target x JOIN kpi.scope s ON s.id = x.scope_id WHERE s.code LIKE 'sec%'
    UNION ALL SELECT 'target_history', string_agg(DISTINCT s.code, ',') FROM kpi.target_history x JOIN kpi.scope s ON s.id = x.scope_id WHERE s.code LIKE 'sec%'
    UNION ALL SELECT 'actual', string_agg(DISTINCT s.code, ',') FROM kpi.actual x JOIN kpi.scope s ON s.id = x.scope_id WHERE s.code LIKE 'sec%'
    UNION ALL SELECT 'alert', string_agg(DISTINCT s.code, ',') FROM kpi.alert x JOIN kpi.scope s ON s.id = x.scope_id WHERE s.code LIKE 'sec%'
    UNION ALL SELECT 'alert_event', string_agg(DISTINCT s.code, ',') FROM kpi.alert_event e JOIN kpi.alert x ON x.id = e.alert_id JOIN kpi.scope s ON s.id = x.scope_id WHERE s.code LIKE 'sec%'
    UNION ALL SELECT 'alert_event (unjoined)', count(*)::text FROM kpi.alert_event e
              WHERE e.alert_id IN (SELECT id FROM kpi.alert WHERE indicator_id = kpi.indicator_id('sec.sales'))
    UNION ALL SELECT 'review', string_agg(DISTINCT s.code, ',') FROM kpi.review x JOIN kpi.scope s ON s.id = x.scope_id WHERE s.code LIKE 'sec%'
    UNION ALL SELECT 'finding', string_agg(DISTINCT s.code, ',') FROM kpi.finding x JOIN kpi.scope s ON s.id = x.scope_id WHERE s.code LIKE 'sec%'
    UNION ALL SELECT 'action', string_agg(DISTINCT x.title, ',') FROM kpi.action x WHERE x.title LIKE 'fix %'
    UNION ALL SELECT 'review_history', string_agg(DISTINCT x.new_row ->> 'title', ',') FROM kpi.review_history x WHERE x.entity = 'review' AND x.new_row ->> 'title' LIKE '% June'
    UNION ALL SELECT 'scope_actual', string_agg(DISTINCT s.code, ',') FROM kpi.scope_actual x JOIN kpi.scope s ON s.id = x.scope_id WHERE s.code LIKE 'sec%'
    UNION ALL SELECT 'scorecard', string_agg(DISTINCT x.scope, ',') FROM kpi.scorecard x WHERE x.scope LIKE 'sec%'
    UNION ALL SELECT 'overdue_action', string_agg(DISTINCT x.scope, ',') FROM kpi.overdue_action x WHERE x.scope LIKE 'sec%'
    UNION ALL SELECT 'alert_followup', string_agg(DISTINCT x.scope, ',') FROM kpi.alert_followup x WHERE x.scope LIKE 'sec%'
    UNION ALL SELECT 'lessons', string_agg(DISTINCT l.scope, ',') FROM kpi.lessons('ledger') l WHERE l.scope LIKE 'sec%'
$$;
-- kpi.rollup: the sales node, for the whole (visible) organisation and per scope
CREATE FUNCTION pg_temp.rolled(scope text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE r record;
BEGIN
    SELECT x.actual, x.target, x.status INTO r FROM kpi.rollup('2026-06', scope) x WHERE x.code = 'sec.sales';
    RETURN format('actual %s target %s %s', r.actual, r.target, r.status);
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
CREATE FUNCTION pg_temp.rollups() RETURNS TABLE (scope text, rollup text) LANGUAGE sql AS $$
    SELECT s, pg_temp.rolled(s) FROM unnest(ARRAY['sec', 'sec.n', 'sec.n.a', 'sec.s']) s
$$;

-- ---------------------------------------------------------------------
-- Reading
-- ---------------------------------------------------------------------
-- the owner sees everything
SELECT * FROM pg_temp.seen();
SELECT * FROM pg_temp.rollups();
SET ROLE sec_region;
SELECT * FROM pg_temp.seen();
SELECT * FROM pg_temp.rollups();
-- NULL: everything it sees, scored with the targets of its top scope
SELECT pg_temp.rolled(NULL);
RESET ROLE;
SET ROLE sec_branch;
SELECT * FROM pg_temp.seen();
SELECT * FROM pg_temp.rollups();
SELECT pg_temp.rolled(NULL);
RESET ROLE;
SET ROLE sec_inherit;
SELECT * FROM pg_temp.seen();
SELECT pg_temp.rolled(NULL);
RESET ROLE;
SET ROLE sec_none;
SELECT * FROM pg_temp.seen();
SELECT pg_temp.rolled(NULL);
SELECT pg_temp.rolled('sec.s.c');
RESET ROLE;

-- ---------------------------------------------------------------------
-- Writing: inside the subtree only; the trigger derives actuals and
-- alerts for the member as for anyone
-- ---------------------------------------------------------------------
SELECT id AS north_review FROM kpi.review WHERE title = 'North June' \gset
SELECT a.id AS alert_c_early FROM kpi.alert a WHERE a.scope_id = kpi.scope_id('sec.s.c') \gset
SELECT f.id AS north_finding FROM kpi.finding f JOIN kpi.review r ON r.id = f.review_id WHERE r.title = 'North June' \gset
SELECT f.id AS south_finding FROM kpi.finding f JOIN kpi.review r ON r.id = f.review_id WHERE r.title = 'South June' \gset
SET ROLE sec_branch;
SELECT kpi.record('sec.sales', 'sec.n.a', 5, '2026-06-11') > 0 AS recorded_in_own_branch;
SELECT public.kpi_try($$SELECT kpi.record('sec.sales', 'sec.n.b', 5, '2026-06-11')$$);
SELECT public.kpi_try($$SELECT kpi.record('sec.sales', 'sec.n', 5, '2026-06-11')$$);
-- rows it cannot see are not touched; a row cannot be moved out of its subtree
UPDATE kpi.measurement SET value = 0 WHERE scope_id = kpi.scope_id('sec.n.b');
DELETE FROM kpi.measurement WHERE scope_id = kpi.scope_id('sec.s.c');
SELECT public.kpi_try($$UPDATE kpi.measurement SET scope_id = kpi.scope_id('sec.n.b') WHERE scope_id = kpi.scope_id('sec.n.a')$$);
SELECT public.kpi_try($$SELECT kpi.set_target('sec.cost', 'sec.n.b', '2026-06', '<= 5')$$);
-- history is written by kpi, as the member, without a right to write it
SELECT kpi.set_target('sec.cost', 'sec.n.a', '2026-06', '<= 5') > 0 AS target_in_own_branch;
SELECT op, changed_by FROM kpi.target_history WHERE indicator_id = kpi.indicator_id('sec.cost');
SELECT public.kpi_try($$INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op) SELECT id, indicator_id, scope_id, period, 'UPDATE' FROM kpi.target$$);
-- a finding cannot point at an alert of another scope
SELECT public.kpi_try(format($$INSERT INTO kpi.finding (review_id, indicator_id, alert_id) SELECT id, kpi.indicator_id('sec.sales'), %s FROM kpi.review WHERE title = 'Branch A June'$$, :alert_c_early));
SELECT public.kpi_try($$INSERT INTO kpi.review (title, period, scope_id) VALUES ('x', '2026-06', kpi.scope_id('sec.n'))$$);
-- a finding for the region's review (unseen) is refused; for its own, fine
SELECT public.kpi_try(format($$INSERT INTO kpi.finding (review_id, indicator_id) VALUES (%s, kpi.indicator_id('sec.sales'))$$, :north_review));
SELECT public.kpi_try($$INSERT INTO kpi.finding (review_id, indicator_id) SELECT id, kpi.indicator_id('sec.sales') FROM kpi.review WHERE title = 'Branch A June'$$);
SELECT public.kpi_try(format($$INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (%s, 'sneak', 'me', '2026-07-01')$$, :north_finding));
-- an unseen review is not closed (no row matches)
SELECT public.kpi_try(format($$UPDATE kpi.review SET state = 'closed' WHERE id = %s$$, :north_review));
RESET ROLE;
-- as the owner: the branch's writes arrived, the others' rows are intact
SELECT s.code, a.period, a.value, a.status FROM kpi.actual a JOIN kpi.scope s ON s.id = a.scope_id
WHERE a.indicator_id = kpi.indicator_id('sec.sales') AND s.code LIKE 'sec.%' AND a.period::text = '2026-06' ORDER BY 1;
SELECT count(*) AS north_findings FROM kpi.finding WHERE review_id = :north_review;
SELECT state FROM kpi.review WHERE id = :north_review;
-- the regions' alerts are judged by kpi.evaluate() (docs/alerts.md)
SELECT count(*) AS evaluations FROM kpi.evaluate();
SELECT count(*) AS drift FROM kpi.verify();

-- ---------------------------------------------------------------------
-- The queue: only alerts the caller sees
-- ---------------------------------------------------------------------
SELECT a.id AS alert_c FROM kpi.alert a WHERE a.scope_id = kpi.scope_id('sec.s.c') AND a.state = 'open' \gset
SELECT a.id AS alert_b FROM kpi.alert a WHERE a.scope_id = kpi.scope_id('sec.n.b') AND a.state = 'open' \gset
SET ROLE sec_region;
-- (one delivery: the two branches' problems, raised in one cycle, are one incident)
SELECT s.code, c.claimed_by FROM kpi.alert_claim('north-bot', 10) c JOIN kpi.scope s ON s.id = c.scope_id ORDER BY 1;
SELECT public.kpi_try(format('SELECT kpi.alert_ack(%s, %L)', :alert_c, 'north'));
SELECT public.kpi_try(format('SELECT kpi.alert_resolve(%s, %L)', :alert_c, 'north'));
SELECT public.kpi_try(format('SELECT kpi.finding_from_alert(%s, 1)', :alert_c));
SELECT (kpi.alert_ack(:alert_b, 'north')).state AS own_alert;
-- a finding the region cannot see cannot be used to resolve its alert
SELECT public.kpi_try(format($$SELECT kpi.alert_resolve(%s, 'north', NULL, %s)$$, :alert_b, :south_finding));
RESET ROLE;
SET ROLE sec_none;
SELECT count(*) AS claimed FROM kpi.alert_claim('nobody', 10);
SELECT public.kpi_try(format('SELECT kpi.alert_ack(%s, %L)', :alert_b, 'nobody'));
SELECT kpi.alert_escalate() AS escalated;
RESET ROLE;
-- the owner gets the plain error for an unknown id
SELECT public.kpi_try('SELECT kpi.alert_ack(999999, ''me'')');

-- ---------------------------------------------------------------------
-- No way around it
-- ---------------------------------------------------------------------
-- a schema of look-alikes: an = that is always true, a visible_scopes()
-- that returns every scope
CREATE SCHEMA sec_evil;
CREATE FUNCTION sec_evil.yes(bigint, bigint) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE OPERATOR sec_evil.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = sec_evil.yes);
CREATE FUNCTION sec_evil.visible_scopes() RETURNS bigint[] LANGUAGE sql AS 'SELECT ARRAY(SELECT id FROM kpi.scope)';
GRANT USAGE ON SCHEMA sec_evil TO PUBLIC;
SET ROLE sec_branch;
-- row_security off: an error, never the hidden rows
SET row_security = off;
SELECT public.kpi_try('SELECT count(*) FROM kpi.measurement');
-- with check_function_bodies off too, a restore looks like this; only a
-- superuser's or the owner's counts: the member's writes stay checked and logged
SET check_function_bodies = off;
SELECT kpi.in_restore() AS member_restoring;
RESET ROLE;
SELECT kpi.in_restore() AS owner_restoring;
SET ROLE sec_branch;
RESET check_function_bodies;
RESET row_security;
-- a hostile search_path changes nothing: the policies name every object
SET search_path = sec_evil, pg_catalog, public;
SELECT count(DISTINCT scope_id) AS scopes_seen FROM kpi.measurement;
SELECT count(DISTINCT scope) AS scopes_seen FROM kpi.scorecard WHERE scope LIKE 'sec%';
SET search_path = public;
-- the owner-rights functions stay the owner's
SELECT public.kpi_try('SELECT kpi.actual_rebuild()');
SELECT public.kpi_try('SELECT kpi.repair()');
-- membership cannot be self-granted
SELECT public.kpi_try($$INSERT INTO kpi.scope_member (role, scope_id) VALUES ('sec_branch', kpi.scope_id('sec'))$$);
RESET ROLE;
-- a role that does not inherit its group's privileges (NOINHERIT when the
-- grant is made) does not see its group's scopes either
CREATE ROLE sec_noinherit NOINHERIT IN ROLE sec_group;
GRANT USAGE ON SCHEMA kpi TO sec_noinherit;
SET ROLE sec_noinherit;
SELECT kpi.visible_scopes() = '{}' AS sees_nothing;
RESET ROLE;
REVOKE USAGE ON SCHEMA kpi FROM sec_noinherit;
DROP ROLE sec_noinherit;

-- a member of every top-level scope sees everything: NULL, as the owner
CREATE ROLE sec_all;
GRANT USAGE ON SCHEMA kpi TO sec_all;
GRANT SELECT ON kpi.measurement, kpi.scope TO sec_all;
INSERT INTO kpi.scope_member (role, scope_id) SELECT 'sec_all', id FROM kpi.scope WHERE parent_id IS NULL;
SET ROLE sec_all;
SELECT kpi.visible_scopes() IS NULL AS sees_everything,
       (SELECT count(*) FROM kpi.measurement) AS measurements_seen;
RESET ROLE;
SELECT count(*) AS measurements FROM kpi.measurement;
-- one top-level scope less, and it is a list again
DELETE FROM kpi.scope_member WHERE role = 'sec_all' AND scope_id = kpi.scope_id('sec');
SET ROLE sec_all;
SELECT kpi.visible_scopes() IS NULL AS sees_everything,
       (SELECT count(*) FROM kpi.measurement m JOIN kpi.scope s ON s.id = m.scope_id WHERE s.code LIKE 'sec%') AS sec_measurements_seen;
RESET ROLE;
DELETE FROM kpi.scope_member WHERE role = 'sec_all';
REVOKE ALL ON SCHEMA kpi FROM sec_all;
REVOKE ALL ON kpi.measurement, kpi.scope FROM sec_all;
DROP ROLE sec_all;

-- ---------------------------------------------------------------------
-- A careless reader: a role that may read every table and is a member of
-- no scope calls every function of the extension with NULL arguments.
-- Nothing fails inside kpi (only refusals: 42501 not its to call, 0A000 a
-- trigger called by hand, 39P01 the same from C, 22023/22004 bad
-- arguments), and nothing is written.
-- ---------------------------------------------------------------------
CREATE ROLE sweep_reader;
GRANT USAGE ON SCHEMA kpi TO sweep_reader;
GRANT SELECT ON ALL TABLES IN SCHEMA kpi TO sweep_reader;
-- the rows of every table of kpi (no XML: not every server is built with it)
CREATE FUNCTION pg_temp.table_rows() RETURNS TABLE (relname name, n bigint) LANGUAGE plpgsql AS $$
BEGIN
    FOR relname IN SELECT c.relname FROM pg_class c
                   WHERE c.relnamespace = 'kpi'::regnamespace AND c.relkind = 'r' ORDER BY 1 LOOP
        EXECUTE format('SELECT count(*) FROM kpi.%I', relname) INTO n;
        RETURN NEXT;
    END LOOP;
END
$$;
CREATE TEMP TABLE sweep_before AS SELECT * FROM pg_temp.table_rows();
CREATE TEMP TABLE sweep (fn text, outcome text);
GRANT ALL ON sweep TO sweep_reader;
SET ROLE sweep_reader;
DO $$
DECLARE p record; q text;
BEGIN
  FOR p IN
    SELECT f.oid, f.oid::regprocedure::text AS sig, f.pronargs,
           (SELECT string_agg(format('NULL::%s', format_type(t, NULL)), ', ' ORDER BY o)
            FROM unnest(f.proargtypes::oid[]) WITH ORDINALITY a(t, o)) AS args
    FROM pg_proc f
    WHERE f.pronamespace = 'kpi'::regnamespace AND f.prokind IN ('f', 'p')
      AND NOT EXISTS (SELECT FROM unnest(f.proargtypes::oid[]) t
                      WHERE t IN ('internal'::regtype, 'cstring'::regtype) OR format_type(t, NULL) LIKE 'any%')
    ORDER BY 2
  LOOP
    q := format('SELECT %s(%s)', p.oid::regproc, coalesce(p.args, ''));
    IF (SELECT prokind FROM pg_proc WHERE oid = p.oid) = 'p' THEN q := format('CALL %s(%s)', p.oid::regproc, coalesce(p.args, '')); END IF;
    BEGIN
      EXECUTE q;
      INSERT INTO sweep VALUES (p.sig, 'ok');
    EXCEPTION WHEN OTHERS THEN
      INSERT INTO sweep VALUES (p.sig, SQLSTATE || ' ' || left(SQLERRM, 60));
    END;
  END LOOP;
END $$;
RESET ROLE;
SELECT split_part(outcome, ' ', 1) AS sqlstate, count(*) FROM sweep GROUP BY 1 ORDER BY 1;
SELECT * FROM sweep WHERE outcome !~ '^(ok|42501|0A000|22023|22004|39P01)' ORDER BY 1;
SELECT b.relname, b.n, a.n AS now
FROM sweep_before b JOIN pg_temp.table_rows() a USING (relname) WHERE a.n <> b.n;
DROP TABLE sweep, sweep_before;
REVOKE ALL ON SCHEMA kpi FROM sweep_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA kpi FROM sweep_reader;
DROP ROLE sweep_reader;

-- ---------------------------------------------------------------------
-- The policies are on every table the SPEC protects
-- ---------------------------------------------------------------------
SELECT c.relname, c.relrowsecurity, p.polname, p.polcmd
FROM pg_class c LEFT JOIN pg_policy p ON p.polrelid = c.oid
WHERE c.relnamespace = 'kpi'::regnamespace AND c.relkind IN ('r', 'p') AND c.relrowsecurity
ORDER BY 1;
SELECT c.relname, c.reloptions FROM pg_class c
WHERE c.relnamespace = 'kpi'::regnamespace AND c.relkind = 'v' ORDER BY 1;

-- clean up
DROP SCHEMA sec_evil CASCADE;
DELETE FROM kpi.scope_member WHERE role LIKE 'sec\_%';
DROP OWNED BY sec_region, sec_branch, sec_inherit, sec_none;
DROP ROLE sec_region, sec_branch, sec_inherit, sec_group, sec_none;
