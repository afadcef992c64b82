-- setup: install the oldest release, then upgrade through every migration,
-- so that every later suite runs on an upgraded install.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS kpi CASCADE;
CREATE EXTENSION kpi VERSION '0.1';
ALTER EXTENSION kpi UPDATE;
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'kpi';
-- every object of the extension carries a COMMENT (functions, types,
-- operators, operator classes and families, casts, tables, views)
SELECT pg_describe_object(d.classid, d.objid, 0) AS uncommented
FROM pg_depend d
JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'kpi'
WHERE d.deptype = 'e'
  AND d.classid <> 'pg_catalog.pg_amproc'::regclass
  AND d.classid <> 'pg_catalog.pg_amop'::regclass
  AND NOT EXISTS (SELECT FROM pg_description c
                  WHERE c.classoid = d.classid AND c.objoid = d.objid AND c.objsubid = 0)
ORDER BY 1;
