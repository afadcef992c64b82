/* kpi--0.1.sql: release 0.1 of kpi: the core types (period, goal, bands, status). */

\echo Use "CREATE EXTENSION kpi" to load this file. \quit

