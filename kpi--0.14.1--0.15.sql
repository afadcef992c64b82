-- kpi 0.14.1 -> 0.15: every key's forecast in one statement.
--
--   * kpi.forecasts(period, at): the forecast of every key (indicator,
--     scope) that has a target for the period, in one statement: what
--     kpi.forecast gives for each, read together instead of key by key.
--     Scopes with scopes below them are read from their kept kpi.subtree
--     rows (months and periods), as kpi.rollup reads them.
--   * kpi.forecast_each(indicators, scopes, period, at): the same for any
--     set of keys; kpi.forecast (one key) and kpi.forecasts both call it,
--     so the method exists once (in the library).
--   * kpi.subtree gains nscopes, the number of scopes whose rows hold
--     values: the month that decides a first or last indicator over
--     several scopes (the latest with data, the earliest) tells the
--     window's value only when every scope with values in the period has
--     values in it.  kpi.subtree_refresh() fills it and kpi.verify()
--     checks it.
--
-- Upgrading adds a column to kpi.subtree (no rewrite) and marks every
-- kept row stale: the next kpi.evaluate() (or kpi.subtree_refresh())
-- refills them with the count; until then readers merge, as before.
-- Install the 0.15 library (make install) first.
\echo Use "ALTER EXTENSION kpi UPDATE TO '0.15'" to load this file. \quit

-- ---------------------------------------------------------------------
-- 1. kpi.subtree counts the scopes with values
-- ---------------------------------------------------------------------

ALTER TABLE kpi.subtree ADD COLUMN nscopes bigint;
COMMENT ON COLUMN kpi.subtree.nscopes IS
    'the number of those rows whose tally holds values (a row can hold only a target); NULL until the row is refreshed after the upgrade to 0.15';
-- every row is refreshed with its count by the next kpi.evaluate()
INSERT INTO kpi.subtree_stale (indicator_id, period) VALUES (NULL, NULL);

-- kpi.subtree_refresh: as in 0.14, with nscopes.
CREATE OR REPLACE FUNCTION kpi.subtree_refresh() RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET jit = off
AS $$
DECLARE
    everything boolean;
    whole bigint[];
    ki bigint[];
    kp kpi.period[];
    written bigint;
BEGIN
    -- one refresh at a time; readers and writers do not wait for it
    LOCK TABLE kpi.subtree IN SHARE ROW EXCLUSIVE MODE;
    WITH m AS (
        DELETE FROM kpi.subtree_stale RETURNING indicator_id, period
    ), d AS (
        SELECT DISTINCT m.indicator_id, m.period FROM m
    )
    SELECT coalesce(pg_catalog.bool_or(d.indicator_id IS NULL), false),
           coalesce(pg_catalog.array_agg(d.indicator_id) FILTER (WHERE d.indicator_id IS NOT NULL AND d.period IS NULL), '{}'),
           coalesce(pg_catalog.array_agg(d.indicator_id) FILTER (WHERE d.indicator_id IS NOT NULL AND d.period IS NOT NULL), '{}'),
           coalesce(pg_catalog.array_agg(d.period) FILTER (WHERE d.indicator_id IS NOT NULL AND d.period IS NOT NULL), '{}')
      INTO everything, whole, ki, kp
    FROM d;
    -- many keys against the table's size (a load of everything, a
    -- rebuild): one pass over kpi.actual is cheaper than a lookup per key
    everything := everything OR (
        pg_catalog.cardinality(ki) OPERATOR(pg_catalog.+) 50 OPERATOR(pg_catalog.*) pg_catalog.cardinality(whole)
            OPERATOR(pg_catalog.>) 20000
        AND (pg_catalog.cardinality(ki) OPERATOR(pg_catalog.+) 50 OPERATOR(pg_catalog.*) pg_catalog.cardinality(whole))
            OPERATOR(pg_catalog.*) 50
            OPERATOR(pg_catalog.>) (SELECT c.reltuples FROM pg_catalog.pg_class c
                                    WHERE c.oid OPERATOR(pg_catalog.=) 'kpi.subtree'::pg_catalog.regclass));
    IF everything THEN
        DELETE FROM kpi.subtree;
        WITH pairs AS (
            SELECT t.ancestor_id AS anc, t.scope_id AS sid FROM kpi.scope_tree t
            WHERE EXISTS (SELECT FROM kpi.scope c WHERE c.parent_id OPERATOR(pg_catalog.=) t.ancestor_id)
        )
        INSERT INTO kpi.subtree (scope_id, period, indicator_id, tally, level_sum, nrows, nscopes)
        SELECT c.anc, a.period, a.indicator_id, kpi.merge(a.tally),
               pg_catalog.sum(kpi.value(a.tally, i.agg)) FILTER (WHERE i.agg OPERATOR(pg_catalog.=) ANY ('{first,last}'::kpi.agg_kind[])),
               pg_catalog.count(*),
               pg_catalog.count(*) FILTER (WHERE kpi.value(a.tally, 'count') OPERATOR(pg_catalog.>) 0::float8)
        FROM kpi.actual a
        JOIN pairs c ON c.sid OPERATOR(pg_catalog.=) a.scope_id
        JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
        GROUP BY c.anc, a.period, a.indicator_id;
        GET DIAGNOSTICS written = ROW_COUNT;
        RETURN written;
    END IF;
    IF pg_catalog.cardinality(whole) OPERATOR(pg_catalog.=) 0 AND pg_catalog.cardinality(ki) OPERATOR(pg_catalog.=) 0 THEN
        RETURN 0;
    END IF;
    -- the keys: those marked, and every period of the indicators marked whole
    SELECT pg_catalog.array_agg(k.i), pg_catalog.array_agg(k.p) INTO ki, kp
    FROM (SELECT x.i, x.p FROM ROWS FROM (pg_catalog.unnest(ki), pg_catalog.unnest(kp)) AS x(i, p)
          WHERE NOT x.i OPERATOR(pg_catalog.=) ANY (whole)
          UNION
          SELECT a.indicator_id, a.period FROM kpi.actual a WHERE a.indicator_id OPERATOR(pg_catalog.=) ANY (whole)
          UNION
          SELECT t.indicator_id, t.period FROM kpi.subtree t WHERE t.indicator_id OPERATOR(pg_catalog.=) ANY (whole)) k;
    DELETE FROM kpi.subtree t USING ROWS FROM (pg_catalog.unnest(ki), pg_catalog.unnest(kp)) AS k(i, p)
    WHERE t.indicator_id OPERATOR(pg_catalog.=) k.i AND t.period OPERATOR(kpi.=) k.p;
    IF ki IS NULL THEN
        RETURN 0;
    END IF;
    -- each key's rows through the primary key of kpi.actual, scope by scope
    WITH pairs AS MATERIALIZED (
        SELECT t.ancestor_id AS anc, t.scope_id AS sid FROM kpi.scope_tree t
        WHERE EXISTS (SELECT FROM kpi.scope c WHERE c.parent_id OPERATOR(pg_catalog.=) t.ancestor_id)
    )
    INSERT INTO kpi.subtree (scope_id, period, indicator_id, tally, level_sum, nrows, nscopes)
    SELECT c.anc, a.period, a.indicator_id, kpi.merge(a.tally),
           pg_catalog.sum(kpi.value(a.tally, i.agg)) FILTER (WHERE i.agg OPERATOR(pg_catalog.=) ANY ('{first,last}'::kpi.agg_kind[])),
           pg_catalog.count(*),
           pg_catalog.count(*) FILTER (WHERE kpi.value(a.tally, 'count') OPERATOR(pg_catalog.>) 0::float8)
    FROM ROWS FROM (pg_catalog.unnest(ki), pg_catalog.unnest(kp)) AS k(i, p)
    JOIN kpi.actual a ON a.indicator_id OPERATOR(pg_catalog.=) k.i AND a.period OPERATOR(kpi.=) k.p
                     AND a.scope_id OPERATOR(pg_catalog.=) ANY (ARRAY(SELECT DISTINCT pairs.sid FROM pairs))
    JOIN pairs c ON c.sid OPERATOR(pg_catalog.=) a.scope_id
    JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
    GROUP BY c.anc, a.period, a.indicator_id;
    GET DIAGNOSTICS written = ROW_COUNT;
    RETURN written;
END
$$;
COMMENT ON FUNCTION kpi.subtree_refresh() IS
    'owner only (kpi.evaluate() runs it): bring the kpi.subtree rows of the keys marked in kpi.subtree_stale up to date; returns the rows written';

-- ---------------------------------------------------------------------
-- 2. kpi.verify() checks nscopes
-- ---------------------------------------------------------------------

-- kpi.verify: as in 0.14; a kept row's nscopes is compared too.
CREATE OR REPLACE FUNCTION kpi.verify()
    RETURNS TABLE (problem text, indicator text, scope text, period text, detail text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp SET jit = off
BEGIN ATOMIC
    WITH z AS (SELECT kpi.time_zone() AS zone),
    -- every measurement summarised afresh at its indicator's grains
    summed AS (
        SELECT m.indicator_id, m.scope_id, kpi.period(m.at, g.grain, z.zone) AS period,
               kpi.tally(m.value, m.at) FILTER (WHERE m.denominator IS NULL AND m.tally IS NULL) AS t1,
               kpi.tally(m.value, m.denominator, m.at) FILTER (WHERE m.denominator IS NOT NULL AND m.tally IS NULL) AS t2,
               kpi.merge(m.tally) AS t3
        FROM kpi.measurement m
        JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
        CROSS JOIN LATERAL pg_catalog.unnest(i.grains) AS g(grain)
        CROSS JOIN z
        GROUP BY 1, 2, 3),
    fresh AS (
        SELECT coalesce(s.indicator_id, t.indicator_id) AS indicator_id,
               coalesce(s.scope_id, t.scope_id) AS scope_id,
               coalesce(s.period, t.period) AS period,
               s.t1 OPERATOR(kpi.+) s.t2 OPERATOR(kpi.+) s.t3 AS tally
        FROM summed s
        FULL JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) s.indicator_id
                              AND t.scope_id OPERATOR(pg_catalog.=) s.scope_id
                              AND t.period OPERATOR(kpi.=) s.period),
    keys AS (
        SELECT coalesce(a.indicator_id, f.indicator_id) AS indicator_id,
               coalesce(a.scope_id, f.scope_id) AS scope_id,
               coalesce(a.period, f.period) AS period,
               a.indicator_id IS NOT NULL AS in_actual, f.indicator_id IS NOT NULL AS expected,
               a.tally AS kept, f.tally AS fresh,
               a.value, a.target, a.attainment, a.status
        FROM kpi.actual a
        FULL JOIN fresh f ON f.indicator_id OPERATOR(pg_catalog.=) a.indicator_id
                         AND f.scope_id OPERATOR(pg_catalog.=) a.scope_id
                         AND f.period OPERATOR(kpi.=) a.period),
    actual_problems AS (
        SELECT 'actual missing' AS problem, k.indicator_id, k.scope_id, k.period,
               'the key has measurements or a target but no kpi.actual row' AS detail
        FROM keys k WHERE NOT k.in_actual
        UNION ALL
        SELECT 'actual extra', k.indicator_id, k.scope_id, k.period,
               'kpi.actual has a row for a key with neither measurements nor a target'
        FROM keys k WHERE k.in_actual AND NOT k.expected
        UNION ALL
        SELECT 'actual tally', k.indicator_id, k.scope_id, k.period,
               format('kept %s, fresh %s', k.kept, coalesce(k.fresh::text, 'empty'))
        FROM keys k
        CROSS JOIN LATERAL (SELECT coalesce(k.fresh, kpi.tally(NULL::float8)) AS f) x
        WHERE k.in_actual AND k.expected
          AND (kpi.value(k.kept, 'count') IS DISTINCT FROM kpi.value(x.f, 'count')
               OR kpi.value(k.kept, 'min') IS DISTINCT FROM kpi.value(x.f, 'min')
               OR kpi.value(k.kept, 'max') IS DISTINCT FROM kpi.value(x.f, 'max')
               OR kpi.value(k.kept, 'first') IS DISTINCT FROM kpi.value(x.f, 'first')
               OR kpi.value(k.kept, 'last') IS DISTINCT FROM kpi.value(x.f, 'last')
               OR pg_catalog.abs(coalesce(kpi.value(k.kept, 'sum'), 0) OPERATOR(pg_catalog.-) coalesce(kpi.value(x.f, 'sum'), 0))
                  OPERATOR(pg_catalog.>) (1e-12 OPERATOR(pg_catalog.*) GREATEST(pg_catalog.abs(coalesce(kpi.value(x.f, 'sum'), 0)), 1))
               OR pg_catalog.abs(coalesce(kpi.value(k.kept, 'ratio'), 0) OPERATOR(pg_catalog.-) coalesce(kpi.value(x.f, 'ratio'), 0))
                  OPERATOR(pg_catalog.>) (1e-12 OPERATOR(pg_catalog.*) GREATEST(pg_catalog.abs(coalesce(kpi.value(x.f, 'ratio'), 0)), 1))
               OR (kpi.value(k.kept, 'ratio') IS NULL) OPERATOR(pg_catalog.<>) (kpi.value(x.f, 'ratio') IS NULL))
        UNION ALL
        SELECT 'actual evaluation', k.indicator_id, k.scope_id, k.period,
               format('kept value %s, target %s, attainment %s, status %s; fresh %s, %s, %s, %s',
                      k.value, k.target, k.attainment, k.status, e.value, e.target, e.attainment, e.status)
        FROM keys k
        JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) k.indicator_id
        LEFT JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) k.indicator_id
                              AND t.scope_id OPERATOR(pg_catalog.=) k.scope_id
                              AND t.period OPERATOR(kpi.=) k.period
        CROSS JOIN LATERAL (SELECT kpi.value(k.kept, i.agg) AS value, kpi.target(t.goal) AS target,
                                   kpi.attainment(kpi.value(k.kept, i.agg), t.goal) AS attainment,
                                   kpi.status(kpi.attainment(kpi.value(k.kept, i.agg), t.goal), i.bands) AS status) e
        WHERE k.in_actual
          AND (k.value IS DISTINCT FROM e.value OR k.target IS DISTINCT FROM e.target
               OR k.attainment IS DISTINCT FROM e.attainment OR k.status IS DISTINCT FROM e.status)),
    data_problems AS (
        SELECT 'target grain' AS problem, t.indicator_id, t.scope_id, t.period,
               format('a target at grain %s, which the indicator does not keep', kpi.grain(t.period)) AS detail
        FROM kpi.target t JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) t.indicator_id
        WHERE NOT kpi.grain(t.period) OPERATOR(pg_catalog.=) ANY (i.grains)
        UNION ALL
        SELECT 'ratio denominator', m.indicator_id, m.scope_id, NULL::kpi.period,
               format('measurement %s of a ratio indicator has no denominator', m.id)
        FROM kpi.measurement m JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
        WHERE i.agg OPERATOR(pg_catalog.=) 'ratio' AND m.denominator IS NULL
        UNION ALL
        SELECT 'computed by hand', m.indicator_id, m.scope_id, NULL::kpi.period,
               format('measurement %s was recorded by hand for a day the indicator''s source computes', m.id)
        FROM kpi.measurement m JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
        WHERE i.sources IS NOT NULL AND m.source IS DISTINCT FROM 'kpi.refresh'
          AND kpi.today(m.at) OPERATOR(pg_catalog.>=)
              coalesce((i.sources OPERATOR(pg_catalog.->) 0 OPERATOR(pg_catalog.->>) 'effective')::date, '-infinity')),
    alert_problems AS (
        SELECT 'alert state' AS problem, a.indicator_id, a.scope_id, a.period,
               format('alert %s is %s with acked_at %s and resolved_at %s', a.id, a.state,
                      coalesce(a.acked_at::text, 'NULL'), coalesce(a.resolved_at::text, 'NULL')) AS detail
        FROM kpi.alert a
        WHERE (a.state OPERATOR(pg_catalog.=) 'resolved') OPERATOR(pg_catalog.<>) (a.resolved_at IS NOT NULL)
           OR (a.state OPERATOR(pg_catalog.=) 'acked' AND a.acked_at IS NULL)
        UNION ALL
        SELECT 'alert events', a.indicator_id, a.scope_id, a.period,
               format('alert %s is %s, its last event says %s; raise event: %s', a.id, a.state,
                      coalesce(last_event.state, 'nothing'), coalesce(raised.n, 0))
        FROM kpi.alert a
        LEFT JOIN LATERAL (SELECT e.state FROM kpi.alert_event e WHERE e.alert_id OPERATOR(pg_catalog.=) a.id
                           ORDER BY e.id DESC LIMIT 1) last_event ON true
        LEFT JOIN LATERAL (SELECT pg_catalog.count(*) AS n FROM kpi.alert_event e
                           WHERE e.alert_id OPERATOR(pg_catalog.=) a.id AND e.kind OPERATOR(pg_catalog.=) 'raise') raised ON true
        WHERE last_event.state IS DISTINCT FROM a.state OR raised.n OPERATOR(pg_catalog.<>) 1
        UNION ALL
        SELECT 'alerts pending', NULL::bigint, NULL::bigint, NULL::kpi.period,
               format('%s queued changes wait for kpi.evaluate()', pg_catalog.count(*))
        FROM kpi.alert_queue HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0
        UNION ALL
        -- every key judged afresh now, once nothing waits in the queue
        SELECT CASE WHEN a.id IS NULL THEN 'alert missing' ELSE 'alert stale' END,
               g.indicator_id, g.scope_id, g.period,
               CASE WHEN a.id IS NULL THEN format('judged %s on %s %s, but no alert is open', g.severity, g.basis, g.score)
                    ELSE format('alert %s (%s) is %s, but the key is judged %s on %s %s', a.id, a.kind, a.state,
                                coalesce(g.severity::text, 'nothing'), coalesce(g.basis, 'nothing'), g.score) END
        FROM (SELECT pg_catalog.array_agg(k.indicator_id) AS i, pg_catalog.array_agg(k.scope_id) AS s,
                     pg_catalog.array_agg(k.period) AS p
              FROM kpi.alert_keys(NULL, NULL, NULL) k
              WHERE NOT EXISTS (SELECT FROM kpi.alert_queue)) ks
        -- judged when the alerts were: at the last evaluation (the cycle
        -- judges what time changes), or now if there was none
        CROSS JOIN LATERAL kpi.judgement(ks.i, ks.s, ks.p,
                                         coalesce((SELECT c.evaluated_at FROM kpi.alert_clock c
                                                   WHERE pg_catalog.isfinite(c.evaluated_at)), pg_catalog.now())) g
        LEFT JOIN kpi.alert a ON a.indicator_id OPERATOR(pg_catalog.=) g.indicator_id
                             AND a.scope_id OPERATOR(pg_catalog.=) g.scope_id
                             AND a.period OPERATOR(kpi.=) g.period AND a.state OPERATOR(pg_catalog.<>) 'resolved'
        WHERE (a.id IS NULL AND g.raise AND NOT g.silenced AND NOT g.dismissed)
           OR (a.id IS NOT NULL AND NOT (g.hold AND g.kind IS NOT DISTINCT FROM a.kind))),
    history_problems AS (
        SELECT 'indicator history' AS problem, coalesce(i.id, h.indicator_id) AS indicator_id,
               NULL::bigint AS scope_id, NULL::kpi.period AS period,
               CASE WHEN h.indicator_id IS NULL THEN 'the indicator has no history'
                    WHEN i.id IS NULL THEN 'the history''s last change is not a DELETE, but the indicator is gone'
                    ELSE 'the history''s last state differs from the indicator' END AS detail
        FROM kpi.indicator i
        FULL JOIN (SELECT DISTINCT ON (x.indicator_id) x.indicator_id, x.op, x.new_row
                   FROM kpi.indicator_history x
                   ORDER BY x.indicator_id, x.id DESC) h
               ON h.indicator_id OPERATOR(pg_catalog.=) i.id
        WHERE (i.id IS NULL AND h.op OPERATOR(pg_catalog.<>) 'DELETE')
           OR (i.id IS NOT NULL AND (h.indicator_id IS NULL OR h.op OPERATOR(pg_catalog.=) 'DELETE'
               OR pg_catalog.jsonb_populate_record(NULL::kpi.indicator, h.new_row) IS DISTINCT FROM i))
        UNION ALL
        SELECT 'target history', coalesce(t.indicator_id, h.indicator_id), coalesce(t.scope_id, h.scope_id),
               coalesce(t.period, h.period),
               CASE WHEN h.target_id IS NULL THEN 'the target has no history'
                    WHEN t.id IS NULL THEN 'the history''s last change is not a DELETE, but the target is gone'
                    ELSE format('the history''s last goal %s differs from the target''s %s', h.new_goal, t.goal) END
        FROM kpi.target t
        FULL JOIN (SELECT DISTINCT ON (x.target_id) x.target_id, x.indicator_id, x.scope_id, x.period, x.op, x.new_goal
                   FROM kpi.target_history x
                   ORDER BY x.target_id, x.id DESC) h
               ON h.target_id OPERATOR(pg_catalog.=) t.id
        WHERE (t.id IS NULL AND h.op OPERATOR(pg_catalog.<>) 'DELETE')
           OR (t.id IS NOT NULL AND (h.target_id IS NULL OR h.op OPERATOR(pg_catalog.=) 'DELETE'
               OR h.new_goal IS DISTINCT FROM t.goal))),
    -- kpi.subtree against a fresh merge of kpi.actual, for the keys no
    -- change waits for (a whole-table mark: nothing to compare yet)
    subtree_problems AS (
        WITH pairs AS (
            SELECT t.ancestor_id AS anc, t.scope_id AS sid FROM kpi.scope_tree t
            WHERE EXISTS (SELECT FROM kpi.scope c WHERE c.parent_id OPERATOR(pg_catalog.=) t.ancestor_id)
        ), merged AS (
            SELECT c.anc AS scope_id, a.period, a.indicator_id, kpi.merge(a.tally) AS tally,
                   pg_catalog.sum(kpi.value(a.tally, i.agg))
                       FILTER (WHERE i.agg OPERATOR(pg_catalog.=) ANY ('{first,last}'::kpi.agg_kind[])) AS level_sum,
                   pg_catalog.count(*) AS nrows,
                   pg_catalog.count(*) FILTER (WHERE kpi.value(a.tally, 'count') OPERATOR(pg_catalog.>) 0::float8) AS nscopes
            FROM kpi.actual a
            JOIN pairs c ON c.sid OPERATOR(pg_catalog.=) a.scope_id
            JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
            GROUP BY 1, 2, 3
        )
        SELECT 'subtree tally' AS problem, coalesce(k.indicator_id, f.indicator_id) AS indicator_id,
               coalesce(k.scope_id, f.scope_id) AS scope_id, coalesce(k.period, f.period) AS period,
               format('kept %s (%s rows, %s with values), fresh %s (%s rows, %s with values)',
                      coalesce(k.tally::text, 'nothing'), coalesce(k.nrows, 0), coalesce(k.nscopes, 0),
                      coalesce(f.tally::text, 'nothing'), coalesce(f.nrows, 0), coalesce(f.nscopes, 0)) AS detail
        FROM kpi.subtree k
        FULL JOIN merged f ON f.scope_id OPERATOR(pg_catalog.=) k.scope_id AND f.period OPERATOR(kpi.=) k.period
                          AND f.indicator_id OPERATOR(pg_catalog.=) k.indicator_id
        -- a role that sees part of the company checks the scopes it sees
        WHERE ((SELECT kpi.visible_scopes()) IS NULL
               OR coalesce(k.scope_id, f.scope_id) OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]))
          AND NOT EXISTS (SELECT FROM kpi.subtree_stale x WHERE x.indicator_id IS NULL)
          AND NOT EXISTS (SELECT FROM kpi.subtree_stale x
                          WHERE x.indicator_id OPERATOR(pg_catalog.=) coalesce(k.indicator_id, f.indicator_id)
                            AND (x.period IS NULL OR x.period OPERATOR(kpi.=) coalesce(k.period, f.period)))
          AND (k.nrows IS DISTINCT FROM f.nrows
               OR k.nscopes IS DISTINCT FROM f.nscopes
               OR NOT kpi.tally_agrees(k.tally, f.tally)
               OR (k.level_sum IS NULL) OPERATOR(pg_catalog.<>) (f.level_sum IS NULL)
               OR pg_catalog.abs(k.level_sum OPERATOR(pg_catalog.-) f.level_sum)
                  OPERATOR(pg_catalog.>) (1e-12 OPERATOR(pg_catalog.*) GREATEST(pg_catalog.abs(f.level_sum), 1))))
    SELECT p.problem, i.code, s.code, p.period::text, p.detail
    FROM (SELECT * FROM actual_problems UNION ALL SELECT * FROM data_problems
          UNION ALL SELECT * FROM alert_problems UNION ALL SELECT * FROM history_problems
          UNION ALL SELECT * FROM subtree_problems) p
    LEFT JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) p.indicator_id
    LEFT JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) p.scope_id
    ORDER BY p.problem, i.code, s.code, p.period;
END;
COMMENT ON FUNCTION kpi.verify() IS
    'every disagreement between derived and source state (kpi.actual against a fresh computation, data rules, alert invariants, alerts against a fresh judgement of every key, history against current rows, values recorded by hand for computed days, kpi.subtree against a fresh merge); no rows when all is well';

-- ---------------------------------------------------------------------
-- 3. Forecasts of many keys in one pass
-- ---------------------------------------------------------------------

-- kpi.forecast_each: kpi.forecast of each key (indicators[i], scopes[i])
-- of one period, read together (src/forecast.c); each key once, with its
-- ids; a key whose indicator or scope does not exist has no row.
CREATE FUNCTION kpi.forecast_each(indicators bigint[], scopes bigint[], period kpi.period,
                                  at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (indicator_id bigint, scope_id bigint, as_of timestamptz, elapsed float8, method text,
                   actual float8, expected_share float8, projected float8, low float8, high float8,
                   target float8, goal kpi.goal, probability float8, history integer)
    AS 'MODULE_PATHNAME', 'kpi_forecast_each'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION kpi.forecast_each(bigint[], bigint[], kpi.period, timestamptz) IS
    'kpi.forecast of many keys (indicators[i], scopes[i]) of one period in one pass, with their ids; kpi.forecast and kpi.forecasts call it';

-- kpi.forecast: as in 0.9 (the same columns and answers), computed by
-- kpi.forecast_each for its one key.
CREATE OR REPLACE FUNCTION kpi.forecast(indicator text, scope text, period kpi.period,
                             at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (as_of timestamptz, elapsed float8, method text, actual float8, expected_share float8,
                   projected float8, low float8, high float8, target float8, goal text,
                   probability float8, history integer)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ind kpi.indicator;
BEGIN
    IF forecast.period IS NULL OR forecast.at IS NULL OR NOT pg_catalog.isfinite(forecast.at) THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'kpi.forecast needs a period and a finite time';
    END IF;
    ind := kpi.kept_indicator(forecast.indicator, forecast.period, 'kpi.forecast');
    RETURN QUERY
    SELECT f.as_of, f.elapsed, f.method, f.actual, f.expected_share, f.projected, f.low, f.high,
           f.target, f.goal::text, f.probability, f.history
    FROM kpi.forecast_each(ARRAY[ind.id], ARRAY[kpi.scope_id(forecast.scope)], forecast.period, forecast.at) f;
END
$$;
COMMENT ON FUNCTION kpi.forecast(text, text, kpi.period, timestamptz) IS
    'where a running period will end (as of its latest data): projected value (sum and count: value so far / the share expected by then, from the plan, else the key''s seasonal history, else time; others: the value so far), an 80% interval and the probability of meeting the goal';

-- kpi.forecasts: every key with a target for the period (that the caller
-- sees), forecast in one pass; keys of indicators that do not keep the
-- period's grain are left out (kpi.forecast refuses them).
CREATE FUNCTION kpi.forecasts(period kpi.period, at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (indicator text, scope text, as_of timestamptz, elapsed float8, method text,
                   actual float8, expected_share float8, projected float8, low float8, high float8,
                   target float8, goal text, probability float8, history integer)
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ids bigint[];
    scps bigint[];
BEGIN
    IF forecasts.period IS NULL OR forecasts.at IS NULL OR NOT pg_catalog.isfinite(forecasts.at) THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'kpi.forecasts needs a period and a finite time';
    END IF;
    SELECT pg_catalog.array_agg(t.indicator_id), pg_catalog.array_agg(t.scope_id) INTO ids, scps
    FROM kpi.target t
    JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) t.indicator_id
    WHERE t.period OPERATOR(kpi.=) forecasts.period
      AND kpi.grain(forecasts.period) OPERATOR(pg_catalog.=) ANY (i.grains);
    RETURN QUERY
    SELECT i.code, s.code, f.as_of, f.elapsed, f.method, f.actual, f.expected_share, f.projected, f.low, f.high,
           f.target, f.goal::text, f.probability, f.history
    FROM kpi.forecast_each(coalesce(ids, '{}'), coalesce(scps, '{}'), forecasts.period, forecasts.at) f
    JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) f.indicator_id
    JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) f.scope_id
    ORDER BY i.code COLLATE "C", s.code COLLATE "C";
END
$$;
COMMENT ON FUNCTION kpi.forecasts(kpi.period, timestamptz) IS
    'kpi.forecast of every key (indicator, scope) with a target for the period that the caller sees, in one statement: indicator and scope codes, then kpi.forecast''s columns; indicators that do not keep the period''s grain are left out';
