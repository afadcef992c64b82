/* kpi--0.8.1--0.9.sql: release 0.9 of kpi: why, and will we make it.
 * - kpi.explain: a node's gap split into contributions that add up to it,
 *   down the scope tree (differences; rate and mix for ratios and
 *   averages) and down the indicator tree (score points);
 * - kpi.root_cause: the attribution path (归因路径) from a node down both
 *   trees, following the largest adverse contribution;
 * - kpi.forecast: a running period's projected value, an 80% interval and
 *   the probability of meeting the goal, from the share alerts judge pace
 *   on (the plan's phasing), else the key's own seasonal history, else
 *   linear time;
 * - kpi.suggest_target: a goal proposed from history, never written;
 * - kpi.last_year: the same period a year before, right for ISO weeks;
 *   the scorecard's last_year_actual uses it. */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.9'" to load this file. \quit

-- ---------------------------------------------------------------------
-- 1. Building blocks (C)
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.last_year(p kpi.period) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_last_year' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.last_year(kpi.period) IS
    'the same period a year before: a year''s worth of periods back; an ISO week: the same week number of the previous ISO year (NULL for a week 53 that year lacks); a day: the same date (29 February: 28 February); NULL before year 1';

CREATE FUNCTION kpi.numerator(t kpi.tally, k kpi.agg_kind) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_numerator' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.numerator(kpi.tally, kpi.agg_kind) IS
    'what the tally''s value divides: a ratio''s numerator sum, an average''s sum; any other kind its value (over 1)';
CREATE FUNCTION kpi.denominator(t kpi.tally, k kpi.agg_kind) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_denominator' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.denominator(kpi.tally, kpi.agg_kind) IS
    'what the tally''s value divides by: a ratio''s denominator sum, an average''s count; 1 for any other kind';

CREATE FUNCTION kpi.probability(mean float8, sd float8, g kpi.goal) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_goal_probability' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.probability(float8, float8, kpi.goal) IS
    'the probability that a value normally distributed with this mean and standard deviation meets the goal (sd 0: 1 or 0); NULL for an infinite mean or a negative sd';

-- ---------------------------------------------------------------------
-- 2. The share of a period due by a time: one copy for alerts and
--    forecasts
-- ---------------------------------------------------------------------

-- kpi.planned_share: the share of the period's goal its plan puts before
-- t: when the periods inside it of one grain (the months of a quarter,
-- the months or quarters of a year) all have positive targets at the
-- scope, the share of their sum due by t (each inside period counted by
-- the part of it elapsed); no row without such a plan, or with t NULL.
-- Pace (alerts, kpi.judgement) and kpi.forecast read it.  A plain SQL
-- set-returning function with every name qualified and no SET clause, so
-- that the planner inlines it into kpi.judgement's query as the subquery
-- it was there before 0.9 (a function call per key would cost the
-- evaluation cycle a third more).
CREATE FUNCTION kpi.planned_share(indicator_id bigint, scope_id bigint, period kpi.period,
                                  t timestamptz, zone text)
    RETURNS TABLE (share float8)
    LANGUAGE sql STABLE
AS $$
    SELECT CASE WHEN pg_catalog.sum(kpi.target(st.goal)) OPERATOR(pg_catalog.<>) 0::float8
                THEN pg_catalog.sum(kpi.target(st.goal) OPERATOR(pg_catalog.*) kpi.progress(st.period, $4, $5))
                     OPERATOR(pg_catalog./) pg_catalog.sum(kpi.target(st.goal)) END
    FROM (SELECT kpi.grain(x.period) AS grain, x.period, x.goal FROM kpi.target x
          WHERE $4 IS NOT NULL
            AND x.indicator_id OPERATOR(pg_catalog.=) $1 AND x.scope_id OPERATOR(pg_catalog.=) $2
            AND x.period OPERATOR(kpi.<@) $3
            AND kpi.grain(x.period) OPERATOR(pg_catalog.<>) kpi.grain($3)) st
    GROUP BY st.grain
    HAVING pg_catalog.count(*) OPERATOR(pg_catalog.=)
           (SELECT pg_catalog.count(*) FROM kpi.periods($3, st.grain) q WHERE q OPERATOR(kpi.<@) $3)
       AND pg_catalog.bool_and(kpi.target(st.goal) OPERATOR(pg_catalog.>) 0::float8)
    ORDER BY pg_catalog.count(*) DESC LIMIT 1
$$;
COMMENT ON FUNCTION kpi.planned_share(bigint, bigint, kpi.period, timestamptz, text) IS
    'the share of the period''s goal its plan (targets of the periods inside it, all positive) puts before t; no row without such a plan; pace and kpi.forecast use it';

-- kpi.judgement: as in 0.7; the plan's share now comes from
-- kpi.planned_share (inlined), which kpi.forecast reads too.
CREATE OR REPLACE FUNCTION kpi.judgement(ind bigint[], scp bigint[], per kpi.period[],
                              at timestamptz DEFAULT pg_catalog.now())
    RETURNS TABLE (indicator_id bigint, scope_id bigint, period kpi.period, rule_id bigint,
                   kind text, basis text, value float8, attainment float8, score float8,
                   severity kpi.status, raise boolean, hold boolean, silenced boolean,
                   dismissed boolean)
    LANGUAGE plpgsql STABLE
    -- one plan, planned once per session and kept (planning it costs more
    -- than running it for a statement's keys); never compiled by JIT
    SET search_path = pg_catalog, pg_temp SET jit = off SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
DECLARE
    tz text := kpi.time_zone();
BEGIN
    -- PL/pgSQL, so that the plan is kept for the session (a writer calls
    -- this once per statement)
    RETURN QUERY
    WITH d AS MATERIALIZED (
        SELECT DISTINCT u.i, u.s, u.p
        FROM ROWS FROM (pg_catalog.unnest(ind), pg_catalog.unnest(scp), pg_catalog.unnest(per)) AS u(i, s, p)
        WHERE u.i IS NOT NULL AND u.s IS NOT NULL AND u.p IS NOT NULL
          -- a member judges only the scopes it sees whole
          AND ((SELECT kpi.visible_scopes()) IS NULL
               OR u.s OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]))
    ),
    -- each scope's subtree, and each (indicator, scope)'s rule (its own,
    -- else the indicator's), once, however many periods are judged
    sc AS MATERIALIZED (
        SELECT x.s, kpi.scope_descendants(x.s) AS subtree FROM (SELECT DISTINCT d.s FROM d) x
    ),
    rr AS MATERIALIZED (
        SELECT DISTINCT ON (x.i, x.s) x.i, x.s, r.*
        FROM (SELECT DISTINCT d.i, d.s FROM d) x
        JOIN kpi.alert_rule r ON r.indicator_id OPERATOR(pg_catalog.=) x.i AND r.enabled
                             AND (r.scope_id OPERATOR(pg_catalog.=) x.s OR r.scope_id IS NULL)
        ORDER BY x.i, x.s, r.scope_id NULLS LAST
    ),
    k AS (
        SELECT d.i, d.s, d.p, sc.subtree FROM d JOIN sc ON sc.s OPERATOR(pg_catalog.=) d.s
    ),
    b AS (
        SELECT k.i, k.s, k.p, x.agg, x.bands, x.data_due, x.lifecycle, tz AS zone, k.subtree,
               r.id AS rule_id, r.basis AS rule_basis, r.raise_at, r.min_breaches, r.recovery_margin,
               r.anomaly_window, r.anomaly_threshold,
               v.tally, v.value, g.goal,
               kpi.progress(k.p, at, tz) AS elapsed
        FROM k
        JOIN kpi.indicator x ON x.id OPERATOR(pg_catalog.=) k.i
        LEFT JOIN rr r ON r.i OPERATOR(pg_catalog.=) k.i AND r.s OPERATOR(pg_catalog.=) k.s
        LEFT JOIN kpi.target g ON g.indicator_id OPERATOR(pg_catalog.=) k.i AND g.scope_id OPERATOR(pg_catalog.=) k.s
                              AND g.period OPERATOR(kpi.=) k.p
        LEFT JOIN LATERAL kpi.rolled_up(k.i, x.agg, k.subtree, k.p) v ON true
    ),
    -- materialized: each key's basis is decided once, not in every
    -- expression that uses it
    j AS MATERIALIZED (
        SELECT b.*,
               CASE WHEN b.rule_basis IS NULL THEN NULL
                    -- a running sum is no match for whole earlier periods
                    WHEN b.rule_basis OPERATOR(pg_catalog.=) 'anomaly'
                         AND b.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[])
                         AND b.elapsed OPERATOR(pg_catalog.<) 1 THEN NULL
                    WHEN b.rule_basis OPERATOR(pg_catalog.=) 'anomaly' THEN 'anomaly'
                    WHEN b.elapsed OPERATOR(pg_catalog.>=) 1 THEN 'attainment'
                    WHEN b.rule_basis OPERATOR(pg_catalog.=) 'pace' THEN 'pace'
                    WHEN b.rule_basis OPERATOR(pg_catalog.=) 'auto'
                         AND b.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[]) THEN 'pace'
                    ELSE 'attainment' END AS how,
               kpi.attainment(b.value, b.goal) AS att
        FROM b
    ),
    scored AS (
        SELECT j.*,
               CASE j.how
                   WHEN 'attainment' THEN j.att
                   WHEN 'pace' THEN kpi.pace(j.value, j.goal, coalesce(ph.share, kpi.progress(j.p, dt.t, j.zone)))
                   WHEN 'anomaly' THEN
                       CASE WHEN j.value IS NULL OR an.n OPERATOR(pg_catalog.<) GREATEST(4, j.anomaly_window OPERATOR(pg_catalog./) 2) THEN NULL
                            WHEN an.scale OPERATOR(pg_catalog.>) 0
                                THEN pg_catalog.abs(j.value OPERATOR(pg_catalog.-) an.med)
                                     OPERATOR(pg_catalog./) an.scale
                            WHEN j.value OPERATOR(pg_catalog.=) an.med THEN 0
                            ELSE 'Infinity'::float8 END END AS score,
               cb.bad_before
        FROM j
        -- the time of the latest data, never after `at`
        CROSS JOIN LATERAL (SELECT LEAST(at, coalesce(kpi.last_at(j.tally), at)) AS t) dt
        -- pace phased by the targets of the periods inside (months of a
        -- quarter ...), when those cover it (inlined: t is NULL but for pace)
        LEFT JOIN LATERAL kpi.planned_share(j.i, j.s, j.p,
                                            CASE WHEN j.how OPERATOR(pg_catalog.=) 'pace' THEN dt.t END, j.zone) ph ON true
        -- the normal range: median and median absolute deviation of the
        -- previous anomaly_window periods
        LEFT JOIN LATERAL (
            WITH h AS (
                SELECT v.value
                FROM pg_catalog.generate_series(1, CASE WHEN j.how OPERATOR(pg_catalog.=) 'anomaly'
                                                        THEN j.anomaly_window ELSE 0 END) g
                CROSS JOIN LATERAL kpi.rolled_up(j.i, j.agg, j.subtree, j.p OPERATOR(kpi.-) g) v
                WHERE v.value IS NOT NULL),
            m AS (SELECT pg_catalog.percentile_cont(0.5) WITHIN GROUP (ORDER BY h.value) AS med,
                         pg_catalog.count(*) AS n FROM h)
            -- the spread: the median absolute deviation, or (for small
            -- counts, where most values are equal and it is 0) the mean
            -- absolute deviation, each scaled to a normal distribution's
            -- standard deviation; the larger of the two
            SELECT m.med, m.n,
                   GREATEST(1.4826 OPERATOR(pg_catalog.*)
                                (SELECT pg_catalog.percentile_cont(0.5) WITHIN GROUP
                                        (ORDER BY pg_catalog.abs(h.value OPERATOR(pg_catalog.-) m.med)) FROM h),
                            1.2533 OPERATOR(pg_catalog.*)
                                (SELECT pg_catalog.avg(pg_catalog.abs(h.value OPERATOR(pg_catalog.-) m.med)) FROM h)) AS scale
            FROM m) an ON j.how OPERATOR(pg_catalog.=) 'anomaly'
        -- consecutive periods: how many of the min_breaches - 1 before were bad
        LEFT JOIN LATERAL (
            SELECT pg_catalog.count(*) AS bad_before
            FROM pg_catalog.generate_series(1, CASE WHEN j.how OPERATOR(pg_catalog.<>) 'anomaly'
                                                    THEN j.min_breaches OPERATOR(pg_catalog.-) 1 ELSE 0 END) g
            CROSS JOIN LATERAL kpi.rolled_up(j.i, j.agg, j.subtree, j.p OPERATOR(kpi.-) g) v
            JOIN kpi.target pt ON pt.indicator_id OPERATOR(pg_catalog.=) j.i AND pt.scope_id OPERATOR(pg_catalog.=) j.s
                              AND pt.period OPERATOR(kpi.=) (j.p OPERATOR(kpi.-) g)
            WHERE kpi.status(kpi.attainment(v.value, pt.goal), j.bands) OPERATOR(pg_catalog.<=) j.raise_at) cb
            ON j.min_breaches OPERATOR(pg_catalog.>) 1 AND j.how OPERATOR(pg_catalog.<>) 'anomaly'
    ),
    levels AS (
        SELECT s.*,
               CASE WHEN s.how OPERATOR(pg_catalog.=) 'anomaly' THEN
                        CASE WHEN s.score OPERATOR(pg_catalog.>=) (2 OPERATOR(pg_catalog.*) s.anomaly_threshold) THEN 'red'
                             WHEN s.score OPERATOR(pg_catalog.>=) s.anomaly_threshold THEN 'amber'
                             ELSE 'green' END::kpi.status
                    ELSE kpi.status(s.score, s.bands) END AS level,
               -- no data although due: a target, nothing measured, data_due passed
               (s.data_due IS NOT NULL AND s.goal IS NOT NULL AND s.value IS NULL
                AND at OPERATOR(pg_catalog.>=)
                    (((kpi.end_date(s.p) OPERATOR(pg_catalog.+) 1)::timestamp OPERATOR(pg_catalog.+) s.data_due)
                     AT TIME ZONE s.zone)) AS missing
        FROM scored s
        WHERE s.lifecycle OPERATOR(pg_catalog.<>) 'retired'
    )
    SELECT l.i, l.s, l.p,
           CASE WHEN l.missing THEN NULL ELSE l.rule_id END,
           CASE WHEN l.missing THEN 'no_data'
                WHEN l.score IS NULL THEN NULL
                WHEN l.how OPERATOR(pg_catalog.=) 'anomaly' THEN 'anomaly'
                ELSE 'status' END,
           CASE WHEN l.missing THEN 'due' WHEN l.score IS NOT NULL THEN l.how END,
           l.value, l.att,
           CASE WHEN NOT l.missing THEN l.score END,
           CASE WHEN l.missing THEN 'amber'::kpi.status ELSE l.level END,
           l.missing OR coalesce(l.level OPERATOR(pg_catalog.<=) l.raise_at
                                 AND coalesce(l.bad_before, 0) OPERATOR(pg_catalog.>=) (l.min_breaches OPERATOR(pg_catalog.-) 1),
                                 false),
           l.missing OR coalesce(CASE WHEN l.how OPERATOR(pg_catalog.=) 'anomaly'
                                      THEN l.level OPERATOR(pg_catalog.<=) l.raise_at
                                      ELSE kpi.status(l.score OPERATOR(pg_catalog.-) l.recovery_margin, l.bands)
                                           OPERATOR(pg_catalog.<=) l.raise_at END, false),
           EXISTS (SELECT FROM kpi.silence si
                   WHERE si.indicator_id OPERATOR(pg_catalog.=) l.i
                     AND (si.scope_id IS NULL OR si.scope_id OPERATOR(pg_catalog.=) l.s)
                     AND si.until OPERATOR(pg_catalog.>) at),
           -- a person resolved the key's last alert and it got no worse since
           coalesce(pa.resolved_by OPERATOR(pg_catalog.<>) 'kpi'
                    AND pa.kind OPERATOR(pg_catalog.=) CASE WHEN l.missing THEN 'no_data'
                                                            WHEN l.how OPERATOR(pg_catalog.=) 'anomaly' THEN 'anomaly'
                                                            ELSE 'status' END
                    AND CASE WHEN l.missing THEN 'amber'::kpi.status ELSE l.level END OPERATOR(pg_catalog.>=) pa.severity,
                    false)
    FROM levels l
    LEFT JOIN LATERAL (
        SELECT pa.resolved_by, pa.kind, pa.severity FROM kpi.alert pa
        WHERE pa.indicator_id OPERATOR(pg_catalog.=) l.i AND pa.scope_id OPERATOR(pg_catalog.=) l.s
          AND pa.period OPERATOR(kpi.=) l.p
        ORDER BY pa.id DESC LIMIT 1) pa ON true;
END

$$;

-- kpi.scorecard: as in 0.8, but last_year_actual is the same period a
-- year before by kpi.last_year: 2026-W05 against 2025-W05 (0.8 shifted
-- the week's first day by a year and took 2025-W04).
CREATE OR REPLACE VIEW kpi.scorecard WITH (security_invoker = true) AS
SELECT i.code                                   AS indicator,
       i.name                                   AS indicator_name,
       i.unit,
       s.code                                   AS scope,
       s.name                                   AS scope_name,
       cur.period::text                         AS period,
       kpi.grain(cur.period)                    AS grain,
       kpi.start_date(cur.period)               AS period_start,
       kpi.end_date(cur.period)                 AS period_end,
       cur.value                                AS actual,
       kpi.target(cur.goal)                     AS target,
       cur.goal::text                           AS goal,
       kpi.attainment(cur.value, cur.goal)      AS attainment,
       f.pace,
       f.status::text                           AS status,
       i.owner,
       prev.value                               AS previous_actual,
       cur.value OPERATOR(pg_catalog.-) prev.value AS previous_change,
       ly.value                                 AS last_year_actual,
       cur.value OPERATOR(pg_catalog.-) ly.value AS last_year_change,
       kpi.direction(cur.goal)                  AS direction,
       pg_catalog.array_position(pg_catalog.enum_range(NULL::kpi.status), f.status) AS status_rank,
       CASE WHEN f.pace_level OPERATOR(pg_catalog.>=) 'green' THEN 'on track'
            WHEN f.pace_level OPERATOR(pg_catalog.=) 'amber' THEN 'at risk'
            WHEN f.pace_level OPERATOR(pg_catalog.=) 'red' THEN 'behind' END AS pace_status,
       pg_catalog.timezone(kpi.time_zone(), kpi.start_date(cur.period)::timestamp) AS period_start_at,
       sp.parent                                AS scope_parent,
       sp.depth                                 AS scope_depth,
       sp.path                                  AS scope_path
FROM kpi.scope_actual cur
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) cur.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) cur.scope_id
-- each scope's subtree, its parent, depth and path: once per query
JOIN (SELECT t.ancestor_id AS scope_id, pg_catalog.array_agg(t.scope_id) AS subtree
      FROM kpi.scope_tree t GROUP BY t.ancestor_id) sub ON sub.scope_id OPERATOR(pg_catalog.=) cur.scope_id
JOIN (SELECT t.scope_id,
             pg_catalog.max(t.distance)::integer AS depth,
             pg_catalog.min(a.code) FILTER (WHERE t.distance OPERATOR(pg_catalog.=) 1) AS parent,
             pg_catalog.string_agg(a.code, ' / ' ORDER BY t.distance DESC) AS path
      FROM kpi.scope_tree t JOIN kpi.scope a ON a.id OPERATOR(pg_catalog.=) t.ancestor_id
      GROUP BY t.scope_id) sp ON sp.scope_id OPERATOR(pg_catalog.=) cur.scope_id
CROSS JOIN LATERAL (
    SELECT p.pace, kpi.status(p.pace, i.bands) AS pace_level,
           kpi.status(kpi.attainment(cur.value, cur.goal), i.bands) AS status
    FROM (SELECT CASE WHEN i.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[])   -- cumulative only
                      THEN kpi.pace(cur.value, cur.goal, kpi.progress(cur.period, pg_catalog.now(), kpi.time_zone()))
                 END AS pace) p) f
LEFT JOIN LATERAL kpi.rolled_up(cur.indicator_id, i.agg, sub.subtree,
    CASE WHEN kpi.start_date(cur.period) OPERATOR(pg_catalog.>) '0001-01-01'::date
         THEN kpi.period((kpi.start_date(cur.period) OPERATOR(pg_catalog.-) 1), kpi.grain(cur.period)) END) prev ON true
-- the same period last year: the same ISO week of the previous ISO year
LEFT JOIN LATERAL kpi.rolled_up(cur.indicator_id, i.agg, sub.subtree, kpi.last_year(cur.period)) ly ON true
WHERE i.lifecycle OPERATOR(pg_catalog.<>) 'retired';
-- ---------------------------------------------------------------------
-- 3. Why: kpi.explain and kpi.root_cause
-- ---------------------------------------------------------------------

-- kpi.direction_of: which way is good for an indicator at a scope and
-- period: its goal's there, else the indicator's latest goal anywhere,
-- else higher.
CREATE FUNCTION kpi.direction_of(indicator_id bigint, scope_id bigint, period kpi.period)
    RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
    SELECT coalesce(
        (SELECT kpi.direction(t.goal) FROM kpi.target t
         WHERE t.indicator_id OPERATOR(pg_catalog.=) $1 AND t.scope_id OPERATOR(pg_catalog.=) $2
           AND t.period OPERATOR(kpi.=) $3),
        (SELECT kpi.direction(t.goal) FROM kpi.target t
         WHERE t.indicator_id OPERATOR(pg_catalog.=) $1 ORDER BY t.period DESC, t.id DESC LIMIT 1),
        'higher')
$$;
COMMENT ON FUNCTION kpi.direction_of(bigint, bigint, kpi.period) IS
    'which way is good for an indicator: the direction of its goal at the scope and period, else of its latest goal, else higher';

-- kpi.kept_indicator: the indicator a function analyses a period of, by
-- code; its kept grains must include the period's (kpi.actual holds no
-- other), else 22023 naming the function.
CREATE FUNCTION kpi.kept_indicator(code text, period kpi.period, caller text)
    RETURNS kpi.indicator
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ind kpi.indicator;
BEGIN
    SELECT * INTO ind FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) kpi.indicator_id(kept_indicator.code);
    IF kpi.grain(kept_indicator.period) OPERATOR(pg_catalog.<>) ALL (ind.grains) THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('%s keeps no %s actuals', ind.code, kpi.grain(kept_indicator.period)),
            HINT = format('%s reads kept grains (%s); add the grain to the indicator''s grains.',
                          caller, pg_catalog.array_to_string(ind.grains, ', '));
    END IF;
    RETURN ind;
END
$$;
COMMENT ON FUNCTION kpi.kept_indicator(text, kpi.period, text) IS
    'internal: the indicator with this code, checked to keep the period''s grain (22023 naming the caller otherwise)';

-- kpi.explain: the gap of one node (indicator, scope, period) split into
-- contributions that add up to it.
--
-- Down the scope tree, against basis target, previous or last_year: one
-- segment per child scope (its whole subtree) and one for data recorded
-- at the scope itself ('own').  The gap is actual - reference.
--   * sum, count, first, last (additive across scopes): each segment's
--     difference actual - reference.  Against targets a child without a
--     target counts with its whole actual, and 'residual' is what the
--     children's targets add up to beyond the scope's own target
--     (sum of children's targets - the scope's target).
--   * ratio, avg: the standard rate/mix split.  With w a segment's share
--     of the denominator (an average's count), r its rate and R the
--     total's: rate = w1 (r1 - r0), mix = (w1 - w0)(r0 - R0); a segment
--     without a reference rate is given R0.  Against targets (which set
--     rates, not volumes) there is no mix: rate = w1 (r1 - T_child, else
--     the scope's target T) and residual = sum over children with a
--     target of w1 (T_child - T).
--   * min, max: the segment that holds the extreme carries the whole gap.
-- Down the indicator tree (against targets, whatever the basis): the
-- score gap (score - 1) split over the children, weight share of the
-- scored children times the child's score gap; children without a score
-- are 'uncovered'; 'own' is what a node scored from its own data differs
-- from its children's weighted score.  Scores are kpi.rollup's.
CREATE FUNCTION kpi.explain(indicator text, scope text, period kpi.period, basis text DEFAULT 'target')
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
        SELECT x.indicator_id, x.score, x.attainment FROM kpi.rollup(explain.period, explain.scope) x
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
COMMENT ON FUNCTION kpi.explain(text, text, kpi.period, text) IS
    'why a node is where it is: its gap against the target, the previous period or last year split into contributions that add up to it, down the scope tree (differences; rate and mix for ratios and averages) and down the indicator tree (score points)';

-- kpi.root_cause: the attribution path (归因路径) of a node against its
-- targets.  From the node, each step follows the largest adverse
-- contribution of kpi.explain: to a child scope (its difference, or its
-- rate and mix together) or to a child indicator (its score points),
-- whichever explains the larger share of the current node's gap, until
-- no child contributes adversely.  One row per step: step 0 is the node;
-- share is the step's share of the gap of the node before it, share_of_top
-- the product of the shares so far (the part of the top gap the path
-- has traced down to this step).
CREATE FUNCTION kpi.root_cause(indicator text, scope text, period kpi.period)
    RETURNS TABLE (step integer, tree text, indicator_code text, scope_code text, effect text, actual float8,
                   reference float8, contribution float8, share float8, share_of_top float8)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    cur_i text := root_cause.indicator;
    cur_s text := root_cause.scope;
    top float8 := 1;
    n integer := 0;
    tot record;
    best record;
    parts jsonb;        -- the current node's kpi.explain rows, read once
BEGIN
    SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(e)) INTO parts
    FROM kpi.explain(cur_i, cur_s, root_cause.period, 'target') e;
    -- the node's gap: in its unit where it has one, else in score points
    SELECT * INTO tot
    FROM pg_catalog.jsonb_to_recordset(parts) AS e(tree text, actual float8, reference float8,
                                                   contribution float8, effect text)
    WHERE e.effect OPERATOR(pg_catalog.=) 'total' ORDER BY e.contribution IS NULL, e.tree DESC LIMIT 1;
    step := 0; tree := tot.tree; indicator_code := cur_i; scope_code := cur_s; effect := 'total';
    actual := tot.actual; reference := tot.reference; contribution := tot.contribution;
    share := 1; share_of_top := 1;
    RETURN NEXT;
    LOOP
        EXIT WHEN n OPERATOR(pg_catalog.>=) 32;     -- deeper than any real tree
        SELECT x.tree, x.node, x.effect, x.actual, x.reference, x.contribution, x.share INTO best
        FROM (
            -- a child scope: its difference, or its rate and mix together
            SELECT e.tree, e.node,
                   pg_catalog.string_agg(e.effect, '+' ORDER BY e.effect DESC) AS effect,
                   pg_catalog.max(e.actual) AS actual,
                   pg_catalog.max(e.reference) FILTER (WHERE e.effect OPERATOR(pg_catalog.<>) 'mix') AS reference,
                   pg_catalog.sum(e.contribution) AS contribution, pg_catalog.sum(e.share) AS share,
                   pg_catalog.bool_or(e.adverse) AS adverse
            FROM pg_catalog.jsonb_to_recordset(parts) AS e(tree text, node text, effect text, actual float8,
                                                           reference float8, contribution float8, share float8,
                                                           adverse boolean)
            WHERE e.effect OPERATOR(pg_catalog.=) ANY ('{difference,rate,mix,extreme,score}')
              -- not the scope's own data: a child
              AND NOT (e.tree OPERATOR(pg_catalog.=) 'scope' AND e.node OPERATOR(pg_catalog.=) cur_s)
            GROUP BY e.tree, e.node) x
        WHERE x.share OPERATOR(pg_catalog.>) 0 AND x.adverse
        ORDER BY x.share DESC, x.tree DESC, x.node COLLATE "C" LIMIT 1;
        EXIT WHEN NOT FOUND;
        n := n OPERATOR(pg_catalog.+) 1;
        top := top OPERATOR(pg_catalog.*) best.share;
        IF best.tree OPERATOR(pg_catalog.=) 'scope' THEN
            cur_s := best.node;
        ELSE
            cur_i := best.node;
        END IF;
        step := n; tree := best.tree; indicator_code := cur_i; scope_code := cur_s; effect := best.effect;
        actual := best.actual; reference := best.reference; contribution := best.contribution;
        share := best.share; share_of_top := top;
        RETURN NEXT;
        SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(e)) INTO parts
        FROM kpi.explain(cur_i, cur_s, root_cause.period, 'target') e;
    END LOOP;
END
$$;
COMMENT ON FUNCTION kpi.root_cause(text, text, kpi.period) IS
    'the attribution path (归因路径) of a node against its targets: from the node down the scope and indicator trees, each step the child with the largest adverse share of the gap (kpi.explain), with that share and the share of the top gap traced so far';

-- ---------------------------------------------------------------------
-- 4. Will we make it: kpi.forecast and kpi.suggest_target
-- ---------------------------------------------------------------------

-- kpi.reached: an indicator's value over a set of scopes from its
-- measurements in [lo, hi), rolled up as kpi.rolled_up does (flows
-- merged, levels summed across scopes), and the time of the latest of
-- them: what a period had reached by a point in time.
CREATE FUNCTION kpi.reached(indicator_id bigint, agg kpi.agg_kind, scopes bigint[],
                            lo timestamptz, hi timestamptz)
    RETURNS TABLE (value float8, last_at timestamptz)
    LANGUAGE plpgsql STABLE
    -- planned once per session: a custom plan per call cost more than running it
    SET search_path = pg_catalog, pg_temp SET plan_cache_mode = force_generic_plan
AS $$
#variable_conflict use_column
BEGIN
    RETURN QUERY
    SELECT CASE WHEN agg OPERATOR(pg_catalog.=) ANY ('{first,last}'::kpi.agg_kind[])
                THEN pg_catalog.sum(kpi.value(x.t, agg))
                ELSE kpi.value(kpi.merge(x.t), agg) END,
           kpi.last_at(kpi.merge(x.t))
    FROM (SELECT CASE WHEN agg OPERATOR(pg_catalog.=) 'ratio'
                      THEN kpi.tally(m.value, m.denominator, m.at) ELSE kpi.tally(m.value, m.at) END AS t
          FROM kpi.measurement m
          WHERE m.indicator_id OPERATOR(pg_catalog.=) reached.indicator_id
            AND m.scope_id OPERATOR(pg_catalog.=) ANY (scopes)
            AND m.at OPERATOR(pg_catalog.>=) lo AND m.at OPERATOR(pg_catalog.<) hi
          GROUP BY m.scope_id) x
    HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0;
END
$$;
COMMENT ON FUNCTION kpi.reached(bigint, kpi.agg_kind, bigint[], timestamptz, timestamptz) IS
    'an indicator''s value over a set of scopes from its measurements in [lo, hi), rolled up as kpi.rolled_up does, and the time of the latest of them';

-- kpi.forecast: where a running period will end.
--   as of: the latest data measured before `at` (as pace judges; data
--     measured later are not read, so a forecast can be replayed);
--   elapsed: the share of the period's time gone by then; "the same
--     point" of an earlier period is as long after its start;
--   projection: a sum or count indicator's value so far divided by the
--     share of its total expected by then, taken from the plan (the
--     targets of the periods inside it: kpi.planned_share, what alerts
--     judge pace on), else from the key's own history (the share the
--     same period of up to 3 earlier years had reached at the same point:
--     seasonal), else from time (linear); any other indicator's value so
--     far (level).  A period that has ended is its actual (final).
--   spread: how far earlier periods (up to 8 before and the same period
--     of 3 earlier years) ended from what the same method would have
--     projected for them at the same point: the root mean square of
--     those relative errors; with fewer than 3, shrunk towards a prior
--     of 0.1 x (1 - elapsed) weighing one period; the final value is taken
--     as normal around the projection with that relative standard
--     deviation: the 80% interval is projection +- 1.2816 sd, the
--     probability that of meeting the goal (kpi.probability).
CREATE FUNCTION kpi.forecast(indicator text, scope text, period kpi.period,
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
          CROSS JOIN LATERAL kpi.rolled_up(ind.id, ind.agg, tree, h.q) fin) y
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
COMMENT ON FUNCTION kpi.forecast(text, text, kpi.period, timestamptz) IS
    'where a running period will end (as of its latest data): projected value (sum and count: value so far / the share expected by then, from the plan, else the key''s seasonal history, else time; others: the value so far), an 80% interval and the probability of meeting the goal';

-- kpi.suggest_target: a goal for a key proposed from its history (as
-- kpi.rollup and the scorecard count it: the scope's whole subtree);
-- writes nothing.
--   trend: the same period last year, times the year-on-year growth of
--     the same period over up to 3 earlier years (the geometric mean of
--     their ratios, where all are positive; else no growth); without last
--     year, the mean of the 4 periods before (recent);
--   percentile: the chosen percentile of what the 8 periods before and
--     the same period of 3 earlier years achieved; for a lower-is-better
--     indicator taken from the low end (percentile 0.75 = better than
--     three quarters of the history, either way).
-- The direction is the key's goal's, else the indicator's latest goal's,
-- else higher; a range goal gets a target and no goal.
CREATE FUNCTION kpi.suggest_target(indicator text, scope text, period kpi.period,
                                   method text DEFAULT 'trend', percentile float8 DEFAULT 0.5)
    RETURNS TABLE (goal kpi.goal, target float8, direction text, method_used text, periods integer,
                   last_year float8, growth float8, reasoning text)
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    ind kpi.indicator;
    sid bigint;
    tree bigint[];
    y float8[];
    hist float8[];
    lp kpi.period;
BEGIN
    IF suggest_target.method IS NULL OR suggest_target.method NOT IN ('trend', 'percentile') THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown method: "%s"', suggest_target.method),
            HINT = 'A target is suggested by trend or by percentile.';
    END IF;
    IF suggest_target.percentile IS NULL OR NOT suggest_target.percentile BETWEEN 0 AND 1 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('percentile must lie in [0, 1], not %s', suggest_target.percentile);
    END IF;
    IF suggest_target.period IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'null_value_not_allowed',
            MESSAGE = 'kpi.suggest_target needs a period';
    END IF;
    SELECT * INTO ind FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) kpi.indicator_id(suggest_target.indicator);
    sid := kpi.scope_id(suggest_target.scope);
    tree := kpi.scope_descendants(sid);
    direction := kpi.direction_of(ind.id, sid, suggest_target.period);
    lp := kpi.last_year(suggest_target.period);
    -- the same period of the 3 years before, latest first
    SELECT pg_catalog.array_agg(v.value ORDER BY k) INTO y
    FROM (VALUES (1, lp), (2, kpi.last_year(lp)), (3, kpi.last_year(kpi.last_year(lp)))) q(k, p)
    LEFT JOIN LATERAL kpi.rolled_up(ind.id, ind.agg, tree, q.p) v ON true;
    last_year := y[1];
    method_used := suggest_target.method;
    IF method_used OPERATOR(pg_catalog.=) 'trend' AND y[1] IS NOT NULL THEN
        IF NOT EXISTS (SELECT FROM pg_catalog.unnest(y) x WHERE x OPERATOR(pg_catalog.<=) 0) THEN
            SELECT pg_catalog.exp(pg_catalog.avg(pg_catalog.ln(y[k] OPERATOR(pg_catalog./) y[k OPERATOR(pg_catalog.+) 1]))),
                   pg_catalog.count(*) OPERATOR(pg_catalog.+) 1
              INTO growth, periods
            FROM pg_catalog.generate_series(1, 2) k
            WHERE y[k OPERATOR(pg_catalog.+) 1] IS NOT NULL AND y[k] IS NOT NULL;
        END IF;
        IF growth IS NULL THEN
            SELECT pg_catalog.count(x) INTO periods FROM pg_catalog.unnest(y) x;
            growth := 1;
        END IF;
        target := y[1] OPERATOR(pg_catalog.*) growth;
        reasoning := CASE WHEN periods OPERATOR(pg_catalog.>) 1
                          THEN format('%s: %s, times %s: the same period''s mean growth from one year to the next, over %s years of history',
                                      lp, y[1], pg_catalog.round(growth::numeric, 4), periods)
                          ELSE format('%s: %s (no earlier year to take a growth from, or a value not above 0)', lp, y[1]) END;
    ELSE
        -- the periods before: 4 for recent, 8 and 3 earlier years for a percentile
        SELECT pg_catalog.array_agg(v.value ORDER BY q.p) INTO hist
        FROM (SELECT DISTINCT x.p FROM (
                  SELECT suggest_target.period OPERATOR(kpi.-) k AS p
                  FROM pg_catalog.generate_series(1, CASE WHEN suggest_target.method OPERATOR(pg_catalog.=) 'trend'
                                                          THEN 4 ELSE 8 END) k
                  WHERE kpi.start_date(suggest_target.period) OPERATOR(pg_catalog.>) '0010-01-01'::date
                  UNION ALL
                  SELECT unnest(ARRAY[lp, kpi.last_year(lp), kpi.last_year(kpi.last_year(lp))])
                  WHERE suggest_target.method OPERATOR(pg_catalog.=) 'percentile') x
              WHERE x.p IS NOT NULL) q
        JOIN LATERAL kpi.rolled_up(ind.id, ind.agg, tree, q.p) v ON true
        WHERE v.value IS NOT NULL;
        periods := coalesce(pg_catalog.cardinality(hist), 0);
        IF suggest_target.method OPERATOR(pg_catalog.=) 'trend' THEN
            method_used := 'recent';
            SELECT pg_catalog.avg(x) INTO target FROM pg_catalog.unnest(hist) x;
            reasoning := format('no %s: the mean of the %s periods before', lp, periods);
        ELSE
            SELECT pg_catalog.percentile_cont(CASE WHEN direction OPERATOR(pg_catalog.=) 'lower'
                                                   THEN 1 OPERATOR(pg_catalog.-) suggest_target.percentile
                                                   ELSE suggest_target.percentile END)
                       WITHIN GROUP (ORDER BY x)
              INTO target FROM pg_catalog.unnest(hist) x;
            reasoning := format('percentile %s of %s earlier periods%s', suggest_target.percentile, periods,
                                CASE WHEN direction OPERATOR(pg_catalog.=) 'lower' THEN ' (from the low end: lower is better)' ELSE '' END);
        END IF;
    END IF;
    IF target IS NULL THEN
        reasoning := 'no history to suggest a target from';
    ELSIF direction OPERATOR(pg_catalog.<>) 'range' THEN
        goal := kpi.goal(target, direction);
    END IF;
    RETURN NEXT;
END
$$;
COMMENT ON FUNCTION kpi.suggest_target(text, text, kpi.period, text, float8) IS
    'a goal proposed from history, never written: trend (the same period last year times its year-on-year growth) or a percentile of what earlier periods achieved, with the reasoning';

-- The analysis functions are for everyone who may read the data they
-- read: they run with the caller's rights (row-level security applies).
