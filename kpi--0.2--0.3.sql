/* kpi--0.2--0.3.sql: release 0.3 of kpi: the indicator system (dictionary,
 * scopes, indicator tree, targets, measurements, actuals, rollup, scorecard). */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.3'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Validation helpers used by CHECK constraints: they raise a clear error
-- (SQLSTATE 23514) naming the bad value instead of returning false.
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.check_code(code text, what text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF code IS NULL OR code ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' THEN
        RETURN true;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'check_violation',
        MESSAGE = format('invalid %s code: "%s"', what, code),
        HINT = 'Codes are lower-case words of a-z, 0-9 and _ joined by dots, for example sales.revenue.';
END
$$;
COMMENT ON FUNCTION kpi.check_code(text, text) IS
    'true for a valid lower-case dotted code (e.g. sales.revenue); raises 23514 naming the code otherwise';

CREATE FUNCTION kpi.check_grains(grains text[]) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF grains IS NULL THEN
        RETURN true;
    END IF;
    IF cardinality(grains) = 0
       OR EXISTS (SELECT FROM unnest(grains) g
                  WHERE g IS NULL OR g NOT IN ('year', 'half', 'quarter', 'month', 'week', 'day'))
       OR (SELECT count(DISTINCT g) FROM unnest(grains) g) <> cardinality(grains) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('invalid grains: %s', grains),
            HINT = 'Grains are a non-empty list without repeats of year, half, quarter, month, week and day.';
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION kpi.check_grains(text[]) IS
    'true for a non-empty, repeat-free list of grain names; raises 23514 otherwise';

-- ---------------------------------------------------------------------
-- kpi.indicator: the dictionary, one agreed definition (口径) per code
-- ---------------------------------------------------------------------

CREATE TABLE kpi.indicator (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (kpi.check_code(code, 'indicator')),
    name        text NOT NULL,
    description text,
    definition  text,
    unit        text,
    agg         kpi.agg_kind NOT NULL DEFAULT 'sum',
    bands       kpi.bands NOT NULL DEFAULT 'amber 0.8, green 1',
    score_cap   float8 DEFAULT 1.2 CHECK (score_cap > 0 AND score_cap < 'Infinity'),
    grains      text[] NOT NULL DEFAULT '{month,quarter,year}' CHECK (kpi.check_grains(grains)),
    owner       text,
    lifecycle   text NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('draft', 'active', 'retired')),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE kpi.indicator IS 'the indicator dictionary (指标库): one agreed, versioned definition (口径) per code';
COMMENT ON COLUMN kpi.indicator.code IS 'unique lower-case dotted code, e.g. sales.revenue';
COMMENT ON COLUMN kpi.indicator.name IS 'display name, any language';
COMMENT ON COLUMN kpi.indicator.definition IS 'the agreed calculation (口径)';
COMMENT ON COLUMN kpi.indicator.agg IS 'how values roll up over time and scopes: sum, avg, min, max, first, last, count or ratio';
COMMENT ON COLUMN kpi.indicator.bands IS 'attainment at which amber, green and blue begin';
COMMENT ON COLUMN kpi.indicator.score_cap IS 'upper clamp of the score in tree rollups; NULL = no cap';
COMMENT ON COLUMN kpi.indicator.grains IS 'period grains kpi.actual keeps for this indicator';
COMMENT ON COLUMN kpi.indicator.lifecycle IS 'draft, active or retired; retired indicators take no new measurements';

CREATE TABLE kpi.indicator_history (
    id           bigserial NOT NULL,
    indicator_id bigint NOT NULL,
    op           text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    changed_by   name NOT NULL DEFAULT CURRENT_USER,
    changed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    old_row      jsonb,
    new_row      jsonb
);
CREATE INDEX indicator_history_indicator_at ON kpi.indicator_history (indicator_id, changed_at);
COMMENT ON TABLE kpi.indicator_history IS 'every change to kpi.indicator: who, when, the old and the new row';

CREATE FUNCTION kpi.indicator_touch() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.indicator_touch() IS 'trigger: move kpi.indicator.updated_at when a row really changes';

CREATE FUNCTION kpi.indicator_log() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.indicator_history (indicator_id, op, old_row, new_row)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.indicator_log() IS 'trigger: record every change of kpi.indicator in kpi.indicator_history';

CREATE TRIGGER indicator_touch BEFORE UPDATE ON kpi.indicator
    FOR EACH ROW EXECUTE FUNCTION kpi.indicator_touch();
CREATE TRIGGER indicator_log AFTER INSERT OR UPDATE OR DELETE ON kpi.indicator
    FOR EACH ROW EXECUTE FUNCTION kpi.indicator_log();

CREATE FUNCTION kpi.indicator_as_of(at timestamptz) RETURNS SETOF kpi.indicator
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT r.*
    FROM (SELECT DISTINCT ON (h.indicator_id) h.op, h.new_row
          FROM kpi.indicator_history h
          WHERE h.changed_at OPERATOR(pg_catalog.<=) at
          ORDER BY h.indicator_id, h.changed_at DESC, h.id DESC) last_change,
         LATERAL pg_catalog.jsonb_populate_record(NULL::kpi.indicator, last_change.new_row) r
    WHERE last_change.op OPERATOR(pg_catalog.<>) 'DELETE'
    ORDER BY r.code;
END;
COMMENT ON FUNCTION kpi.indicator_as_of(timestamptz) IS
    'the dictionary as it was at a time: each indicator''s row after its last change up to then';

-- ---------------------------------------------------------------------
-- kpi.scope: the organisation tree (company > region > branch ...)
-- Subtrees and ancestors are walked through the parent_id index; no path is
-- stored, so moving a branch is one UPDATE and a restore in any row order
-- stays right.
-- ---------------------------------------------------------------------

CREATE TABLE kpi.scope (
    id         bigserial PRIMARY KEY,
    code       text NOT NULL UNIQUE CHECK (kpi.check_code(code, 'scope')),
    name       text NOT NULL,
    parent_id  bigint REFERENCES kpi.scope (id),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX scope_parent ON kpi.scope (parent_id);
COMMENT ON TABLE kpi.scope IS 'the organisation tree: company, regions, branches, teams';
COMMENT ON COLUMN kpi.scope.parent_id IS 'the scope above; NULL for a top-level scope';

CREATE FUNCTION kpi.scope_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    -- one writer at a time, so two concurrent moves cannot close a cycle
    LOCK TABLE kpi.scope IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (
        WITH RECURSIVE up(id) AS (
            SELECT NEW.parent_id
            UNION
            SELECT s.parent_id FROM kpi.scope s JOIN up ON s.id OPERATOR(pg_catalog.=) up.id
            WHERE s.parent_id IS NOT NULL
        )
        SELECT FROM up WHERE up.id OPERATOR(pg_catalog.=) NEW.id)
    THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('scope "%s" cannot be placed below itself', NEW.code),
            DETAIL = 'Its new parent lies in its own subtree.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.scope_check() IS 'trigger: refuse a scope parent that would make a cycle';

CREATE TRIGGER scope_check BEFORE INSERT OR UPDATE OF parent_id ON kpi.scope
    FOR EACH ROW EXECUTE FUNCTION kpi.scope_check();

-- kpi.scope_tree: every (ancestor, descendant) pair, a scope being its own
-- ancestor at distance 0.
CREATE VIEW kpi.scope_tree AS
WITH RECURSIVE tree(ancestor_id, scope_id, distance) AS (
    SELECT s.id, s.id, 0 FROM kpi.scope s
    UNION ALL
    SELECT t.ancestor_id, s.id, t.distance OPERATOR(pg_catalog.+) 1
    FROM tree t JOIN kpi.scope s ON s.parent_id OPERATOR(pg_catalog.=) t.scope_id
)
SELECT ancestor_id, scope_id, distance FROM tree;
COMMENT ON VIEW kpi.scope_tree IS 'every (ancestor, descendant) pair of scopes, each scope its own ancestor at distance 0';

CREATE FUNCTION kpi.scope_id(scope_code text) RETURNS bigint
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result bigint;
BEGIN
    SELECT s.id INTO result FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) scope_code;
    IF result IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown scope code: "%s"', scope_code),
            HINT = 'The scopes are listed in kpi.scope.';
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION kpi.scope_id(text) IS 'the id of a scope code; unknown codes raise 22023 naming the code';

CREATE FUNCTION kpi.indicator_id(indicator_code text) RETURNS bigint
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result bigint;
BEGIN
    SELECT i.id INTO result FROM kpi.indicator i WHERE i.code OPERATOR(pg_catalog.=) indicator_code;
    IF result IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown indicator code: "%s"', indicator_code),
            HINT = 'The indicators are listed in kpi.indicator.';
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION kpi.indicator_id(text) IS 'the id of an indicator code; unknown codes raise 22023 naming the code';

CREATE FUNCTION kpi.scope_subtree(scope_code text)
    RETURNS TABLE (id bigint, code text, name text, parent_id bigint, depth integer)
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE down(id, depth) AS (
        SELECT kpi.scope_id(scope_code), 0
        UNION ALL
        SELECT s.id, d.depth OPERATOR(pg_catalog.+) 1
        FROM down d JOIN kpi.scope s ON s.parent_id OPERATOR(pg_catalog.=) d.id
    )
    SELECT s.id, s.code, s.name, s.parent_id, d.depth
    FROM down d JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) d.id
    ORDER BY d.depth, s.code;
END;
COMMENT ON FUNCTION kpi.scope_subtree(text) IS 'a scope and every scope below it, with the depth below it (walks the parent_id index)';

CREATE FUNCTION kpi.scope_ancestors(scope_code text)
    RETURNS TABLE (id bigint, code text, name text, parent_id bigint, distance integer)
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE up(id, distance) AS (
        SELECT kpi.scope_id(scope_code), 0
        UNION ALL
        SELECT s.parent_id, u.distance OPERATOR(pg_catalog.+) 1
        FROM up u JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) u.id
        WHERE s.parent_id IS NOT NULL
    )
    SELECT s.id, s.code, s.name, s.parent_id, u.distance
    FROM up u JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) u.id
    ORDER BY u.distance DESC;
END;
COMMENT ON FUNCTION kpi.scope_ancestors(text) IS 'a scope and every scope above it, from the top down, with the distance up to each';

-- ---------------------------------------------------------------------
-- kpi.link: the indicator tree (指标树), a weighted DAG
-- ---------------------------------------------------------------------

CREATE TABLE kpi.link (
    parent_id bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    child_id  bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    weight    float8 NOT NULL DEFAULT 1,
    PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX link_child ON kpi.link (child_id);
COMMENT ON TABLE kpi.link IS 'indicator tree edges: the parent is decomposed into weighted children; a child may have several parents';
COMMENT ON COLUMN kpi.link.weight IS 'weight of the child in its parent''s score, > 0';

CREATE FUNCTION kpi.link_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent_code text;
    child_code text;
BEGIN
    SELECT i.code INTO parent_code FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) NEW.parent_id;
    SELECT i.code INTO child_code FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) NEW.child_id;
    IF NEW.weight IS NULL OR NOT (NEW.weight OPERATOR(pg_catalog.>) 0
                                  AND NEW.weight OPERATOR(pg_catalog.<) 'Infinity'::float8) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('link weight must be a positive number, not %s', NEW.weight),
            DETAIL = format('Link %s -> %s.', parent_code, child_code);
    END IF;
    IF NEW.parent_id OPERATOR(pg_catalog.=) NEW.child_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('indicator "%s" cannot be its own child', parent_code);
    END IF;
    -- one writer at a time, so two concurrent links cannot close a cycle
    LOCK TABLE kpi.link IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (
        WITH RECURSIVE below(id) AS (
            SELECT NEW.child_id
            UNION
            SELECT l.child_id FROM kpi.link l JOIN below b ON l.parent_id OPERATOR(pg_catalog.=) b.id
        )
        SELECT FROM below WHERE below.id OPERATOR(pg_catalog.=) NEW.parent_id)
    THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('link %s -> %s would create a cycle', parent_code, child_code),
            DETAIL = format('"%s" already lies below "%s" in the indicator tree.', parent_code, child_code);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.link_check() IS 'trigger: refuse self-links, cycles and non-positive weights in kpi.link';

CREATE TRIGGER link_check BEFORE INSERT OR UPDATE ON kpi.link
    FOR EACH ROW EXECUTE FUNCTION kpi.link_check();

-- ---------------------------------------------------------------------
-- kpi.target: one goal per (indicator, scope, period), history kept
-- ---------------------------------------------------------------------

CREATE TABLE kpi.target (
    id           bigserial PRIMARY KEY,
    indicator_id bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id     bigint NOT NULL REFERENCES kpi.scope (id) ON DELETE CASCADE,
    period       kpi.period NOT NULL,
    goal         kpi.goal NOT NULL,
    note         text,
    set_by       name NOT NULL DEFAULT CURRENT_USER,
    set_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (indicator_id, scope_id, period)
);
CREATE INDEX target_scope_period ON kpi.target (scope_id, period);
COMMENT ON TABLE kpi.target IS 'targets: one goal per indicator, scope and period';

CREATE TABLE kpi.target_history (
    id           bigserial NOT NULL,
    target_id    bigint NOT NULL,
    indicator_id bigint NOT NULL,
    scope_id     bigint NOT NULL,
    period       kpi.period NOT NULL,
    op           text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    old_goal     kpi.goal,
    new_goal     kpi.goal,
    note         text,
    changed_by   name NOT NULL DEFAULT CURRENT_USER,
    changed_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX target_history_key ON kpi.target_history (indicator_id, scope_id, period, changed_at);
COMMENT ON TABLE kpi.target_history IS 'every change to kpi.target: who, when, the old and the new goal (retargeting stays visible)';

CREATE FUNCTION kpi.target_log() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r kpi.target;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op, old_goal, new_goal, note)
    VALUES (r.id, r.indicator_id, r.scope_id, r.period, TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.goal END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.goal END, r.note);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.target_log() IS 'trigger: record every change of kpi.target in kpi.target_history';

CREATE TRIGGER target_log AFTER INSERT OR UPDATE OR DELETE ON kpi.target
    FOR EACH ROW EXECUTE FUNCTION kpi.target_log();

-- ---------------------------------------------------------------------
-- kpi.measurement: actuals and check-ins as they are recorded
-- ---------------------------------------------------------------------

CREATE TABLE kpi.measurement (
    id           bigserial PRIMARY KEY,
    indicator_id bigint NOT NULL REFERENCES kpi.indicator (id),
    scope_id     bigint NOT NULL REFERENCES kpi.scope (id),
    at           timestamptz NOT NULL DEFAULT pg_catalog.now(),
    value        float8 NOT NULL CHECK (value > '-Infinity' AND value < 'Infinity'),
    denominator  float8 CHECK (denominator > '-Infinity' AND denominator < 'Infinity'),
    note         text,
    source       text,
    recorded_by  name NOT NULL DEFAULT CURRENT_USER,
    recorded_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX measurement_key_at ON kpi.measurement (indicator_id, scope_id, at);
COMMENT ON TABLE kpi.measurement IS 'recorded values (actuals and check-ins); kpi.actual follows it by trigger';
COMMENT ON COLUMN kpi.measurement.at IS 'when the value happened (decides its periods), not when it was recorded';
COMMENT ON COLUMN kpi.measurement.value IS 'the value; for ratio indicators the numerator';
COMMENT ON COLUMN kpi.measurement.denominator IS 'the denominator, for ratio indicators (required there)';

-- ---------------------------------------------------------------------
-- kpi.actual: per (indicator, scope, period) for each of the indicator's
-- grains, the tally of its measurements and the last evaluation.
-- Kept by the trigger on kpi.measurement; never write it directly.
-- ---------------------------------------------------------------------

CREATE TABLE kpi.actual (
    indicator_id bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id     bigint NOT NULL REFERENCES kpi.scope (id) ON DELETE CASCADE,
    period       kpi.period NOT NULL,
    tally        kpi.tally NOT NULL,
    value        float8,
    target       float8,
    attainment   float8,
    status       kpi.status,
    updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (indicator_id, scope_id, period)
);
CREATE INDEX actual_period ON kpi.actual (period);
COMMENT ON TABLE kpi.actual IS 'live actuals: one row per indicator, scope and period of each of the indicator''s grains (kept by trigger)';
COMMENT ON COLUMN kpi.actual.tally IS 'mergeable summary of the measurements of this scope in this period';
COMMENT ON COLUMN kpi.actual.value IS 'kpi.value(tally, indicator.agg)';
COMMENT ON COLUMN kpi.actual.target IS 'the target''s number (midpoint for a range), if a target is set';
COMMENT ON COLUMN kpi.actual.attainment IS 'value against the target (达成率), if a target is set';
COMMENT ON COLUMN kpi.actual.status IS 'attainment through the indicator''s bands';

-- kpi.actual_evaluate: recompute value, target, attainment and status of the
-- actual rows of one indicator (optionally one scope and period) from their
-- tally, the target and the indicator.  Called when a target or an
-- indicator's rollup settings change; the measurement trigger does the same
-- in C for the rows it touches.
CREATE FUNCTION kpi.actual_evaluate(p_indicator bigint, p_scope bigint DEFAULT NULL,
                                    p_period kpi.period DEFAULT NULL) RETURNS bigint
    LANGUAGE sql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH changed AS (
        UPDATE kpi.actual a
        SET (value, target, attainment, status, updated_at) = (
            SELECT e.v, kpi.target(t.goal), kpi.attainment(e.v, t.goal),
                   kpi.status(kpi.attainment(e.v, t.goal), i.bands), pg_catalog.now()
            FROM kpi.indicator i
            CROSS JOIN LATERAL (SELECT kpi.value(a.tally, i.agg) AS v) e
            LEFT JOIN kpi.target t
                   ON t.indicator_id OPERATOR(pg_catalog.=) i.id
                  AND t.scope_id OPERATOR(pg_catalog.=) a.scope_id
                  AND t.period OPERATOR(kpi.=) a.period
            WHERE i.id OPERATOR(pg_catalog.=) a.indicator_id)
        WHERE a.indicator_id OPERATOR(pg_catalog.=) p_indicator
          AND (p_scope IS NULL OR a.scope_id OPERATOR(pg_catalog.=) p_scope)
          AND (p_period IS NULL OR a.period OPERATOR(kpi.=) p_period)
        RETURNING 1)
    SELECT pg_catalog.count(*) FROM changed;
END;
COMMENT ON FUNCTION kpi.actual_evaluate(bigint, bigint, kpi.period) IS
    'recompute value, target, attainment and status of kpi.actual rows from their tally, target and indicator';

CREATE FUNCTION kpi.target_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM kpi.actual_evaluate(OLD.indicator_id, OLD.scope_id, OLD.period);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM kpi.actual_evaluate(NEW.indicator_id, NEW.scope_id, NEW.period);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.target_sync() IS 'trigger: re-evaluate the actual rows whose target changed';
CREATE TRIGGER target_sync AFTER INSERT OR UPDATE OR DELETE ON kpi.target
    FOR EACH ROW EXECUTE FUNCTION kpi.target_sync();

-- kpi.set_target: set (insert or replace) the goal of an indicator, scope and period by codes.
CREATE FUNCTION kpi.set_target(indicator_code text, scope_code text, period kpi.period,
                               goal kpi.goal, note text DEFAULT NULL) RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO kpi.target AS t (indicator_id, scope_id, period, goal, note)
    VALUES (kpi.indicator_id(indicator_code), kpi.scope_id(scope_code), period, goal, note)
    ON CONFLICT (indicator_id, scope_id, period)
    DO UPDATE SET goal = excluded.goal, note = excluded.note,
                  set_by = CURRENT_USER, set_at = pg_catalog.now()
    RETURNING t.id;
END;
COMMENT ON FUNCTION kpi.set_target(text, text, kpi.period, kpi.goal, text) IS
    'set the goal of an indicator for a scope and period (by codes); replaces an existing one, history kept';

-- kpi.record: record a value by codes; returns the new measurement's id.
CREATE FUNCTION kpi.record(indicator_code text, scope_code text, value float8,
                           at timestamptz DEFAULT pg_catalog.now(), note text DEFAULT NULL) RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, note)
    VALUES (kpi.indicator_id(indicator_code), kpi.scope_id(scope_code), at, value, note)
    RETURNING id;
END;
COMMENT ON FUNCTION kpi.record(text, text, float8, timestamptz, text) IS
    'record a measurement by indicator and scope code; returns its id';

-- kpi.record_ratio: record the numerator and denominator of a ratio indicator.
CREATE FUNCTION kpi.record_ratio(indicator_code text, scope_code text, numerator float8, denominator float8,
                                 at timestamptz DEFAULT pg_catalog.now(), note text DEFAULT NULL) RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator, note)
    VALUES (kpi.indicator_id(indicator_code), kpi.scope_id(scope_code), at, numerator, denominator, note)
    RETURNING id;
END;
COMMENT ON FUNCTION kpi.record_ratio(text, text, float8, float8, timestamptz, text) IS
    'record the numerator and denominator of a ratio indicator by codes; returns the measurement id';

-- ---------------------------------------------------------------------
-- The trigger that keeps kpi.actual: statement-level, with transition
-- tables, so a bulk load is summarised in C and each (indicator, scope,
-- period) is written once per statement.  SECURITY DEFINER: writers of
-- measurements need no privileges on kpi.actual.
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.measurement_sync() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_measurement_sync'
    LANGUAGE C SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.measurement_sync() IS
    'trigger: keep kpi.actual in step with kpi.measurement (insert, update, delete, truncate)';

CREATE TRIGGER measurement_sync_insert AFTER INSERT ON kpi.measurement
    REFERENCING NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();
CREATE TRIGGER measurement_sync_update AFTER UPDATE ON kpi.measurement
    REFERENCING OLD TABLE AS kpi_old_rows NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();
CREATE TRIGGER measurement_sync_delete AFTER DELETE ON kpi.measurement
    REFERENCING OLD TABLE AS kpi_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();
CREATE TRIGGER measurement_sync_truncate AFTER TRUNCATE ON kpi.measurement
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();

-- kpi.actual_rebuild: recompute kpi.actual for one indicator (or all) from
-- kpi.measurement; used when an indicator's grains change, and for repair.
CREATE FUNCTION kpi.actual_rebuild(p_indicator bigint DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n bigint;
    ind bigint;
BEGIN
    DELETE FROM kpi.actual a WHERE p_indicator IS NULL OR a.indicator_id OPERATOR(pg_catalog.=) p_indicator;
    INSERT INTO kpi.actual (indicator_id, scope_id, period, tally)
    SELECT m.indicator_id, m.scope_id, kpi.period(m.at, g.grain),
           CASE WHEN i.agg OPERATOR(pg_catalog.=) 'ratio'::kpi.agg_kind
                THEN kpi.tally(m.value, m.denominator, m.at)
                ELSE kpi.tally(m.value, m.at) END
    FROM kpi.measurement m
    JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
    CROSS JOIN LATERAL pg_catalog.unnest(i.grains) AS g(grain)
    WHERE p_indicator IS NULL OR m.indicator_id OPERATOR(pg_catalog.=) p_indicator
    GROUP BY m.indicator_id, m.scope_id, kpi.period(m.at, g.grain), i.agg;
    GET DIAGNOSTICS n = ROW_COUNT;
    FOR ind IN SELECT DISTINCT a.indicator_id FROM kpi.actual a
               WHERE p_indicator IS NULL OR a.indicator_id OPERATOR(pg_catalog.=) p_indicator
    LOOP
        PERFORM kpi.actual_evaluate(ind);
    END LOOP;
    RETURN n;
END
$$;
-- Both run as the extension owner (they write kpi.actual for the triggers);
-- only the owner and those it grants may call them directly.
REVOKE EXECUTE ON FUNCTION kpi.actual_rebuild(bigint) FROM PUBLIC;
REVOKE EXECUTE ON FUNCTION kpi.actual_evaluate(bigint, bigint, kpi.period) FROM PUBLIC;
COMMENT ON FUNCTION kpi.actual_rebuild(bigint) IS
    'recompute kpi.actual from kpi.measurement for one indicator, or for all when NULL; returns the rows written';

CREATE FUNCTION kpi.indicator_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.grains IS DISTINCT FROM OLD.grains OR NEW.agg IS DISTINCT FROM OLD.agg THEN
        PERFORM kpi.actual_rebuild(NEW.id);
    ELSIF NEW.bands::text IS DISTINCT FROM OLD.bands::text THEN
        PERFORM kpi.actual_evaluate(NEW.id);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.indicator_sync() IS
    'trigger: rebuild or re-evaluate kpi.actual when an indicator''s grains, aggregation or bands change';
CREATE TRIGGER indicator_sync AFTER UPDATE OF grains, agg, bands ON kpi.indicator
    FOR EACH ROW EXECUTE FUNCTION kpi.indicator_sync();

-- ---------------------------------------------------------------------
-- kpi.rollup: the whole indicator tree scored for a period and scope
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.rollup(p kpi.period, scope text DEFAULT NULL)
    RETURNS TABLE (indicator_id bigint, code text, depth integer, actual float8, target float8,
                   attainment float8, score float8, status kpi.status, coverage float8)
    AS 'MODULE_PATHNAME', 'kpi_rollup'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION kpi.rollup(kpi.period, text) IS
    'score the whole indicator tree for a period and a scope (NULL = whole organisation): actual, target, attainment, weighted score, status, coverage';

-- ---------------------------------------------------------------------
-- Views for people and BI tools
-- ---------------------------------------------------------------------

-- kpi.scope_actual: actuals of every scope over its subtree, with the target
-- set for that scope.  Flows (sum, avg, min, max, count, ratio) merge the
-- tallies of the subtree: a region's margin is Σ profit / Σ revenue of its
-- branches, never an average of their margins.  Levels (first, last: stock,
-- headcount) are semi-additive: each scope's opening or closing value is
-- taken within the period, then added up across scopes.
CREATE VIEW kpi.scope_actual AS
SELECT m.indicator_id, m.scope_id, m.period, m.tally, m.value, t.goal
FROM (SELECT a.indicator_id, anc.ancestor_id AS scope_id, a.period,
             kpi.merge(a.tally) AS tally,
             CASE WHEN i.agg OPERATOR(pg_catalog.=) ANY ('{first,last}'::kpi.agg_kind[])
                  THEN pg_catalog.sum(kpi.value(a.tally, i.agg))
                  ELSE kpi.value(kpi.merge(a.tally), i.agg) END AS value
      FROM kpi.actual a
      JOIN kpi.scope_tree anc ON anc.scope_id OPERATOR(pg_catalog.=) a.scope_id
      JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
      GROUP BY a.indicator_id, anc.ancestor_id, a.period, i.agg) m
LEFT JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) m.indicator_id
                      AND t.scope_id OPERATOR(pg_catalog.=) m.scope_id
                      AND t.period OPERATOR(kpi.=) m.period;
COMMENT ON VIEW kpi.scope_actual IS
    'actuals of every scope over its subtree (flows merged, levels summed across scopes), with that scope''s goal';

-- kpi.scorecard: plain columns only (text, numeric, date, timestamptz).
CREATE VIEW kpi.scorecard AS
WITH sa AS (SELECT * FROM kpi.scope_actual)
SELECT i.code                                   AS indicator,
       i.name                                   AS indicator_name,
       i.unit,
       s.code                                   AS scope,
       s.name                                   AS scope_name,
       cur.period::text                         AS period,
       kpi.grain(cur.period)                    AS grain,
       kpi.start_date(cur.period)               AS period_start,
       kpi.end_date(cur.period)                 AS period_end,
       cur.value::numeric                       AS actual,
       kpi.target(cur.goal)::numeric            AS target,
       cur.goal::text                           AS goal,
       kpi.attainment(cur.value, cur.goal)::numeric AS attainment,
       CASE WHEN i.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[])   -- cumulative only
            THEN kpi.pace(cur.value, cur.goal, kpi.progress(cur.period))::numeric END AS pace,
       kpi.status(kpi.attainment(cur.value, cur.goal), i.bands)::text AS status,
       i.owner,
       prev.value::numeric                      AS previous_actual,
       (cur.value - prev.value)::numeric        AS previous_change,
       ly.value::numeric                        AS last_year_actual,
       (cur.value - ly.value)::numeric          AS last_year_change
FROM sa cur
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) cur.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) cur.scope_id
LEFT JOIN sa prev ON prev.indicator_id OPERATOR(pg_catalog.=) cur.indicator_id
                 AND prev.scope_id OPERATOR(pg_catalog.=) cur.scope_id
                 AND prev.period OPERATOR(kpi.=) kpi.period((kpi.start_date(cur.period) OPERATOR(pg_catalog.-) 1), kpi.grain(cur.period))
LEFT JOIN sa ly ON ly.indicator_id OPERATOR(pg_catalog.=) cur.indicator_id
               AND ly.scope_id OPERATOR(pg_catalog.=) cur.scope_id
               AND ly.period OPERATOR(kpi.=) kpi.period((kpi.start_date(cur.period) OPERATOR(pg_catalog.-) '1 year'::interval)::date, kpi.grain(cur.period))
WHERE i.lifecycle OPERATOR(pg_catalog.<>) 'retired';
COMMENT ON VIEW kpi.scorecard IS
    'the scorecard for BI tools: every indicator, scope (subtree merged) and period with actual, target, attainment, pace, status, previous period and same period last year; plain column types only';

-- ---------------------------------------------------------------------
-- pg_dump keeps the rows of every table and the state of every sequence.
-- kpi.actual is derived: a restore rebuilds it through the measurement
-- trigger as kpi.measurement's rows come back, so it is not dumped (its
-- dumped rows would collide with the rebuilt ones).  Likewise a restore
-- logs one INSERT per indicator and target in the history tables, stamped
-- with the restore time; their ids are therefore not unique.
-- ---------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('kpi.indicator', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.indicator_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.indicator_history', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.indicator_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.scope', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.scope_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.link', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.target', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.target_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.target_history', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.target_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.measurement', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.measurement_id_seq', '');

COMMENT ON SEQUENCE kpi.indicator_id_seq IS 'ids of kpi.indicator';
COMMENT ON SEQUENCE kpi.indicator_history_id_seq IS 'ids of kpi.indicator_history';
COMMENT ON SEQUENCE kpi.scope_id_seq IS 'ids of kpi.scope';
COMMENT ON SEQUENCE kpi.target_id_seq IS 'ids of kpi.target';
COMMENT ON SEQUENCE kpi.target_history_id_seq IS 'ids of kpi.target_history';
COMMENT ON SEQUENCE kpi.measurement_id_seq IS 'ids of kpi.measurement';
