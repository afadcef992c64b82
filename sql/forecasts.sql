-- forecasts: kpi.forecasts (every key with a target, one statement) and
-- kpi.forecast_each (0.15), which kpi.forecast calls for its one key.
-- What is proved: for every key and at many points of time, the answers
-- are those of 0.14's kpi.forecast (kept below as pg_temp.forecast_014,
-- the oracle: one kpi.rolled_up and kpi.reached per period), whether the
-- keys are read from kept kpi.subtree rows, from their own rows, merged
-- (a mark waiting, a role that sees part of a scope) or from measurements
-- (a month split by the point, a quarter-only indicator, a month period);
-- for every agg kind, first and last with a branch missing a month, a
-- plan, seasonal history, carried tallies; under another session time
-- zone and DateStyle.  Then the errors.  In one transaction, rolled back.
SET TimeZone = 'Europe/Berlin';
SET extra_float_digits = 0;
SELECT kpi.subtree_refresh() >= 0 AS refreshed;
VACUUM kpi.subtree_stale;
BEGIN;
CREATE FUNCTION pg_temp.try(q text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE q;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
-- the company's zone has summer time, as the session's (the oracle adds
-- days in the session's zone, 0.15 in the company's)
DELETE FROM kpi.setting WHERE name = 'time_zone';
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Europe/Berlin');

-- the oracle: kpi.forecast as 0.14 shipped it
CREATE FUNCTION pg_temp.forecast_014(indicator text, scope text, period kpi.period,
                             at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (as_of timestamptz, elapsed float8, method text, actual float8, expected_share float8,
                   projected float8, low float8, high float8, target float8, goal text,
                   probability float8, history integer)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
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
    IF forecast_014.period IS NULL OR forecast_014.at IS NULL OR NOT pg_catalog.isfinite(forecast_014.at) THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'kpi.forecast needs a period and a finite time';
    END IF;
    ind := kpi.kept_indicator(forecast_014.indicator, forecast_014.period, 'kpi.forecast');
    sid := kpi.scope_id(forecast_014.scope);
    tree := kpi.scope_descendants(sid);
    cumulative := ind.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[]);
    SELECT x.goal INTO g FROM kpi.target x
    WHERE x.indicator_id OPERATOR(pg_catalog.=) ind.id AND x.scope_id OPERATOR(pg_catalog.=) sid
      AND x.period OPERATOR(kpi.=) forecast_014.period;
    target := kpi.target(g);
    goal := g::text;
    IF kpi.progress(forecast_014.period, forecast_014.at, zone) OPERATOR(pg_catalog.>=) 1 THEN
        SELECT r.tally, r.value INTO cur FROM kpi.rolled_up(ind.id, ind.agg, tree, forecast_014.period) r;
        actual := cur.value; as_of := kpi.last_at(cur.tally); elapsed := 1;
        method := 'final'; expected_share := 1; projected := actual; low := actual; high := actual;
        probability := kpi.probability(actual, 0, g); history := 0;
        RETURN NEXT;
        RETURN;
    END IF;

    -- what the period had reached by `at`, as of its latest data then
    SELECT r.value, r.last_at INTO cur
    FROM kpi.reached(ind.id, ind.agg, tree, pg_catalog.timezone(zone, kpi.start_date(forecast_014.period)::timestamp),
                     forecast_014.at) r;
    actual := cur.value;
    t := LEAST(forecast_014.at, coalesce(cur.last_at, forecast_014.at));
    as_of := t;
    f := kpi.progress(forecast_014.period, t, zone);
    elapsed := f;
    -- the same point of an earlier period: as long after its start as the
    -- latest data are after this one's (the end of a first month is the
    -- end of a first month), the latest data's instant included
    off := t OPERATOR(pg_catalog.-) pg_catalog.timezone(zone, kpi.start_date(forecast_014.period)::timestamp)
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
                      FROM (SELECT forecast_014.period OPERATOR(kpi.-) k AS q, false AS seasonal
                            FROM pg_catalog.generate_series(1, 8) k
                            WHERE kpi.start_date(forecast_014.period) OPERATOR(pg_catalog.>) '0010-01-01'::date
                            UNION ALL SELECT kpi.last_year(forecast_014.period), true
                            UNION ALL SELECT kpi.last_year(kpi.last_year(forecast_014.period)), true
                            UNION ALL SELECT kpi.last_year(kpi.last_year(kpi.last_year(forecast_014.period))), true) x
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
        SELECT ps.share INTO share FROM kpi.planned_share(ind.id, sid, forecast_014.period, t, zone) ps;
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
$$;-- the keys of a period where kpi.forecasts and the oracle disagree, with
-- the number of keys compared
CREATE FUNCTION pg_temp.diff(p kpi.period, at timestamptz)
    RETURNS TABLE (keys bigint, differ bigint, methods text) LANGUAGE sql AS $$
    WITH a AS (SELECT * FROM kpi.forecasts(p, at)),
         b AS (SELECT i.code AS indicator, s.code AS scope, f.*
               FROM kpi.target t JOIN kpi.indicator i ON i.id = t.indicator_id JOIN kpi.scope s ON s.id = t.scope_id
               CROSS JOIN LATERAL pg_temp.forecast_014(i.code, s.code, p, at) f
               WHERE t.period OPERATOR(kpi.=) p AND s.code LIKE 'fc%')
    SELECT count(*), count(*) FILTER (WHERE
               (a.as_of, a.elapsed, a.method, a.actual, a.expected_share, a.projected, a.low, a.high,
                a.target, a.goal, a.probability, a.history)
               IS DISTINCT FROM
               (b.as_of, b.elapsed, b.method, b.actual, b.expected_share, b.projected, b.low, b.high,
                b.target, b.goal, b.probability, b.history)),
           string_agg(DISTINCT b.method, ',' ORDER BY b.method)
    FROM a FULL JOIN b USING (indicator, scope)
    WHERE coalesce(a.scope, b.scope) LIKE 'fc%'
$$;

-- ---------------------------------------------------------------------
-- 1. A company: fc > fc.n > fc.n.a, fc.n.b ; fc > fc.s > fc.s.a
-- ---------------------------------------------------------------------
INSERT INTO kpi.scope (code, name) VALUES ('fc', 'Company');
INSERT INTO kpi.scope (code, name, parent_id)
VALUES ('fc.n', 'North', kpi.scope_id('fc')), ('fc.s', 'South', kpi.scope_id('fc'));
INSERT INTO kpi.scope (code, name, parent_id)
VALUES ('fc.n.a', 'North A', kpi.scope_id('fc.n')), ('fc.n.b', 'North B', kpi.scope_id('fc.n')),
       ('fc.s.a', 'South A', kpi.scope_id('fc.s'));
-- every agg kind; fc.qonly keeps no months, fc.days keeps days and months
INSERT INTO kpi.indicator (code, name, owner, agg, grains) VALUES
    ('fc.rev', 'Revenue', 'ann', 'sum', '{month,quarter,year}'),
    ('fc.orders', 'Orders', 'ann', 'count', '{month,quarter,year}'),
    ('fc.csat', 'Satisfaction', 'ann', 'avg', '{month,quarter,year}'),
    ('fc.margin', 'Margin', 'ann', 'ratio', '{month,quarter,year}'),
    ('fc.stock', 'Stock', 'ann', 'last', '{month,quarter,year}'),
    ('fc.opening', 'Opening stock', 'ann', 'first', '{month,quarter,year}'),
    ('fc.low', 'Lowest', 'ann', 'min', '{month,quarter,year}'),
    ('fc.peak', 'Peak', 'ann', 'max', '{month,quarter,year}'),
    ('fc.qonly', 'Quarterly', 'ann', 'sum', '{quarter}'),
    ('fc.days', 'Daily', 'ann', 'sum', '{day,month,quarter,year}'),
    ('fc.mrev', 'Monthly revenue', 'ann', 'sum', '{month,quarter,year}'),
    ('fc.mstock', 'Monthly stock', 'ann', 'last', '{month,quarter,year}'),
    ('fc.mopen', 'Monthly opening', 'ann', 'first', '{month,quarter,year}'),
    ('fc.mmargin', 'Monthly margin', 'ann', 'ratio', '{month,quarter,year}'),
    ('fc.new', 'New this year', 'ann', 'sum', '{month,quarter,year}');
-- 2024-01 .. 2026-08: a value every 9 days at each branch (and some at
-- fc.n itself), with a seasonal swing; fc.s.a skips every third month of
-- the level indicators; carried tallies at fc.n.b
SELECT count(*) > 0 AS recorded FROM (
    SELECT CASE WHEN i = 'fc.margin'
                THEN kpi.record_ratio(i, s, 10 + (d % 7), 40 + (d % 5), t)
                ELSE kpi.record(i, s, 50 + 20 * sin(extract(doy FROM t) / 58.0) + (d % 11), t) END
    FROM unnest('{fc.rev,fc.orders,fc.csat,fc.margin,fc.stock,fc.opening,fc.low,fc.peak,fc.qonly,fc.days}'::text[]) i,
         unnest('{fc.n.a,fc.n.b,fc.s.a,fc.n}'::text[]) s,
         generate_series(0, 970, 9) d,
         LATERAL (SELECT timestamptz '2024-01-01 10:30' + d * interval '1 day' + (length(s) * interval '97 minutes') AS t) x
    WHERE t < '2026-08-27'
      AND NOT (s = 'fc.n' AND d % 4 <> 0)
      AND NOT (s = 'fc.s.a' AND i IN ('fc.stock', 'fc.opening') AND extract(month FROM t)::int % 3 = 0)
) r;
-- once a month, on the 15th at midnight (whole months before any point
-- of the 15th: read from the kept months); fc.s.a has no fc.mstock every
-- fourth month; fc.new starts in June 2026 (no history: linear)
SELECT count(*) > 0 AS recorded FROM (
    SELECT CASE WHEN i = 'fc.mmargin' THEN kpi.record_ratio(i, s, 20 + k % 3, 80 + k % 4, t)
                ELSE kpi.record(i, s, 100 + (k * 7 + length(s)) % 13, t) END
    FROM unnest('{fc.mrev,fc.mstock,fc.mopen,fc.mmargin,fc.new}'::text[]) i,
         unnest('{fc.n.a,fc.n.b,fc.s.a}'::text[]) s,
         generate_series(0, 31) k,
         LATERAL (SELECT timestamptz '2024-01-15 00:00+01' + k * interval '1 month' AS t) x
    WHERE t < '2026-08-20'
      AND NOT (s = 'fc.s.a' AND i = 'fc.mstock' AND k % 4 = 3)
      AND NOT (i = 'fc.new' AND t < '2026-06-01')
) r;
SELECT count(r.id) AS carried
FROM (VALUES (5::float8, '2025-08-03 12:00+02'::timestamptz), (7, '2026-07-19 08:00+02'), (3, '2026-02-11 09:00+01')) v(v, t),
     LATERAL (SELECT kpi.tally(v.v + g, v.t - g * interval '1 day') AS t FROM generate_series(0, 2) g) c,
     LATERAL (SELECT kpi.record_tally('fc.rev', 'fc.n.b', c.t, v.t, 'carried') AS id) r;
-- targets: 2026-Q3, 2026 and 2026-08 at every scope; a plan (the months
-- of 2026-Q3) for fc.rev at fc.n and at fc.n.a, and of 2025-Q3 at fc.n
SELECT count(kpi.set_target(i, s, p, CASE WHEN i IN ('fc.rev', 'fc.days', 'fc.qonly', 'fc.orders', 'fc.mrev', 'fc.new')
                                         THEN CASE WHEN p = '2026' THEN '>= 9000' ELSE '>= 2500' END
                                         WHEN i IN ('fc.margin', 'fc.mmargin') THEN '>= 0.25'
                                         WHEN i LIKE 'fc.m%' THEN '>= 300' ELSE '>= 55' END)) AS targets
FROM unnest('{fc.rev,fc.orders,fc.csat,fc.margin,fc.stock,fc.opening,fc.low,fc.peak,fc.qonly,fc.days,fc.mrev,fc.mstock,fc.mopen,fc.mmargin,fc.new}'::text[]) i,
     unnest('{fc,fc.n,fc.s,fc.n.a,fc.n.b,fc.s.a}'::text[]) s,
     unnest('{2026-Q3,2026,2026-08}'::text[]) p
WHERE NOT (p <> '2026-Q3' AND i = 'fc.qonly');
SELECT count(kpi.set_target('fc.rev', s, p, g)) AS plan
FROM (VALUES ('fc.n', '2026-07', '>= 700'), ('fc.n', '2026-08', '>= 800'), ('fc.n', '2026-09', '>= 1000'),
             ('fc.n.a', '2026-07', '>= 300'), ('fc.n.a', '2026-08', '>= 300'), ('fc.n.a', '2026-09', '>= 300'),
             ('fc.n', '2025-07', '>= 500'), ('fc.n', '2025-08', '>= 500'), ('fc.n', '2025-09', '>= 600')) v(s, p, g);
-- the writes marked what they changed: read the kept rows from here on
SELECT kpi.subtree_refresh() > 0 AS refreshed;

-- ---------------------------------------------------------------------
-- 2. The same answers as 0.14, key by key
-- ---------------------------------------------------------------------
-- a quarter: at its start, inside a month, at a month's end, on a day
-- with data, after the latest data, at its end, after it
SELECT at, d.* FROM unnest('{2026-07-01 00:00+02,2026-07-15 00:00+02,2026-07-15 00:00:00.000001+02,2026-08-15 00:00+02,2026-07-01 00:00:00.5+02,2026-07-14 18:00+02,2026-07-31 23:59:59+02,2026-08-01 00:00+02,2026-08-09 12:00+02,2026-08-15 12:00+02,2026-08-26 23:00+02,2026-09-20,2026-09-30 23:59:59.999999+02,2026-10-01 00:00+02,2026-12-01}'::timestamptz[]) at,
     LATERAL pg_temp.diff('2026-Q3', at) d;
-- a year, and a month (read from measurements: no kept days for most)
SELECT p, at, d.* FROM (VALUES ('2026', '2026-02-28 12:00+01'::timestamptz), ('2026', '2026-08-15 12:00+02'),
                               ('2026', '2026-03-29 02:30+01'), ('2026-08', '2026-08-15 12:00+02'),
                               ('2026-08', '2026-08-31 23:00+02')) v(p, at),
     LATERAL pg_temp.diff(p::kpi.period, at) d;
-- which way each key was read (2026-Q3 as of mid-August): the methods
-- are the oracle's, the sources are kpi.forecast_each's
SELECT indicator, scope, method, history, round(projected::numeric, 4) AS projected,
       round(probability::numeric, 4) AS probability
FROM kpi.forecasts('2026-Q3', '2026-08-15 12:00+02')
WHERE scope IN ('fc', 'fc.n', 'fc.n.a')
ORDER BY indicator, scope;

-- ---------------------------------------------------------------------
-- 3. Marks waiting, a role that sees part, session settings
-- ---------------------------------------------------------------------
-- a change not refreshed yet: its keys are merged, the answers unchanged
SELECT kpi.record('fc.rev', 'fc.s.a', 40, '2026-08-02 09:00+02') > 0 AS recorded,
       kpi.record('fc.mstock', 'fc.n.b', 90, '2026-06-30 23:30+02') > 0 AS recorded_q2;
SELECT count(*) > 0 AS marked FROM kpi.subtree_stale;
SELECT at, d.* FROM unnest('{2026-08-15 12:00+02,2026-07-20}'::timestamptz[]) at, LATERAL pg_temp.diff('2026-Q3', at) d;
-- everything marked (as after a scope moves)
INSERT INTO kpi.subtree_stale (indicator_id, period) VALUES (NULL, NULL);
SELECT * FROM pg_temp.diff('2026-Q3', '2026-08-15 12:00+02');
SELECT kpi.subtree_refresh() > 0 AS refreshed;
SELECT * FROM pg_temp.diff('2026-Q3', '2026-08-15 12:00+02');
-- a role that sees fc.n: the keys of fc.n and below, as that role would
-- read them key by key; one that sees fc.n.a and fc.s (but not fc or
-- fc.n whole) merges what it sees of fc.n
CREATE ROLE kpi_fc_north;
CREATE ROLE kpi_fc_part;
GRANT USAGE ON SCHEMA kpi TO kpi_fc_north, kpi_fc_part;
GRANT SELECT ON ALL TABLES IN SCHEMA kpi TO kpi_fc_north, kpi_fc_part;
INSERT INTO kpi.scope_member (role, scope_id)
VALUES ('kpi_fc_north', kpi.scope_id('fc.n')), ('kpi_fc_part', kpi.scope_id('fc.n.a')), ('kpi_fc_part', kpi.scope_id('fc.s'));
SET ROLE kpi_fc_north;
SELECT * FROM pg_temp.diff('2026-Q3', '2026-08-15 12:00+02');
SELECT string_agg(DISTINCT scope, ',' ORDER BY scope) AS scopes FROM kpi.forecasts('2026-Q3', '2026-08-15 12:00+02');
RESET ROLE;
SET ROLE kpi_fc_part;
SELECT string_agg(DISTINCT scope, ',' ORDER BY scope) AS scopes FROM kpi.forecasts('2026-Q3', '2026-08-15 12:00+02');
SELECT count(*) AS keys,
       count(*) FILTER (WHERE (f.as_of, f.actual, f.projected, f.low, f.probability, f.history) IS DISTINCT FROM
                              (o.as_of, o.actual, o.projected, o.low, o.probability, o.history)) AS differ
FROM unnest('{fc.rev,fc.stock,fc.margin}'::text[]) i, unnest('{fc.n,fc}'::text[]) s,
     LATERAL kpi.forecast(i, s, '2026-Q3', '2026-08-15 12:00+02') f,
     LATERAL pg_temp.forecast_014(i, s, '2026-Q3', '2026-08-15 12:00+02') o;
RESET ROLE;
-- a role granted what 0.14's forecasts read, but not the kept tables:
-- every key merged, the same answers
CREATE ROLE kpi_fc_narrow;
GRANT USAGE ON SCHEMA kpi TO kpi_fc_narrow;
GRANT SELECT ON kpi.actual, kpi.measurement, kpi.target, kpi.indicator, kpi.scope, kpi.setting TO kpi_fc_narrow;
INSERT INTO kpi.scope_member (role, scope_id) VALUES ('kpi_fc_narrow', kpi.scope_id('fc'));
SET ROLE kpi_fc_narrow;
SELECT * FROM pg_temp.diff('2026-Q3', '2026-08-15 12:00+02');
SELECT pg_temp.try($q$SELECT count(*) FROM kpi.subtree$q$) AS kept_rows;
RESET ROLE;
-- the session's zone and DateStyle change nothing (the points of earlier
-- periods are counted in the company's days)
CREATE TEMP TABLE fc_berlin AS SELECT * FROM kpi.forecasts('2026-Q3', '2026-08-15 12:00+02');
SET TimeZone = 'America/New_York';
SET DateStyle = 'SQL, DMY';
SELECT count(*) AS keys,
       count(*) FILTER (WHERE (f.as_of, f.elapsed, f.method, f.actual, f.expected_share, f.projected, f.low, f.high,
                               f.probability, f.history) IS DISTINCT FROM
                              (b.as_of, b.elapsed, b.method, b.actual, b.expected_share, b.projected, b.low, b.high,
                               b.probability, b.history)) AS differ
FROM kpi.forecasts('2026-Q3', '2026-08-15 12:00+02') f JOIN fc_berlin b USING (indicator, scope);
RESET DateStyle;
SET TimeZone = 'Europe/Berlin';
-- a hostile search_path
SET search_path = evil, pg_catalog;
SELECT count(*) AS keys FROM kpi.forecasts('2026-Q3', '2026-08-15 12:00+02');
RESET search_path;

-- ---------------------------------------------------------------------
-- 4. kpi.forecast_each and the errors
-- ---------------------------------------------------------------------
-- each key once, unknown ids left out
SELECT kpi.indicator_id(i) IS NOT NULL AS known, method, history
FROM kpi.forecast_each(ARRAY[kpi.indicator_id('fc.rev'), kpi.indicator_id('fc.rev'), -1, kpi.indicator_id('fc.csat')],
                       ARRAY[kpi.scope_id('fc.n'), kpi.scope_id('fc.n'), kpi.scope_id('fc.n'), -1],
                       '2026-Q3', '2026-08-15 12:00+02') f
CROSS JOIN LATERAL (SELECT code AS i FROM kpi.indicator WHERE id = f.indicator_id) x;
SELECT count(*) AS no_keys FROM kpi.forecast_each('{}', '{}', '2026-Q3', '2026-08-15');
-- a period nobody has targets for
SELECT count(*) AS no_targets FROM kpi.forecasts('2019-Q1', '2019-02-01');
SELECT pg_temp.try(q) FROM (VALUES
    ($q$SELECT * FROM kpi.forecasts(NULL)$q$),
    ($q$SELECT * FROM kpi.forecasts('2026-Q3', NULL)$q$),
    ($q$SELECT * FROM kpi.forecasts('2026-Q3', '-infinity')$q$),
    ($q$SELECT * FROM kpi.forecast_each('{1}', '{1,2}', '2026-Q3', '2026-08-15')$q$),
    ($q$SELECT * FROM kpi.forecast_each('{NULL}', '{1}', '2026-Q3', '2026-08-15')$q$),
    ($q$SELECT * FROM kpi.forecast_each('{{1}}', '{{1}}', '2026-Q3', '2026-08-15')$q$),
    ($q$SELECT * FROM kpi.forecast_each(NULL, '{1}', '2026-Q3', '2026-08-15')$q$),
    ($q$SELECT * FROM kpi.forecast_each(ARRAY[kpi.indicator_id('fc.qonly')], ARRAY[kpi.scope_id('fc')], '2026-08', '2026-08-15')$q$),
    ($q$SELECT * FROM kpi.forecast('fc.qonly', 'fc', '2026-08', '2026-08-15')$q$),
    ($q$SELECT * FROM kpi.forecast('fc.nothing', 'fc', '2026-Q3', '2026-08-15')$q$),
    ($q$SELECT * FROM kpi.forecast('fc.rev', 'fc.nowhere', '2026-Q3', '2026-08-15')$q$)
) v(q);
ROLLBACK;
