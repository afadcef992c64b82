-- kpi 0.11 -> 0.12: one notification per indicator and person in a cycle;
-- initial privileges of upgraded installations as a fresh install's.
--
--   * kpi.alert_raise: a new alert with no related key open (another
--     scope's problem with the same indicator) joins the incident of that
--     indicator that its person (the indicator's owner) is being notified
--     of in this same evaluation cycle, instead of opening a second
--     incident: a load that finds the same indicator bad in two unrelated
--     scopes tells its owner once, and the delivery shows both.  A problem
--     found in a later cycle is news and opens its own incident, as before.
--   * pg_init_privs: the 0.7 and 0.8 migrations gave the administrator's
--     grants on views they made again (kpi.scorecard, kpi.alert_followup,
--     kpi.has_action) back inside the extension script, where PostgreSQL
--     records them as the objects' initial privileges, which pg_dump leaves
--     to CREATE EXTENSION: a dump of such an installation lost them.  The
--     initial privileges of the extension's objects go back to what a
--     fresh install records (its owner's own and PUBLIC's), so pg_dump
--     writes those grants out again.
\echo Use "ALTER EXTENSION kpi UPDATE TO '0.12'" to load this file. \quit

-- ---------------------------------------------------------------------
-- 1. kpi.alert_raise: one incident per indicator and person in a cycle
-- ---------------------------------------------------------------------

-- kpi.alert_raise: a new alert for a key.  It joins the oldest open
-- incident of its indicator that holds a related key: a scope above or
-- below it (or the same) and an overlapping period (the month's quarter
-- and year, the region and company it drags down).  Without one, it joins
-- the open incident of its indicator whose lead is being notified to the
-- same person in this same cycle (at): one delivery for the person, which
-- shows both keys; only where every role kpi.scope_member lets see the
-- new key sees that lead too.  No notification then (the lead was delivered, or is
-- being delivered, and shows its members), unless the new alert is worse
-- than all the incident holds and the lead was not notified in this same
-- cycle: then the lead is notified again.  Otherwise it leads a new
-- incident and is delivered.  Raisers of one indicator take turns here,
-- so two writers cannot both open an incident for one problem.
CREATE OR REPLACE FUNCTION kpi.alert_raise(j record, at timestamptz) RETURNS boolean
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    lead kpi.alert;
    new_id bigint;
    who text;
    worse boolean;
BEGIN
    PERFORM pg_catalog.pg_advisory_xact_lock(7040105, pg_catalog.hashint8(j.indicator_id));
    SELECT i.owner INTO who FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) j.indicator_id;
    -- the oldest open incident with an unresolved alert on a related key
    SELECT l.* INTO lead FROM kpi.alert l
    WHERE l.id OPERATOR(pg_catalog.=) (
        SELECT pg_catalog.min(coalesce(a.incident_id, a.id)) FROM kpi.alert a
        WHERE a.indicator_id OPERATOR(pg_catalog.=) j.indicator_id AND a.state OPERATOR(pg_catalog.<>) 'resolved'
          AND a.period OPERATOR(kpi.&&) j.period
          AND (a.scope_id OPERATOR(pg_catalog.=) ANY (kpi.scope_descendants(j.scope_id))
               OR j.scope_id OPERATOR(pg_catalog.=) ANY (kpi.scope_descendants(a.scope_id))));
    IF lead.id IS NULL THEN
        -- else the incident of this indicator its person hears of in this
        -- cycle: an open lead notified at this same time, to the same
        -- person, that every member role seeing the new key sees too (a
        -- consumer limited to some scopes must not lose its delivery to a
        -- lead it cannot see)
        SELECT l.* INTO lead FROM kpi.alert l
        WHERE l.indicator_id OPERATOR(pg_catalog.=) j.indicator_id AND l.state OPERATOR(pg_catalog.=) 'open'
          AND l.incident_id OPERATOR(pg_catalog.=) l.id AND l.notified_at OPERATOR(pg_catalog.=) at
          AND l.assignee IS NOT DISTINCT FROM who
          AND NOT EXISTS (
              SELECT FROM kpi.scope_member m
              WHERE j.scope_id OPERATOR(pg_catalog.=) ANY (kpi.scope_descendants(m.scope_id))
                AND NOT EXISTS (SELECT FROM kpi.scope_member o
                                WHERE o.role OPERATOR(pg_catalog.=) m.role
                                  AND l.scope_id OPERATOR(pg_catalog.=) ANY (kpi.scope_descendants(o.scope_id))))
        ORDER BY l.id LIMIT 1;
    END IF;
    -- is the new alert worse than everything the incident holds?
    worse := lead.id IS NOT NULL AND j.severity OPERATOR(pg_catalog.<) (
        SELECT pg_catalog.min(a.severity) FROM kpi.alert a
        WHERE coalesce(a.incident_id, a.id) OPERATOR(pg_catalog.=) lead.id AND a.state OPERATOR(pg_catalog.<>) 'resolved');
    new_id := pg_catalog.nextval('kpi.alert_id_seq');
    INSERT INTO kpi.alert (id, indicator_id, scope_id, period, rule_id, state, severity, value, attainment,
                           assignee, raised_at, notified_at, updated_at, acked_at, acked_by,
                           kind, basis, score, incident_id)
    VALUES (new_id, j.indicator_id, j.scope_id, j.period, j.rule_id,
            CASE WHEN lead.state OPERATOR(pg_catalog.=) 'acked' THEN 'acked' ELSE 'open' END,
            j.severity, j.value, j.attainment, who, at, at, at,
            CASE WHEN lead.state OPERATOR(pg_catalog.=) 'acked' THEN at END, lead.acked_by,
            j.kind, j.basis, j.score, coalesce(lead.id, new_id))
    ON CONFLICT (indicator_id, scope_id, period) WHERE state OPERATOR(pg_catalog.<>) 'resolved' DO NOTHING;
    IF NOT FOUND THEN
        RETURN false;               -- another transaction's alert is unresolved
    END IF;
    IF lead.id IS NULL THEN
        PERFORM kpi.alert_log(new_id, 'raise', 'kpi');
        PERFORM pg_catalog.pg_notify('kpi_alert', new_id::text);
    ELSE
        PERFORM kpi.alert_log(new_id, 'raise', 'kpi', format('in incident %s', lead.id));
        IF worse AND lead.notified_at OPERATOR(pg_catalog.<) at THEN
            -- a worse problem joined the incident: its people hear of it,
            -- acknowledged or not (it is new, not a repeat)
            UPDATE kpi.alert a SET notified_at = at, updated_at = at WHERE a.id OPERATOR(pg_catalog.=) lead.id;
            PERFORM kpi.alert_log(lead.id, 'worsen', 'kpi', format('alert %s joined, %s', new_id, j.severity));
            PERFORM pg_catalog.pg_notify('kpi_alert', lead.id::text);
        END IF;
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION kpi.alert_raise(record, timestamptz) IS
    'internal: raise an alert for a judged key, in its indicator''s open incident (a related key, or the incident its person is notified of in this cycle) or as the lead of a new one';

-- ---------------------------------------------------------------------
-- 2. Initial privileges: the owner's and PUBLIC's only
-- ---------------------------------------------------------------------

-- A fresh install records as initial privileges only what its script
-- grants: the owner's own privileges (and PUBLIC's, where it grants
-- them).  Any other role in an initial privilege of an extension member
-- came from a migration that gave an administrator's grant back; it is
-- taken out, so that pg_dump writes that grant like any other.
UPDATE pg_catalog.pg_init_privs i
SET initprivs = (SELECT pg_catalog.array_agg(u.a ORDER BY u.o)
                 FROM pg_catalog.unnest(i.initprivs) WITH ORDINALITY u(a, o)
                 WHERE NOT EXISTS (SELECT FROM pg_catalog.aclexplode(ARRAY[u.a]) x
                                   WHERE x.grantee OPERATOR(pg_catalog.<>) ALL (ARRAY[0::pg_catalog.oid, x.grantor])))
FROM pg_catalog.pg_depend d
WHERE d.classid OPERATOR(pg_catalog.=) i.classoid AND d.objid OPERATOR(pg_catalog.=) i.objoid
  AND d.refclassid OPERATOR(pg_catalog.=) 'pg_catalog.pg_extension'::pg_catalog.regclass
  AND d.refobjid OPERATOR(pg_catalog.=) (SELECT e.oid FROM pg_catalog.pg_extension e
                                         WHERE e.extname OPERATOR(pg_catalog.=) 'kpi')
  AND d.deptype OPERATOR(pg_catalog.=) 'e' AND i.privtype OPERATOR(pg_catalog.=) 'e'
  AND EXISTS (SELECT FROM pg_catalog.aclexplode(i.initprivs) x
              WHERE x.grantee OPERATOR(pg_catalog.<>) ALL (ARRAY[0::pg_catalog.oid, x.grantor]));
