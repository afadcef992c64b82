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
--   * kpi.forecast: the history's kpi.reached() runs once per earlier
--     period instead of up to four times (the same figures, about 1.6x
--     faster).
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

-- ---------------------------------------------------------------------
-- 3. kpi.forecast: each earlier period's value at the same point read once
-- ---------------------------------------------------------------------

-- kpi.forecast: as in 0.9; the subquery over the earlier periods is kept
-- from being flattened into its four readers.
CREATE OR REPLACE FUNCTION kpi.forecast(indicator text, scope text, period kpi.period,
                             at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (as_of timestamptz, elapsed float8, method text, actual float8, expected_share float8,
                   projected float8, low float8, high float8, target float8, goal text,
                   probability float8, history integer)
    LANGUAGE plpgsql STABLE
    -- planned once per session: a custom plan per call cost more than running it
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    ind kpi.indicator;
    sid bigint;
    tree bigint[];
    zone text := kpi.time_zone();
    cur record;
    g kpi.goal;
    t timestamptz;
    f float8;
    share float8;
    cumulative boolean;
    sigma float8;
    n integer;
    ms float8[];
    seas float8[];
    pls float8[];
    lins float8[];
    off interval;
BEGIN
    IF forecast.period IS NULL OR forecast.at IS NULL OR NOT pg_catalog.isfinite(forecast.at) THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'kpi.forecast needs a period and a finite time';
    END IF;
    ind := kpi.kept_indicator(forecast.indicator, forecast.period, 'kpi.forecast');
    sid := kpi.scope_id(forecast.scope);
    tree := kpi.scope_descendants(sid);
    cumulative := ind.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[]);
    SELECT x.goal INTO g FROM kpi.target x
    WHERE x.indicator_id OPERATOR(pg_catalog.=) ind.id AND x.scope_id OPERATOR(pg_catalog.=) sid
      AND x.period OPERATOR(kpi.=) forecast.period;
    target := kpi.target(g);
    goal := g::text;
    IF kpi.progress(forecast.period, forecast.at, zone) OPERATOR(pg_catalog.>=) 1 THEN
        SELECT r.tally, r.value INTO cur FROM kpi.rolled_up(ind.id, ind.agg, tree, forecast.period) r;
        actual := cur.value; as_of := kpi.last_at(cur.tally); elapsed := 1;
        method := 'final'; expected_share := 1; projected := actual; low := actual; high := actual;
        probability := kpi.probability(actual, 0, g); history := 0;
        RETURN NEXT;
        RETURN;
    END IF;

    -- what the period had reached by `at`, as of its latest data then
    SELECT r.value, r.last_at INTO cur
    FROM kpi.reached(ind.id, ind.agg, tree, pg_catalog.timezone(zone, kpi.start_date(forecast.period)::timestamp),
                     forecast.at) r;
    actual := cur.value;
    t := LEAST(forecast.at, coalesce(cur.last_at, forecast.at));
    as_of := t;
    f := kpi.progress(forecast.period, t, zone);
    elapsed := f;
    -- the same point of an earlier period: as long after its start as the
    -- latest data are after this one's (the end of a first month is the
    -- end of a first month), the latest data's instant included
    off := t OPERATOR(pg_catalog.-) pg_catalog.timezone(zone, kpi.start_date(forecast.period)::timestamp)
           OPERATOR(pg_catalog.+) '1 microsecond'::interval;

    -- earlier periods: how their value at the same point of their time
    -- compared with where they ended (m = final / reached); seasonal:
    -- the same period of earlier years
    SELECT pg_catalog.array_agg(y.m), pg_catalog.array_agg(y.m) FILTER (WHERE y.seasonal),
           pg_catalog.array_agg(y.planned), pg_catalog.array_agg(y.linear)
      INTO ms, seas, pls, lins
    FROM (SELECT h.seasonal,
                 fin.value OPERATOR(pg_catalog./) NULLIF((SELECT r.value FROM kpi.reached(ind.id, ind.agg, tree, h.lo, h.point) r), 0) AS m,
                 -- the shares the plan and time put before that point
                 (SELECT ps.share FROM kpi.planned_share(ind.id, sid, h.q, CASE WHEN cumulative THEN h.point END, zone) ps)
                     AS planned,
                 kpi.progress(h.q, h.point, zone) AS linear
          FROM (SELECT d.*, d.lo OPERATOR(pg_catalog.+) LEAST(off, d.hi OPERATOR(pg_catalog.-) d.lo) AS point
                FROM (SELECT DISTINCT ON (x.q) x.q, x.seasonal,
                             pg_catalog.timezone(zone, kpi.start_date(x.q)::timestamp) AS lo,
                             pg_catalog.timezone(zone, (kpi.end_date(x.q) OPERATOR(pg_catalog.+) 1)::timestamp) AS hi
                      FROM (SELECT forecast.period OPERATOR(kpi.-) k AS q, false AS seasonal
                            FROM pg_catalog.generate_series(1, 8) k
                            WHERE kpi.start_date(forecast.period) OPERATOR(pg_catalog.>) '0010-01-01'::date
                            UNION ALL SELECT kpi.last_year(forecast.period), true
                            UNION ALL SELECT kpi.last_year(kpi.last_year(forecast.period)), true
                            UNION ALL SELECT kpi.last_year(kpi.last_year(kpi.last_year(forecast.period))), true) x
                      WHERE x.q IS NOT NULL
                      ORDER BY x.q, x.seasonal DESC) d) h
          CROSS JOIN LATERAL kpi.rolled_up(ind.id, ind.agg, tree, h.q) fin
          -- a fence: y.m is read four times below, and a flattened
          -- subquery would run its kpi.reached() once for each
          OFFSET 0) y
    WHERE y.m OPERATOR(pg_catalog.<) 'Infinity'::float8 AND y.m OPERATOR(pg_catalog.>) '-Infinity'::float8;

    IF actual IS NULL THEN
        method := 'no data';
    ELSIF NOT cumulative THEN
        method := 'level'; share := 1;
    ELSE
        SELECT ps.share INTO share FROM kpi.planned_share(ind.id, sid, forecast.period, t, zone) ps;
        method := 'plan';
        IF share IS NULL THEN
            SELECT 1 OPERATOR(pg_catalog./) pg_catalog.avg(x.m) INTO share
            FROM pg_catalog.unnest(seas) x(m) WHERE x.m OPERATOR(pg_catalog.>) 0;
            method := 'seasonal';
        END IF;
        IF share IS NULL THEN
            share := f;
            method := 'linear';
        END IF;
        expected_share := share;
    END IF;
    projected := actual OPERATOR(pg_catalog./) NULLIF(share, 0);

    -- the spread: how far each earlier period ended from what the same
    -- method would have projected for it at the same point (the plan's
    -- share of that period, time's, 1 for a level; the seasonal share
    -- as now)
    -- (periods with a plan only, for the plan); with fewer than 3 of
    -- them, shrunk towards a prior spread of 0.1 x (1 - elapsed) worth
    -- one period: the rest of the period varying by 10% (a thin history
    -- does not make a confident forecast)
    SELECT pg_catalog.sum(pg_catalog.power(
               x.m OPERATOR(pg_catalog.*) CASE method WHEN 'plan' THEN x.planned
                                                      WHEN 'linear' THEN x.linear
                                                      WHEN 'level' THEN 1
                                                      ELSE share END OPERATOR(pg_catalog.-) 1, 2)),
           pg_catalog.count(*)
      INTO sigma, n
    FROM ROWS FROM (pg_catalog.unnest(ms), pg_catalog.unnest(pls), pg_catalog.unnest(lins)) x(m, planned, linear)
    WHERE method OPERATOR(pg_catalog.<>) 'plan' OR x.planned IS NOT NULL;
    history := n;
    IF n OPERATOR(pg_catalog.>=) 3 THEN
        sigma := pg_catalog.sqrt(sigma OPERATOR(pg_catalog./) n);
    ELSE
        sigma := pg_catalog.sqrt((coalesce(sigma, 0) OPERATOR(pg_catalog.+)
                                  pg_catalog.power(0.1 OPERATOR(pg_catalog.*) (1 OPERATOR(pg_catalog.-) f), 2))
                                 OPERATOR(pg_catalog./) (n OPERATOR(pg_catalog.+) 1));
    END IF;
    IF projected IS NOT NULL THEN
        low := projected OPERATOR(pg_catalog.-) (1.2816 OPERATOR(pg_catalog.*) sigma OPERATOR(pg_catalog.*) pg_catalog.abs(projected));
        high := projected OPERATOR(pg_catalog.+) (1.2816 OPERATOR(pg_catalog.*) sigma OPERATOR(pg_catalog.*) pg_catalog.abs(projected));
        probability := kpi.probability(projected, sigma OPERATOR(pg_catalog.*) pg_catalog.abs(projected), g);
    END IF;
    RETURN NEXT;
END
$$;
