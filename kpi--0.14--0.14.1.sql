/* kpi--0.14--0.14.1.sql: release 0.14.1 of kpi: a library fix.
 * kpi.actual_rebuild() of every indicator (a time-zone change, a repair,
 * a fast load) went 64 indicators at a time but kept each group's memory
 * until it returned: 19 GB after an hour of a 26-million-key rebuild.
 * The 0.14.1 library frees each group before the next.  No SQL object
 * changes; install the library (make install), then update. */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.14.1'" to load this file. \quit
