-- setup: install the oldest release, then upgrade through every migration,
-- so that every later suite runs on an upgraded install.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS kpi CASCADE;
CREATE EXTENSION kpi VERSION '0.1';
ALTER EXTENSION kpi UPDATE;
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'kpi';
-- kpi_member: the objects of the extension that a user creates and can
-- comment.  From PostgreSQL 17 on, the implicit array type of every type and
-- the row type of every table and view are recorded as members too; they
-- share the comment of what they belong to, so they are left out.  Later
-- suites use this view as well.
CREATE VIEW public.kpi_member AS
SELECT d.classid, d.objid, pg_describe_object(d.classid, d.objid, 0) AS object
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'kpi'
WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  AND d.classid <> 'pg_catalog.pg_amproc'::regclass
  AND d.classid <> 'pg_catalog.pg_amop'::regclass
  AND NOT (d.classid = 'pg_type'::regclass
           AND (EXISTS (SELECT FROM pg_type t WHERE t.typarray = d.objid)
                OR EXISTS (SELECT FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid
                           WHERE t.oid = d.objid AND c.relkind <> 'c')));
-- every object of the extension carries a COMMENT (functions, types,
-- operators, operator classes and families, casts, tables, views)
SELECT m.object AS uncommented
FROM public.kpi_member m
WHERE NOT EXISTS (SELECT FROM pg_description c
                  WHERE c.classoid = m.classid AND c.objoid = m.objid AND c.objsubid = 0)
ORDER BY 1;
-- kpi_try(sql): run a statement, say 'ok' or its SQLSTATE and message,
-- with the ids in messages masked (they depend on what earlier suites
-- created).  Later suites use it.
CREATE FUNCTION public.kpi_try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '(alert|finding|review|action|id:) [0-9]+', '\1 N', 'g');
END
$$;
