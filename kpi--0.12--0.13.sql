-- kpi 0.12 -> 0.13: attribution that reads only what it explains.
--
--   * kpi.rollup(p, scope, indicator): the indicator tree scored under one
--     indicator (it and everything below it), reading only that subtree's
--     kpi.actual rows when it is a small part of the tree.  A node's score
--     depends on its subtree alone, so every row equals the whole tree's.
--   * kpi.explain: the indicator-tree part scores the explained node's
--     subtree instead of the whole tree, so explaining a node reads its
--     own leaves' rows (a group of 20 leaves at 10,000 indicators: 1,800
--     rows instead of 1,000,000), and kpi.root_cause, which explains each
--     node of its path, scores the whole tree once, not once per level.
--   * kpi.forecast (and what it calls) is parallel safe, and so is
--     kpi.visible_scopes(): a statement that forecasts many keys runs them
--     in parallel workers.
\echo Use "ALTER EXTENSION kpi UPDATE TO '0.13'" to load this file. \quit

-- ---------------------------------------------------------------------
-- 1. kpi.rollup under one indicator
-- ---------------------------------------------------------------------

-- The third argument has no default: kpi.rollup(p) and kpi.rollup(p,
-- scope) stay the functions they were.
CREATE FUNCTION kpi.rollup(p kpi.period, scope text, indicator text)
    RETURNS TABLE (indicator_id bigint, code text, depth integer, actual float8, target float8,
                   attainment float8, score float8, status kpi.status, coverage float8)
    AS 'MODULE_PATHNAME', 'kpi_rollup'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION kpi.rollup(kpi.period, text, text) IS
    'score one indicator and everything below it for a period and a scope (NULL = whole organisation), as kpi.rollup(p, scope) scores them, depth counted from the indicator (NULL = the whole tree); reads only that subtree''s rows';

-- ---------------------------------------------------------------------
-- 2. kpi.explain: the indicator tree under the explained node
-- ---------------------------------------------------------------------

-- As in 0.9, but the score points come from kpi.rollup of the node's own
-- subtree.
CREATE OR REPLACE FUNCTION kpi.explain(indicator text, scope text, period kpi.period, basis text DEFAULT 'target')
    RETURNS TABLE (tree text, node text, node_name text, effect text, actual float8, reference float8,
                   weight float8, contribution float8, share float8, adverse boolean)
    LANGUAGE plpgsql STABLE
    -- planned once per session: a custom plan per call cost more than running it
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    ind kpi.indicator;
    sid bigint;
    ref_p kpi.period;
    dir text;
    kind text;
    subtree bigint[];
    tot_a float8;
    tot_r float8;
BEGIN
    IF basis IS NULL OR basis NOT IN ('target', 'previous', 'last_year') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown basis: "%s"', basis),
            HINT = 'A gap is explained against the target, the previous period or last_year.';
    END IF;
    IF explain.period IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'kpi.explain needs a period';
    END IF;
    ind := kpi.kept_indicator(explain.indicator, explain.period, 'kpi.explain');
    sid := kpi.scope_id(explain.scope);
    ref_p := CASE basis
                 WHEN 'previous' THEN CASE WHEN kpi.start_date(explain.period) OPERATOR(pg_catalog.>) '0001-01-01'::date
                                           THEN explain.period OPERATOR(kpi.-) 1 END
                 WHEN 'last_year' THEN kpi.last_year(explain.period) END;
    dir := kpi.direction_of(ind.id, sid, explain.period);
    kind := CASE WHEN ind.agg OPERATOR(pg_catalog.=) ANY ('{ratio,avg}'::kpi.agg_kind[]) THEN 'rate'
                 WHEN ind.agg OPERATOR(pg_catalog.=) ANY ('{min,max}'::kpi.agg_kind[]) THEN 'extreme'
                 ELSE 'additive' END;
    subtree := kpi.scope_descendants(sid);
    SELECT r.value INTO tot_a FROM kpi.rolled_up(ind.id, ind.agg, subtree, explain.period) r;
    IF basis OPERATOR(pg_catalog.=) 'target' THEN
        SELECT kpi.target(t.goal) INTO tot_r FROM kpi.target t
        WHERE t.indicator_id OPERATOR(pg_catalog.=) ind.id AND t.scope_id OPERATOR(pg_catalog.=) sid
          AND t.period OPERATOR(kpi.=) explain.period;
    ELSE
        SELECT r.value INTO tot_r FROM kpi.rolled_up(ind.id, ind.agg, subtree, ref_p) r;
    END IF;

    RETURN QUERY
    WITH seg AS (
        SELECT c.id, c.code, c.name, false AS own, kpi.scope_descendants(c.id) AS scopes
        FROM kpi.scope c WHERE c.parent_id OPERATOR(pg_catalog.=) sid
        UNION ALL
        SELECT s.id, s.code, s.name, true, ARRAY[s.id] FROM kpi.scope s WHERE s.id OPERATOR(pg_catalog.=) sid
    ), v AS (
        SELECT seg.code, seg.name, seg.own, cur.value AS a1, ref.value AS a0,
               kpi.numerator(cur.tally, ind.agg) AS n1, kpi.denominator(cur.tally, ind.agg) AS d1,
               kpi.numerator(ref.tally, ind.agg) AS n0, kpi.denominator(ref.tally, ind.agg) AS d0,
               kpi.target(tg.goal) AS tgt
        FROM seg
        LEFT JOIN LATERAL kpi.rolled_up(ind.id, ind.agg, seg.scopes, explain.period) cur ON true
        LEFT JOIN LATERAL kpi.rolled_up(ind.id, ind.agg, seg.scopes, ref_p) ref ON ref_p IS NOT NULL
        LEFT JOIN kpi.target tg ON basis OPERATOR(pg_catalog.=) 'target' AND NOT seg.own
                               AND tg.indicator_id OPERATOR(pg_catalog.=) ind.id
                               AND tg.scope_id OPERATOR(pg_catalog.=) seg.id
                               AND tg.period OPERATOR(kpi.=) explain.period
        -- segments with data in either period, or a target
        WHERE cur.value IS NOT NULL OR ref.value IS NOT NULL OR tg.goal IS NOT NULL
    ), w AS (
        -- shares of the denominator and rates (ratio, avg)
        SELECT v.*,
               v.d1 OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.d1) OVER (), 0) AS w1,
               v.d0 OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.d0) OVER (), 0) AS w0,
               v.n1 OPERATOR(pg_catalog./) NULLIF(v.d1, 0) AS r1,
               coalesce(v.n0 OPERATOR(pg_catalog./) NULLIF(v.d0, 0),
                        pg_catalog.sum(v.n0) OVER () OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.d0) OVER (), 0)) AS r0,
               pg_catalog.sum(v.n0) OVER () OPERATOR(pg_catalog./) NULLIF(pg_catalog.sum(v.d0) OVER (), 0) AS big_r0,
               -- the segment that holds the extreme (min, max)
               pg_catalog.row_number() OVER (ORDER BY (v.a1 OPERATOR(pg_catalog.=) tot_a) DESC NULLS LAST,
                                             v.code COLLATE "C") AS holder
        FROM v
    ), parts AS (
        SELECT 1 AS ord, ind.code AS node, ind.name AS node_name, 'total' AS effect,
               tot_a AS actual, tot_r AS reference, 1::float8 AS weight,
               tot_a OPERATOR(pg_catalog.-) tot_r AS contribution
        UNION ALL
        -- sum, count, first, last: differences
        SELECT CASE WHEN w.own THEN 3 ELSE 2 END, w.code, w.name,
               CASE WHEN w.own THEN 'own' ELSE 'difference' END,
               w.a1, CASE WHEN basis OPERATOR(pg_catalog.=) 'target' THEN w.tgt ELSE w.a0 END, NULL,
               coalesce(w.a1, 0) OPERATOR(pg_catalog.-)
                   coalesce(CASE WHEN basis OPERATOR(pg_catalog.=) 'target' THEN w.tgt ELSE w.a0 END, 0)
        FROM w WHERE kind OPERATOR(pg_catalog.=) 'additive'
        UNION ALL
        SELECT 4, NULL, NULL, 'residual', NULL, NULL, NULL,
               coalesce(pg_catalog.sum(w.tgt), 0) OPERATOR(pg_catalog.-) tot_r
        FROM w WHERE kind OPERATOR(pg_catalog.=) 'additive' AND basis OPERATOR(pg_catalog.=) 'target'
        -- (an aggregate gives a row even where WHERE keeps none)
        HAVING kind OPERATOR(pg_catalog.=) 'additive' AND basis OPERATOR(pg_catalog.=) 'target'
           AND coalesce(pg_catalog.sum(w.tgt), 0) OPERATOR(pg_catalog.-) tot_r OPERATOR(pg_catalog.<>) 0
        UNION ALL
        -- ratio, avg: rate (and against earlier periods mix)
        SELECT CASE WHEN w.own THEN 3 ELSE 2 END, w.code, w.name, 'rate', w.a1,
               CASE WHEN basis OPERATOR(pg_catalog.=) 'target' THEN coalesce(w.tgt, tot_r) ELSE w.r0 END, w.w1,
               CASE WHEN w.r1 IS NULL THEN 0
                    ELSE w.w1 OPERATOR(pg_catalog.*) (w.r1 OPERATOR(pg_catalog.-)
                         CASE WHEN basis OPERATOR(pg_catalog.=) 'target' THEN coalesce(w.tgt, tot_r) ELSE w.r0 END) END
        FROM w WHERE kind OPERATOR(pg_catalog.=) 'rate'
        UNION ALL
        SELECT CASE WHEN w.own THEN 3 ELSE 2 END, w.code, w.name, 'mix', w.a1, w.a0,
               coalesce(w.w1, 0) OPERATOR(pg_catalog.-) coalesce(w.w0, 0),
               (coalesce(w.w1, 0) OPERATOR(pg_catalog.-) coalesce(w.w0, 0))
                   OPERATOR(pg_catalog.*) (w.r0 OPERATOR(pg_catalog.-) w.big_r0)
        FROM w WHERE kind OPERATOR(pg_catalog.=) 'rate' AND basis OPERATOR(pg_catalog.<>) 'target'
        UNION ALL
        SELECT 4, NULL, NULL, 'residual', NULL, NULL, NULL,
               pg_catalog.sum(w.w1 OPERATOR(pg_catalog.*) (w.tgt OPERATOR(pg_catalog.-) tot_r))
                   FILTER (WHERE w.r1 IS NOT NULL)
        FROM w WHERE kind OPERATOR(pg_catalog.=) 'rate' AND basis OPERATOR(pg_catalog.=) 'target'
        HAVING pg_catalog.count(w.tgt) OPERATOR(pg_catalog.>) 0
        UNION ALL
        -- min, max: the holder of the extreme carries the gap
        SELECT CASE WHEN w.own THEN 3 ELSE 2 END, w.code, w.name, 'extreme', w.a1,
               CASE WHEN basis OPERATOR(pg_catalog.=) 'target' THEN w.tgt ELSE w.a0 END, NULL,
               CASE WHEN w.holder OPERATOR(pg_catalog.=) 1 AND w.a1 OPERATOR(pg_catalog.=) tot_a
                    THEN tot_a OPERATOR(pg_catalog.-) tot_r ELSE 0 END
        FROM w WHERE kind OPERATOR(pg_catalog.=) 'extreme'
    )
    SELECT 'scope', p.node, p.node_name, p.effect, p.actual, p.reference, p.weight, c.contribution,
           c.contribution OPERATOR(pg_catalog./) NULLIF(tot_a OPERATOR(pg_catalog.-) tot_r, 0),
           CASE dir WHEN 'higher' THEN c.contribution OPERATOR(pg_catalog.<) 0
                    WHEN 'lower' THEN c.contribution OPERATOR(pg_catalog.>) 0 END
    -- no gap (no actual, or nothing to compare it with): nothing to split
    FROM parts p
    CROSS JOIN LATERAL (SELECT CASE WHEN tot_a IS NOT NULL AND tot_r IS NOT NULL THEN p.contribution END
                               AS contribution) c
    ORDER BY p.ord, p.node COLLATE "C", p.effect DESC;

    -- down the indicator tree: score points, as kpi.rollup scores
    RETURN QUERY
    WITH r AS (
        -- the node's own subtree (a retired node: the whole tree, where it is not)
        SELECT x.indicator_id, x.score, x.attainment
        FROM kpi.rollup(explain.period, explain.scope,
                        CASE WHEN ind.lifecycle OPERATOR(pg_catalog.<>) 'retired' THEN ind.code END) x
    ), me AS (
        SELECT r.score, r.attainment FROM r WHERE r.indicator_id OPERATOR(pg_catalog.=) ind.id
    ), ch AS (
        SELECT c.code, c.name, l.weight AS lw, r.score
        FROM kpi.link l
        JOIN kpi.indicator c ON c.id OPERATOR(pg_catalog.=) l.child_id AND c.lifecycle OPERATOR(pg_catalog.<>) 'retired'
        LEFT JOIN r ON r.indicator_id OPERATOR(pg_catalog.=) c.id
        WHERE l.parent_id OPERATOR(pg_catalog.=) ind.id
    ), tw AS (
        SELECT pg_catalog.sum(ch.lw) FILTER (WHERE ch.score IS NOT NULL) AS ws,
               pg_catalog.sum(ch.lw OPERATOR(pg_catalog.*) ch.score) FILTER (WHERE ch.score IS NOT NULL) AS wsum
        FROM ch
    ), parts AS (
        SELECT 1 AS ord, ind.code AS node, ind.name AS node_name, 'total' AS effect, me.score AS actual,
               me.score OPERATOR(pg_catalog.-) 1 AS contribution, NULL::float8 AS weight
        FROM me WHERE EXISTS (SELECT FROM ch)
        UNION ALL
        SELECT 2, ch.code, ch.name, CASE WHEN ch.score IS NULL THEN 'uncovered' ELSE 'score' END, ch.score,
               ch.lw OPERATOR(pg_catalog./) tw.ws OPERATOR(pg_catalog.*) (ch.score OPERATOR(pg_catalog.-) 1),
               CASE WHEN ch.score IS NOT NULL THEN ch.lw OPERATOR(pg_catalog./) tw.ws END
        FROM ch, tw
        UNION ALL
        -- a node scored from its own target and actual, not its children
        SELECT 3, ind.code, ind.name, 'own', me.score,
               me.score OPERATOR(pg_catalog.-) coalesce(tw.wsum OPERATOR(pg_catalog./) tw.ws, 1), NULL
        FROM me, tw WHERE me.attainment IS NOT NULL AND EXISTS (SELECT FROM ch)
    )
    SELECT 'indicator', p.node, p.node_name, p.effect, p.actual, 1::float8, p.weight, p.contribution,
           p.contribution OPERATOR(pg_catalog./) NULLIF((SELECT me.score FROM me) OPERATOR(pg_catalog.-) 1, 0),
           p.contribution OPERATOR(pg_catalog.<) 0
    FROM parts p
    ORDER BY p.ord, p.node COLLATE "C";
END
$$;

-- ---------------------------------------------------------------------
-- 3. Forecasts in parallel workers
-- ---------------------------------------------------------------------

-- kpi.forecast and the functions it calls only read: no write, no
-- sequence, no cursor or temporary table, no subtransaction, no state
-- kept between calls.  A statement that forecasts many keys may then run
-- them in parallel workers.  In a worker, row-level security calls
-- kpi.visible_scopes(), which reads the memberships as the owner through
-- SPI and gives the user id back at once: it runs there as in the leader
-- (the analysis suite forces both into a worker, for the owner and for a
-- role that sees one branch), so it is labelled parallel safe too.  (The
-- policies' own calls are initplans, run in the leader either way.)
ALTER FUNCTION kpi.forecast(text, text, kpi.period, timestamptz) PARALLEL SAFE;
ALTER FUNCTION kpi.reached(bigint, kpi.agg_kind, bigint[], timestamptz, timestamptz) PARALLEL SAFE;
ALTER FUNCTION kpi.rolled_up(bigint, kpi.agg_kind, bigint[], kpi.period) PARALLEL SAFE;
ALTER FUNCTION kpi.planned_share(bigint, bigint, kpi.period, timestamptz, text) PARALLEL SAFE;
ALTER FUNCTION kpi.kept_indicator(text, kpi.period, text) PARALLEL SAFE;
ALTER FUNCTION kpi.visible_scopes() PARALLEL SAFE;
