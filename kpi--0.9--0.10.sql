-- kpi 0.9 -> 0.10: indicators computed from the business's own tables.
--
--   1. a measurement can carry a kpi.tally (a day's summary of many rows),
--      merged whole by the trigger, so averages, extremes, first/last and
--      ratios stay exact when values arrive pre-aggregated;
--   2. kpi.indicator.sources: the executable definitions (口径 as code) of
--      a computed indicator, by effective date, checked when written and
--      versioned with the dictionary (kpi.indicator_as_of shows them);
--   3. kpi.refresh(): the daily tallies of every computed indicator brought
--      up to date from its source, incrementally (a watermark and a
--      look-back), run with the rights of the definition's owner; the view
--      kpi.computed shows the definitions and how fresh each indicator is;
--   4. kpi.restate(): history recomputed under the definitions in force,
--      with what was reported before kept in kpi.restatement;
--   5. kpi.verify() and kpi.reached() read carried tallies.
\echo Use "ALTER EXTENSION kpi UPDATE TO '0.10'" to load this file. \quit

-- ---------------------------------------------------------------------
-- 1. Measurements that carry a tally
-- ---------------------------------------------------------------------

-- value and denominator stay the row's plain reading (the tally's sum and,
-- for a ratio, its denominator sum), so queries that sum kpi.measurement
-- keep their meaning; the tally is what the actuals merge.
ALTER TABLE kpi.measurement ADD COLUMN tally kpi.tally;
ALTER TABLE kpi.measurement ADD CONSTRAINT measurement_tally_check CHECK (
    tally IS NULL
    OR (kpi.value(tally, 'count') OPERATOR(pg_catalog.>) 0
        AND value OPERATOR(pg_catalog.=) kpi.value(tally, 'sum')
        AND (denominator IS NULL OR denominator OPERATOR(pg_catalog.=) kpi.denominator(tally, 'ratio'))));
COMMENT ON COLUMN kpi.measurement.tally IS
    'a summary of many values (kpi.tally), merged whole into the actuals; NULL for a single value. When set, value is its sum and denominator its denominator sum';

-- kpi.record_tally: record a summary by codes; value and denominator are
-- taken from the tally.  The codes are looked up first, so an unknown one
-- is named (22023) before any privilege is checked, on every major.
CREATE FUNCTION kpi.record_tally(indicator_code text, scope_code text, tally kpi.tally,
                                 at timestamptz DEFAULT pg_catalog.now(), note text DEFAULT NULL) RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ind bigint := kpi.indicator_id(indicator_code);
    scope bigint := kpi.scope_id(scope_code);
    ratio boolean := (SELECT i.agg OPERATOR(pg_catalog.=) 'ratio' FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) ind);
    id bigint;
BEGIN
    INSERT INTO kpi.measurement AS m (indicator_id, scope_id, at, value, denominator, tally, note)
    VALUES (ind, scope, record_tally.at, kpi.value(record_tally.tally, 'sum'),
            CASE WHEN ratio THEN kpi.denominator(record_tally.tally, 'ratio') END, record_tally.tally, record_tally.note)
    RETURNING m.id INTO id;
    RETURN id;
END
$$;
COMMENT ON FUNCTION kpi.record_tally(text, text, kpi.tally, timestamptz, text) IS
    'record a summary of many values (a kpi.tally) by indicator and scope code; returns the measurement id';

-- kpi.reached: as in 0.9, carried tallies merged whole.
CREATE OR REPLACE FUNCTION kpi.reached(indicator_id bigint, agg kpi.agg_kind, scopes bigint[],
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
                      THEN kpi.tally(m.value, m.denominator, m.at) FILTER (WHERE m.tally IS NULL)
                      ELSE kpi.tally(m.value, m.at) FILTER (WHERE m.tally IS NULL) END
                 OPERATOR(kpi.+) kpi.merge(m.tally) AS t
          FROM kpi.measurement m
          WHERE m.indicator_id OPERATOR(pg_catalog.=) reached.indicator_id
            AND m.scope_id OPERATOR(pg_catalog.=) ANY (scopes)
            AND m.at OPERATOR(pg_catalog.>=) lo AND m.at OPERATOR(pg_catalog.<) hi
          GROUP BY m.scope_id) x
    HAVING pg_catalog.count(*) OPERATOR(pg_catalog.>) 0;
END
$$;

-- ---------------------------------------------------------------------
-- 2. Executable definitions: kpi.indicator.sources
-- ---------------------------------------------------------------------

ALTER TABLE kpi.indicator ADD COLUMN sources jsonb;
COMMENT ON COLUMN kpi.indicator.sources IS
    'the executable definitions (口径 as code) the indicator is computed from, by effective date: [{effective, source, at, scope, value, denominator, filter, lookback, owner}]; NULL for an indicator recorded by hand. Set with kpi.set_source()';

-- The history and kpi.indicator_as_of() carry the new column: the
-- function's r.* stood for the columns of 0.7.
CREATE OR REPLACE FUNCTION kpi.indicator_as_of(at timestamptz) RETURNS SETOF kpi.indicator
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

CREATE FUNCTION kpi.source_check(source regclass, at text, scope text, value text,
                                 denominator text, filter text) RETURNS text[]
    AS 'MODULE_PATHNAME', 'kpi_source_check' LANGUAGE C STABLE;
COMMENT ON FUNCTION kpi.source_check(regclass, text, text, text, text, text) IS
    'check a source definition (columns exist and fit, expressions are immutable functions of one row of the right type); returns {source qualified, value, denominator, filter} as kpi keeps them: each expression printed back by PostgreSQL, self-contained';

-- The error a definition gets for a row whose scope code kpi does not know.
CREATE FUNCTION kpi.source_unknown_scope(code text, indicator text) RETURNS bigint
    LANGUAGE plpgsql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = 'foreign_key_violation',
        MESSAGE = format('scope code %L in the source of indicator %s is not a scope', code, indicator),
        HINT = 'Add the scope to kpi.scope, or leave its rows out with the definition''s filter.';
END
$$;
COMMENT ON FUNCTION kpi.source_unknown_scope(text, text) IS
    'internal: raise 23503 for a source row whose scope code is not in kpi.scope';

-- kpi.sources_check: BEFORE INSERT OR UPDATE trigger on kpi.indicator.
-- Every definition that is new or changed is checked (kpi.source_check,
-- then its scope codes, read as the role writing it) and gets that role as
-- its owner: kpi.refresh() runs it with that role's rights and no more,
-- so no one can write a definition that reads what they cannot.
-- Definitions left as they were keep their owner.  A restore loads them
-- as dumped.
CREATE FUNCTION kpi.sources_check() RETURNS trigger
    LANGUAGE plpgsql
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    e jsonb;
    kept jsonb;
    out jsonb := '[]';
    eff date;
    prev date;
    first boolean := true;
    bad text;
    lookback interval;
    lookback_days integer;
    norm jsonb;
    checked text[];
BEGIN
    PERFORM kpi.row_guard('sources_check', TG_TABLE_SCHEMA, TG_TABLE_NAME, TG_WHEN, TG_LEVEL, 'indicator');
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND NEW.sources IS NOT DISTINCT FROM OLD.sources
       AND NEW.agg OPERATOR(pg_catalog.=) OLD.agg THEN
        RETURN NEW;
    END IF;
    IF NEW.sources IS NULL OR kpi.in_restore() THEN
        RETURN NEW;
    END IF;
    IF pg_catalog.jsonb_typeof(NEW.sources) OPERATOR(pg_catalog.<>) 'array'
       OR pg_catalog.jsonb_array_length(NEW.sources) OPERATOR(pg_catalog.=) 0 THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('the sources of indicator %s must be a non-empty JSON array of definitions', NEW.code),
            HINT = 'Use kpi.set_source(), or set sources to NULL for an indicator recorded by hand.';
    END IF;
    FOR e IN SELECT x.e FROM pg_catalog.jsonb_array_elements(NEW.sources) AS x(e)
             ORDER BY (x.e OPERATOR(pg_catalog.->>) 'effective')::date NULLS FIRST LOOP
        bad := (SELECT pg_catalog.string_agg(k, ', ') FROM pg_catalog.jsonb_object_keys(e) AS k
                WHERE k OPERATOR(pg_catalog.<>) ALL ('{effective,source,at,scope,value,denominator,filter,lookback,owner}'));
        IF bad IS NOT NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('a definition of indicator %s has unknown keys: %s', NEW.code, bad);
        END IF;
        eff := (e OPERATOR(pg_catalog.->>) 'effective')::date;
        IF NOT first AND (eff IS NULL OR prev IS NOT DISTINCT FROM eff) THEN
            RAISE EXCEPTION USING ERRCODE = 'unique_violation',
                MESSAGE = format('indicator %s has two definitions effective from %s', NEW.code,
                                 coalesce(eff::text, 'the beginning'));
        END IF;
        first := false;
        prev := eff;
        IF NEW.agg OPERATOR(pg_catalog.=) 'ratio' AND e OPERATOR(pg_catalog.->>) 'denominator' IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'not_null_violation',
                MESSAGE = format('ratio indicator %s needs a denominator expression in its definition', NEW.code);
        END IF;
        lookback := coalesce((e OPERATOR(pg_catalog.->>) 'lookback')::interval, '3 days');
        IF lookback OPERATOR(pg_catalog.<) '0' THEN
            RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('the look-back of a definition of %s cannot be negative', NEW.code);
        END IF;
        -- kept as whole days, written the same under every IntervalStyle
        lookback_days := pg_catalog.ceil(pg_catalog.date_part('epoch', lookback) OPERATOR(pg_catalog./) 86400);
        -- a definition as it was (owner aside) keeps its owner
        kept := NULL;
        IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND OLD.sources IS NOT NULL THEN
            kept := (SELECT o.x FROM pg_catalog.jsonb_array_elements(OLD.sources) AS o(x)
                     WHERE (o.x OPERATOR(pg_catalog.-) 'owner') OPERATOR(pg_catalog.=) (e OPERATOR(pg_catalog.-) 'owner')
                     LIMIT 1);
        END IF;
        IF kept IS NOT NULL THEN
            out := out OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(kept);
            CONTINUE;
        END IF;
        checked := kpi.source_check((e OPERATOR(pg_catalog.->>) 'source')::regclass,
                                    e OPERATOR(pg_catalog.->>) 'at', e OPERATOR(pg_catalog.->>) 'scope',
                                    e OPERATOR(pg_catalog.->>) 'value', e OPERATOR(pg_catalog.->>) 'denominator',
                                    e OPERATOR(pg_catalog.->>) 'filter');
        norm := pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
                'effective', eff, 'source', checked[1],
                'at', e OPERATOR(pg_catalog.->>) 'at', 'scope', e OPERATOR(pg_catalog.->>) 'scope',
                'value', checked[2], 'denominator', checked[3], 'filter', checked[4],
                'lookback', format('%s days', lookback_days), 'owner', CURRENT_USER));
        -- the summary query itself, planned and started as its owner: every
        -- column it reads must be readable by them (42501 otherwise)
        EXECUTE format('SELECT 1 FROM (%s) q LIMIT 0',
                       kpi.source_query(norm, NEW.agg, 'UTC', '-infinity', 'infinity'));
        -- every scope code the definition yields must be a scope, read as its owner
        EXECUTE format('SELECT s.%I::text FROM %s s WHERE (%s) AND s.%I IS NOT NULL '
                       'EXCEPT SELECT c.code FROM kpi.scope c LIMIT 1',
                       e OPERATOR(pg_catalog.->>) 'scope', checked[1],
                       coalesce(checked[4], 'true'), e OPERATOR(pg_catalog.->>) 'scope')
            INTO bad;
        PERFORM kpi.source_unknown_scope(bad, NEW.code);   -- 23503 when there is one
        out := out OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(norm);
    END LOOP;
    NEW.sources := out;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.sources_check() IS
    'trigger: check every new or changed definition of kpi.indicator.sources and make the role writing it its owner';
CREATE TRIGGER sources_check BEFORE INSERT OR UPDATE OF sources, agg ON kpi.indicator
    FOR EACH ROW EXECUTE FUNCTION kpi.sources_check();

-- kpi.set_source: add or replace the definition of an indicator that is
-- in force from `effective` (NULL: from the beginning).  Runs with the
-- caller's rights: it takes UPDATE on kpi.indicator, and the caller
-- becomes the definition's owner.
CREATE FUNCTION kpi.set_source(indicator text, source regclass, at text, scope text, value text,
                               denominator text DEFAULT NULL, filter text DEFAULT NULL,
                               effective date DEFAULT NULL, lookback interval DEFAULT '3 days')
    RETURNS jsonb
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ind bigint := kpi.indicator_id(set_source.indicator);
    result jsonb;
BEGIN
    UPDATE kpi.indicator i
    SET sources = coalesce((SELECT pg_catalog.jsonb_agg(o.e)
                            FROM pg_catalog.jsonb_array_elements(i.sources) AS o(e)
                            WHERE (o.e OPERATOR(pg_catalog.->>) 'effective')::date IS DISTINCT FROM set_source.effective),
                           '[]')
                  OPERATOR(pg_catalog.||) pg_catalog.jsonb_build_array(pg_catalog.jsonb_build_object(
                      'effective', set_source.effective, 'source', set_source.source::pg_catalog.text,
                      'at', set_source.at, 'scope', set_source.scope, 'value', set_source.value,
                      'denominator', set_source.denominator, 'filter', set_source.filter,
                      'lookback', set_source.lookback::pg_catalog.text))
    WHERE i.id OPERATOR(pg_catalog.=) ind
    RETURNING i.sources INTO result;
    RETURN (SELECT o.e FROM pg_catalog.jsonb_array_elements(result) AS o(e)
            WHERE (o.e OPERATOR(pg_catalog.->>) 'effective')::date IS NOT DISTINCT FROM set_source.effective);
END
$$;
COMMENT ON FUNCTION kpi.set_source(text, regclass, text, text, text, text, text, date, interval) IS
    'compute an indicator from a table: its time column, scope-code column, value (and denominator) expressions and filter, in force from effective (NULL: always); checked, owned by the caller; returns the stored definition';

-- kpi.drop_source: the indicator is recorded by hand again; what was
-- computed stays as measurements.
CREATE FUNCTION kpi.drop_source(indicator text) RETURNS void
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ind bigint := kpi.indicator_id(drop_source.indicator);
BEGIN
    UPDATE kpi.indicator i SET sources = NULL WHERE i.id OPERATOR(pg_catalog.=) ind;
END
$$;
COMMENT ON FUNCTION kpi.drop_source(text) IS
    'remove an indicator''s source definitions (its computed measurements stay)';

-- ---------------------------------------------------------------------
-- 3. kpi.refresh
-- ---------------------------------------------------------------------

CREATE TABLE kpi.refresh_state (
    indicator_id bigint PRIMARY KEY REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    watermark    date,
    refreshed_at timestamptz,
    refreshed_by name
);
COMMENT ON TABLE kpi.refresh_state IS 'how far each computed indicator has been refreshed (kpi.refresh)';
COMMENT ON COLUMN kpi.refresh_state.indicator_id IS 'the computed indicator (kpi.indicator.id)';
COMMENT ON COLUMN kpi.refresh_state.watermark IS
    'the last day (company time) the source had rows for when last refreshed, at most that day''s date; the next refresh reads from this day less the look-back';
COMMENT ON COLUMN kpi.refresh_state.refreshed_at IS 'when the indicator was last refreshed';
COMMENT ON COLUMN kpi.refresh_state.refreshed_by IS 'the role that last refreshed it (kpi.actor())';
SELECT pg_catalog.pg_extension_config_dump('kpi.refresh_state', '');

CREATE FUNCTION kpi.source_run(owner oid, query text)
    RETURNS TABLE (scope text, day date, tally kpi.tally)
    AS 'MODULE_PATHNAME', 'kpi_source_run' LANGUAGE C VOLATILE STRICT;
COMMENT ON FUNCTION kpi.source_run(oid, text) IS
    'internal: run a summary query built by kpi.refresh read-only, as the definition''s owner, in a security-restricted operation';
REVOKE ALL ON FUNCTION kpi.source_run(oid, text) FROM PUBLIC;

-- kpi.source_query: the summary query of one definition over the days
-- [lo, hi): a tally per scope code and day (company time), aggregated
-- where the rows are (on Citus workers, partially) so that only daily
-- tallies travel.  Bounds are written as ISO dates, never as text in the
-- session's DateStyle.
CREATE FUNCTION kpi.source_query(d jsonb, agg kpi.agg_kind, zone text, lo date, hi date) RETURNS text
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    col_at text := pg_catalog.quote_ident(d OPERATOR(pg_catalog.->>) 'at');
    col_scope text := pg_catalog.quote_ident(d OPERATOR(pg_catalog.->>) 'scope');
    by_date boolean := (SELECT a.atttypid OPERATOR(pg_catalog.=) 'pg_catalog.date'::pg_catalog.regtype
                        FROM pg_catalog.pg_attribute a
                        WHERE a.attrelid OPERATOR(pg_catalog.=) (d OPERATOR(pg_catalog.->>) 'source')::regclass
                          AND a.attname OPERATOR(pg_catalog.=) (d OPERATOR(pg_catalog.->>) 'at'));
    t text;
    day text;
    bound text;
    cond text := '';
BEGIN
    IF by_date THEN
        t := format('pg_catalog.timezone(%L, s.%s::pg_catalog.timestamp)', zone, col_at);
        day := format('s.%s', col_at);
        bound := '%L::pg_catalog.date';
    ELSE
        t := format('s.%s', col_at);
        day := format('pg_catalog.timezone(%L, s.%s)::pg_catalog.date', zone, col_at);
        bound := format('pg_catalog.timezone(%L, %%L::pg_catalog.timestamp)', zone);
    END IF;
    IF lo OPERATOR(pg_catalog.>) '-infinity' THEN
        cond := cond OPERATOR(pg_catalog.||) format(' AND s.%s >= ', col_at)
                OPERATOR(pg_catalog.||) format(bound, pg_catalog.to_char(lo, 'YYYY-MM-DD'));
    END IF;
    IF hi OPERATOR(pg_catalog.<) 'infinity' THEN
        cond := cond OPERATOR(pg_catalog.||) format(' AND s.%s < ', col_at)
                OPERATOR(pg_catalog.||) format(bound, pg_catalog.to_char(hi, 'YYYY-MM-DD'));
    END IF;
    RETURN format('SELECT s.%s::pg_catalog.text, %s, kpi.tally((%s)::pg_catalog.float8, %s%s) '
                  'FROM %s s WHERE s.%s IS NOT NULL AND (%s)%s GROUP BY 1, 2',
                  col_scope, day, d OPERATOR(pg_catalog.->>) 'value',
                  CASE WHEN agg OPERATOR(pg_catalog.=) 'ratio'
                       THEN format('(%s)::pg_catalog.float8, ', d OPERATOR(pg_catalog.->>) 'denominator') ELSE '' END,
                  t, d OPERATOR(pg_catalog.->>) 'source', col_scope,
                  coalesce(d OPERATOR(pg_catalog.->>) 'filter', 'true'), cond);
END
$$;
COMMENT ON FUNCTION kpi.source_query(jsonb, kpi.agg_kind, text, date, date) IS
    'internal: the summary query of a source definition over the days [lo, hi) (a tally per scope code and day)';

-- kpi.refresh_days: replace exactly the computed measurements of an
-- indicator from a day on: each (scope, day) whose fresh tally differs
-- from the stored one is deleted and inserted again, days that lost every
-- source row are deleted, new days inserted; equal days are not touched.
-- One statement, so the trigger folds every change into the actuals once.
-- Days before the first definition's effective date are not touched.
CREATE FUNCTION kpi.refresh_days(ind kpi.indicator, from_day date)
    RETURNS TABLE (inserted bigint, deleted bigint, last_day date)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    zone text := kpi.time_zone();
    n integer := pg_catalog.jsonb_array_length(ind.sources);
    d jsonb;
    lo date;
    hi date;
    start_day date;
    owner_oid oid;
    runs text := '';
BEGIN
    FOR i IN 0 .. n OPERATOR(pg_catalog.-) 1 LOOP
        d := ind.sources OPERATOR(pg_catalog.->) i;
        lo := GREATEST(coalesce((d OPERATOR(pg_catalog.->>) 'effective')::date, '-infinity'), from_day);
        hi := CASE WHEN i OPERATOR(pg_catalog.<) (n OPERATOR(pg_catalog.-) 1)
                   THEN (ind.sources OPERATOR(pg_catalog.->) (i OPERATOR(pg_catalog.+) 1) OPERATOR(pg_catalog.->>) 'effective')::date
                   ELSE 'infinity' END;
        IF i OPERATOR(pg_catalog.=) 0 THEN
            start_day := lo;
        END IF;
        CONTINUE WHEN lo OPERATOR(pg_catalog.>=) hi;
        owner_oid := (SELECT r.oid FROM pg_catalog.pg_roles r
                      WHERE r.rolname OPERATOR(pg_catalog.=) (d OPERATOR(pg_catalog.->>) 'owner'));
        IF owner_oid IS NULL THEN
            RAISE EXCEPTION USING ERRCODE = 'undefined_object',
                MESSAGE = format('the owner %s of a definition of %s no longer exists', d OPERATOR(pg_catalog.->>) 'owner', ind.code),
                HINT = 'Set the definition again with kpi.set_source(), as the role it should run as.';
        END IF;
        runs := runs OPERATOR(pg_catalog.||) CASE WHEN runs OPERATOR(pg_catalog.=) '' THEN '' ELSE ' UNION ALL ' END
                OPERATOR(pg_catalog.||) format('SELECT * FROM kpi.source_run(%s, %L)', owner_oid,
                                               kpi.source_query(d, ind.agg, zone, lo, hi));
    END LOOP;
    IF runs OPERATOR(pg_catalog.=) '' THEN
        runs := 'SELECT NULL::pg_catalog.text, NULL::pg_catalog.date, NULL::kpi.tally WHERE false';
    END IF;
    RETURN QUERY EXECUTE format($q$
        WITH run (scope, day, tally) AS (%s),
        fresh AS (
            SELECT coalesce(s.id, kpi.source_unknown_scope(r.scope, $1)) AS scope_id, r.day, r.tally
            FROM run r LEFT JOIN kpi.scope s ON s.code OPERATOR(pg_catalog.=) r.scope
            WHERE kpi.value(r.tally, 'count') OPERATOR(pg_catalog.>) 0),
        old AS (
            SELECT m.id, m.scope_id, pg_catalog.timezone($2, m.at)::pg_catalog.date AS day, m.tally
            FROM kpi.measurement m
            WHERE m.indicator_id OPERATOR(pg_catalog.=) $3 AND m.source OPERATOR(pg_catalog.=) 'kpi.refresh'
              AND m.at OPERATOR(pg_catalog.>=) pg_catalog.timezone($2, $4::pg_catalog.timestamp)),
        gone AS (
            DELETE FROM kpi.measurement m USING old o
            WHERE m.id OPERATOR(pg_catalog.=) o.id
              AND NOT EXISTS (SELECT FROM fresh f
                              WHERE f.scope_id OPERATOR(pg_catalog.=) o.scope_id AND f.day OPERATOR(pg_catalog.=) o.day
                                AND kpi.tally_send(f.tally) OPERATOR(pg_catalog.=) kpi.tally_send(o.tally))
            RETURNING 1),
        added AS (
            INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator, tally, source)
            SELECT $3, f.scope_id, pg_catalog.timezone($2, f.day::pg_catalog.timestamp), kpi.value(f.tally, 'sum'),
                   CASE WHEN $5 THEN kpi.denominator(f.tally, 'ratio') END, f.tally, 'kpi.refresh'
            FROM fresh f
            WHERE NOT EXISTS (SELECT FROM old o
                              WHERE o.scope_id OPERATOR(pg_catalog.=) f.scope_id AND o.day OPERATOR(pg_catalog.=) f.day
                                AND kpi.tally_send(f.tally) OPERATOR(pg_catalog.=) kpi.tally_send(o.tally))
            RETURNING 1)
        SELECT (SELECT pg_catalog.count(*) FROM added), (SELECT pg_catalog.count(*) FROM gone),
               (SELECT pg_catalog.max(f.day) FROM fresh f)
        $q$, runs)
        USING ind.code, zone, ind.id, GREATEST(start_day, '-infinity'::date), ind.agg OPERATOR(pg_catalog.=) 'ratio';
END
$$;
COMMENT ON FUNCTION kpi.refresh_days(kpi.indicator, date) IS
    'internal: recompute a computed indicator''s daily tallies from a day on and replace exactly those that changed';
REVOKE ALL ON FUNCTION kpi.refresh_days(kpi.indicator, date) FROM PUBLIC;

-- kpi.computed_indicator: lock a computed indicator's refresh state and
-- read its definition as it is once the lock is held (a refresh that
-- waited for another sees what that one wrote).
CREATE FUNCTION kpi.computed_indicator(code text, caller text) RETURNS kpi.indicator
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    ind_id bigint := kpi.indicator_id(computed_indicator.code);
    ind kpi.indicator;
BEGIN
    INSERT INTO kpi.refresh_state AS r (indicator_id) VALUES (ind_id) ON CONFLICT (indicator_id) DO NOTHING;
    PERFORM FROM kpi.refresh_state r WHERE r.indicator_id OPERATOR(pg_catalog.=) ind_id FOR UPDATE;
    SELECT i.* INTO ind FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) ind_id;
    IF ind.sources IS NULL THEN
        RAISE EXCEPTION USING ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('%s: indicator %s is not computed from a source', caller, ind.code),
            HINT = 'Give it a definition with kpi.set_source().';
    END IF;
    RETURN ind;
END
$$;
COMMENT ON FUNCTION kpi.computed_indicator(text, text) IS
    'internal: lock a computed indicator''s refresh state and return its row as it is then (55000 naming the caller if it has no source)';
REVOKE ALL ON FUNCTION kpi.computed_indicator(text, text) FROM PUBLIC;

-- kpi.refresh: bring computed indicators up to date.  Each reads its
-- source from its watermark less the definition's look-back, replaces the
-- days that changed, and moves the watermark to the last day read (never
-- past today).  Concurrent refreshes of one indicator queue on its
-- kpi.refresh_state row; the second finds nothing left to change.
CREATE FUNCTION kpi.refresh(indicator text DEFAULT NULL)
    RETURNS TABLE (code text, from_day date, watermark date, inserted bigint, deleted bigint)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    ind kpi.indicator;
    wm date;
    r record;
    lookback interval;
BEGIN
    FOR code IN SELECT i.code FROM kpi.indicator i
                WHERE (refresh.indicator IS NULL AND i.sources IS NOT NULL AND i.lifecycle OPERATOR(pg_catalog.<>) 'retired')
                   OR i.code OPERATOR(pg_catalog.=) refresh.indicator
                ORDER BY i.code LOOP
        ind := kpi.computed_indicator(code, 'kpi.refresh');
        wm := (SELECT s.watermark FROM kpi.refresh_state s WHERE s.indicator_id OPERATOR(pg_catalog.=) ind.id);
        lookback := ((ind.sources OPERATOR(pg_catalog.->) (-1)) OPERATOR(pg_catalog.->>) 'lookback')::interval;
        from_day := CASE WHEN wm IS NULL THEN '-infinity'
                         ELSE (wm OPERATOR(pg_catalog.-) lookback)::date END;
        SELECT * INTO r FROM kpi.refresh_days(ind, from_day);
        watermark := LEAST(GREATEST(wm, r.last_day), kpi.today());
        UPDATE kpi.refresh_state s
        SET watermark = refresh.watermark, refreshed_at = pg_catalog.now(), refreshed_by = kpi.actor()
        WHERE s.indicator_id OPERATOR(pg_catalog.=) ind.id;
        inserted := r.inserted;
        deleted := r.deleted;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION kpi.refresh(text) IS
    'bring computed indicators (one, or every active one) up to date from their sources, incrementally; returns per indicator its code, the first day read, the new watermark and the measurements inserted and deleted';
REVOKE ALL ON FUNCTION kpi.refresh(text) FROM PUBLIC;

-- kpi.computed: the definitions, one row each, with how far their
-- indicator is refreshed: what a dashboard shows next to a computed figure
-- (which 口径, how fresh).  Read with the caller's rights.
CREATE VIEW kpi.computed WITH (security_invoker = true) AS
SELECT i.code                                   AS indicator,
       i.name,
       (d.e OPERATOR(pg_catalog.->>) 'effective')::date AS effective,
       lead((d.e OPERATOR(pg_catalog.->>) 'effective')::date) OVER (PARTITION BY i.id ORDER BY d.n) AS until,
       d.e OPERATOR(pg_catalog.->>) 'source'      AS source,
       d.e OPERATOR(pg_catalog.->>) 'at'          AS time_column,
       d.e OPERATOR(pg_catalog.->>) 'scope'       AS scope_column,
       d.e OPERATOR(pg_catalog.->>) 'value'       AS value,
       d.e OPERATOR(pg_catalog.->>) 'denominator' AS denominator,
       d.e OPERATOR(pg_catalog.->>) 'filter'      AS filter,
       d.e OPERATOR(pg_catalog.->>) 'lookback'    AS lookback,
       d.e OPERATOR(pg_catalog.->>) 'owner'       AS owner,
       r.watermark,
       r.refreshed_at
FROM kpi.indicator i
CROSS JOIN LATERAL pg_catalog.jsonb_array_elements(i.sources) WITH ORDINALITY AS d(e, n)
LEFT JOIN kpi.refresh_state r ON r.indicator_id OPERATOR(pg_catalog.=) i.id;
COMMENT ON VIEW kpi.computed IS
    'computed indicators: each definition (口径 as code) with the days it covers and how far its indicator is refreshed';
COMMENT ON COLUMN kpi.computed.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.computed.name IS 'indicator name';
COMMENT ON COLUMN kpi.computed.effective IS 'the first day the definition computes (company time); NULL: from the beginning';
COMMENT ON COLUMN kpi.computed.until IS 'the day the next definition takes over; NULL: still in force';
COMMENT ON COLUMN kpi.computed.source IS 'the table or view computed from, schema-qualified';
COMMENT ON COLUMN kpi.computed.time_column IS 'its time column (timestamptz or date)';
COMMENT ON COLUMN kpi.computed.scope_column IS 'its column of scope codes';
COMMENT ON COLUMN kpi.computed.value IS 'the value expression over one row, as PostgreSQL prints it';
COMMENT ON COLUMN kpi.computed.denominator IS 'the denominator expression of a ratio; NULL for others';
COMMENT ON COLUMN kpi.computed.filter IS 'the rows counted; NULL: every row';
COMMENT ON COLUMN kpi.computed.lookback IS 'how many days before the watermark a refresh reads again, for late rows';
COMMENT ON COLUMN kpi.computed.owner IS 'the role the definition runs as (the role that wrote it)';
COMMENT ON COLUMN kpi.computed.watermark IS 'the last day the source had rows for at the last refresh (at most that day); NULL: never refreshed';
COMMENT ON COLUMN kpi.computed.refreshed_at IS 'when the indicator was last refreshed; NULL: never';

-- ---------------------------------------------------------------------
-- 4. kpi.restate and kpi.restatement
-- ---------------------------------------------------------------------

CREATE TABLE kpi.restatement (
    id               bigserial PRIMARY KEY,
    restated_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    restated_by      name NOT NULL DEFAULT kpi.actor(),
    indicator_id     bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id         bigint NOT NULL REFERENCES kpi.scope (id) ON DELETE CASCADE,
    period           kpi.period NOT NULL,
    from_day         date NOT NULL,
    reported_value   float8,
    reported_status  kpi.status,
    restated_value   float8,
    restated_status  kpi.status,
    sources          jsonb
);
CREATE INDEX restatement_key ON kpi.restatement (indicator_id, scope_id, period);
COMMENT ON TABLE kpi.restatement IS
    'what was reported before a restatement and what the definitions in force give (kpi.restate): one row per actual that changed';
COMMENT ON COLUMN kpi.restatement.id IS 'surrogate key, in the order restatements were made';
COMMENT ON COLUMN kpi.restatement.restated_at IS 'when the history was recomputed';
COMMENT ON COLUMN kpi.restatement.restated_by IS 'the role that restated it (kpi.actor())';
COMMENT ON COLUMN kpi.restatement.indicator_id IS 'the indicator restated (kpi.indicator.id)';
COMMENT ON COLUMN kpi.restatement.scope_id IS 'the scope of the actual (kpi.scope.id)';
COMMENT ON COLUMN kpi.restatement.period IS 'the period of the actual';
COMMENT ON COLUMN kpi.restatement.from_day IS 'the day the restatement recomputed from';
COMMENT ON COLUMN kpi.restatement.reported_value IS 'the value reported before (kpi.actual.value); NULL: the key had no value';
COMMENT ON COLUMN kpi.restatement.reported_status IS 'the status reported before';
COMMENT ON COLUMN kpi.restatement.restated_value IS 'the value under the definitions in force; NULL: no value any more';
COMMENT ON COLUMN kpi.restatement.restated_status IS 'the status under the definitions in force';
COMMENT ON COLUMN kpi.restatement.sources IS 'the definitions the restatement computed with (kpi.indicator.sources)';
ALTER TABLE kpi.restatement ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.restatement FOR SELECT
    USING ((SELECT kpi.visible_scopes()) IS NULL OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
COMMENT ON SEQUENCE kpi.restatement_id_seq IS 'ids of kpi.restatement';
SELECT pg_catalog.pg_extension_config_dump('kpi.restatement', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.restatement_id_seq', '');

-- The restore switches (as on every table with foreign keys and data in a
-- dump): pg_restore -j loads these before or after the indicators.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['refresh_state', 'restatement'] LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER restore_begin BEFORE INSERT ON kpi.%I'
                                  ' FOR EACH STATEMENT WHEN (kpi.in_restore()) EXECUTE FUNCTION kpi.restore_guard()', t);
        EXECUTE pg_catalog.format('CREATE TRIGGER zz_restore_end AFTER INSERT ON kpi.%I'
                                  ' FOR EACH STATEMENT WHEN (kpi.in_restore()) EXECUTE FUNCTION kpi.restore_guard()', t);
        EXECUTE pg_catalog.format('ALTER TABLE kpi.%I ENABLE ALWAYS TRIGGER zz_restore_end', t);
    END LOOP;
END
$$;

-- kpi.restate: recompute a computed indicator from a day on under the
-- definitions in force for each day, whatever the watermark and look-back
-- say, and keep in kpi.restatement every actual whose value or status
-- changed, with what was reported before.
CREATE FUNCTION kpi.restate(indicator text, "from" date)
    RETURNS TABLE (scope text, period text, reported_value float8, restated_value float8,
                   reported_status kpi.status, restated_status kpi.status)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
DECLARE
    ind kpi.indicator;
    r record;
    before jsonb;
BEGIN
    IF "from" IS NULL OR NOT pg_catalog.isfinite("from") THEN
        RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'kpi.restate: from must be a finite date';
    END IF;
    ind := kpi.computed_indicator(restate.indicator, 'kpi.restate');
    -- the actuals as reported: every period that ends on or after `from`
    before := (SELECT pg_catalog.jsonb_object_agg(a.scope_id::text OPERATOR(pg_catalog.||) ' ' OPERATOR(pg_catalog.||) a.period::text,
                                                  pg_catalog.jsonb_build_array(a.value, a.status))
               FROM kpi.actual a
               WHERE a.indicator_id OPERATOR(pg_catalog.=) ind.id
                 AND kpi.end_date(a.period) OPERATOR(pg_catalog.>=) "from");
    SELECT * INTO r FROM kpi.refresh_days(ind, "from");
    UPDATE kpi.refresh_state s
    SET watermark = GREATEST(s.watermark, LEAST(r.last_day, kpi.today())),
        refreshed_at = pg_catalog.now(), refreshed_by = kpi.actor()
    WHERE s.indicator_id OPERATOR(pg_catalog.=) ind.id;
    RETURN QUERY
    WITH now_ AS (
        SELECT a.scope_id, a.period, a.value, a.status FROM kpi.actual a
        WHERE a.indicator_id OPERATOR(pg_catalog.=) ind.id
          AND kpi.end_date(a.period) OPERATOR(pg_catalog.>=) "from"),
    was AS (
        SELECT pg_catalog.split_part(b.key, ' ', 1)::bigint AS scope_id,
               pg_catalog.split_part(b.key, ' ', 2)::kpi.period AS period,
               (b.value OPERATOR(pg_catalog.->>) 0)::float8 AS value,
               (b.value OPERATOR(pg_catalog.->>) 1)::kpi.status AS status
        FROM pg_catalog.jsonb_each(coalesce(before, '{}')) b),
    changed AS (
        INSERT INTO kpi.restatement AS x (indicator_id, scope_id, period, from_day, reported_value, reported_status,
                                          restated_value, restated_status, sources)
        SELECT ind.id, coalesce(n.scope_id, w.scope_id), coalesce(n.period, w.period), "from",
               w.value, w.status, n.value, n.status, ind.sources
        FROM now_ n FULL JOIN was w ON w.scope_id OPERATOR(pg_catalog.=) n.scope_id AND w.period OPERATOR(kpi.=) n.period
        WHERE n.value IS DISTINCT FROM w.value OR n.status IS DISTINCT FROM w.status
        RETURNING x.scope_id, x.period, x.reported_value, x.restated_value, x.reported_status, x.restated_status)
    SELECT s.code, ch.period::text, ch.reported_value, ch.restated_value, ch.reported_status, ch.restated_status
    FROM changed ch JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) ch.scope_id
    ORDER BY ch.period, s.code;
END
$$;
COMMENT ON FUNCTION kpi.restate(text, date) IS
    'recompute a computed indicator from a day on under the definitions in force, keeping what was reported before in kpi.restatement; returns the actuals that changed';
REVOKE ALL ON FUNCTION kpi.restate(text, date) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- 5. kpi.verify(): carried tallies in the fresh computation, and values
--    recorded by hand for days a source computes
-- ---------------------------------------------------------------------

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
               OR h.new_goal IS DISTINCT FROM t.goal)))
    SELECT p.problem, i.code, s.code, p.period::text, p.detail
    FROM (SELECT * FROM actual_problems UNION ALL SELECT * FROM data_problems
          UNION ALL SELECT * FROM alert_problems UNION ALL SELECT * FROM history_problems) p
    LEFT JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) p.indicator_id
    LEFT JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) p.scope_id
    ORDER BY p.problem, i.code, s.code, p.period;
END;
COMMENT ON FUNCTION kpi.verify() IS
    'every disagreement between derived and source state (kpi.actual against a fresh computation, data rules, alert invariants, alerts against a fresh judgement of every key, history against current rows, values recorded by hand for computed days); no rows when all is well';
