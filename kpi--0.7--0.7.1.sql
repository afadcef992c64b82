/* kpi--0.7--0.7.1.sql: release 0.7.1 of kpi: a faster alert queue.
 * Acknowledging and claiming write less and plan once per session; what
 * an alert is and how it moves is unchanged (docs/alerts.md). */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.7.1'" to load this file. \quit

-- Room on every page of kpi.alert for the versions a claim writes, so
-- that renewing a lease (no indexed column changes) stays a HOT update
-- and touches no index.  New pages only; VACUUM FULL or pg_repack
-- applies it to the old ones.
ALTER TABLE kpi.alert SET (fillfactor = 90);

-- The claim reads incidents worst first, oldest first, then by id: with
-- id in the index the order is the index's, and a claim of one alert
-- reads one entry instead of sorting a group of them.
DROP INDEX kpi.alert_claimable;
CREATE INDEX alert_claimable ON kpi.alert (severity, raised_at, id)
    WHERE state = 'open' AND coalesce(incident_id, id) = id;

-- kpi.alert_ack_members: as in 0.7, in PL/pgSQL so that its statement is
-- planned once per session (a SQL function that cannot be inlined is
-- planned again on every call; every acknowledgement of a lead calls it).
CREATE OR REPLACE FUNCTION kpi.alert_ack_members(leads bigint[], who text, note text) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer;
BEGIN
    WITH m AS (
        SELECT x.id, l.id AS lead FROM kpi.alert l
        JOIN kpi.alert x ON x.indicator_id OPERATOR(pg_catalog.=) l.indicator_id
                        AND x.incident_id OPERATOR(pg_catalog.=) l.id AND x.id OPERATOR(pg_catalog.<>) l.id
                        AND x.state OPERATOR(pg_catalog.=) ANY ('{open,dead}')
        WHERE l.id OPERATOR(pg_catalog.=) ANY (leads)
        ORDER BY x.id FOR UPDATE OF x
    ), acked AS (
        UPDATE kpi.alert x SET state = 'acked', acked_at = pg_catalog.now(), acked_by = alert_ack_members.who,
                               lease_until = NULL, updated_at = pg_catalog.now()
        FROM m WHERE x.id OPERATOR(pg_catalog.=) m.id
        RETURNING x.*, m.lead
    ), logged AS (
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
        SELECT acked.id, 'ack', alert_ack_members.who, acked.state, acked.severity, acked.value, acked.attainment,
               pg_catalog.concat_ws(' ', alert_ack_members.note, pg_catalog.format('(incident %s)', acked.lead))
        FROM acked ORDER BY acked.id
        RETURNING 1
    )
    SELECT pg_catalog.count(*)::integer INTO n FROM logged;
    RETURN n;
END
$$;
COMMENT ON FUNCTION kpi.alert_ack_members(bigint[], text, text) IS
    'acknowledge, with the caller''s rights, the open alerts of the incidents the given leads lead (kpi.alert_ack and kpi.alert_ack_many use it)';
