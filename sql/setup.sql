-- setup: install the oldest release, then upgrade through every migration,
-- so that every later suite runs on an upgraded install.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS kpi CASCADE;
CREATE EXTENSION kpi VERSION '0.1';
ALTER EXTENSION kpi UPDATE;
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'kpi';
