/* kpi--0.4--0.5.sql: release 0.5 of kpi: the live state can be trusted.
 * kpi.actual and the alerts equal a fresh computation from the source rows
 * after any interleaving of the public write paths, in any session setting
 * and after any kind of restore; owner-rights functions are the owner's;
 * bad data is refused where it is written; kpi.verify() and kpi.repair(). */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.5'" to load this file. \quit

-- ---------------------------------------------------------------------
-- Dump restores.  A session restoring a dump made by pg_dump (plain,
-- custom or directory format, serial or pg_restore -j, full or
-- --data-only) runs with check_function_bodies and row_security off.  In
-- such a session the history and alert rows arrive with the dump, so the
-- triggers do not derive them again; kpi.actual, which is not dumped, is
-- derived as always.
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.in_restore() RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_in_restore'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION kpi.in_restore() IS
    'true in a session that restores a pg_dump dump (check_function_bodies and row_security both off): triggers then derive no history or alerts, which the dump brings';

-- The history keeps numbers exactly: to_jsonb follows extra_float_digits,
-- which a session may have lowered.
CREATE OR REPLACE FUNCTION kpi.indicator_log() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1
AS $$
BEGIN
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.indicator_history (indicator_id, op, old_row, new_row)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END);
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION kpi.target_log() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r kpi.target;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op, old_goal, new_goal, note)
    VALUES (r.id, r.indicator_id, r.scope_id, r.period, TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.goal END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.goal END, r.note);
    RETURN NULL;
END
$$;

-- Foreign keys bind the dumped tables to one another (measurements to
-- indicators and scopes, alert events to alerts ...), but pg_restore -j
-- loads tables in parallel workers in no particular order.  In a restore
-- session the first statement that loads one of the tables switches the
-- session to session_replication_role = replica, which skips the foreign
-- key checks (the dump was consistent when it was taken), and the end of
-- the statement switches it back.  kpi's own triggers that derive
-- kpi.actual fire ALWAYS, so they run in replica mode too.
CREATE FUNCTION kpi.restore_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- BEFORE the statement: origin -> replica; AFTER it: back
    from_role text := CASE TG_WHEN WHEN 'BEFORE' THEN 'origin' ELSE 'replica' END;
    to_role text := CASE TG_WHEN WHEN 'BEFORE' THEN 'replica' ELSE 'origin' END;
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.restore_guard() fires only FOR EACH STATEMENT on kpi''s tables';
    END IF;
    IF kpi.in_restore()
       AND pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) from_role THEN
        PERFORM pg_catalog.set_config('session_replication_role', to_role, false);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.restore_guard() IS
    'trigger: in a dump-restore session, skip foreign key checks while a statement loads a kpi table (pg_restore -j loads tables in any order), and check them again after it';
REVOKE EXECUTE ON FUNCTION kpi.restore_guard() FROM PUBLIC;


-- TRUNCATE removes rows without row triggers: log their deletion first, so
-- the history's last record of every target and indicator stays its state.
-- History is kept in ids order: a change made under a row lock gets a
-- larger id than the change it waited for (verify() reads it that way).
CREATE FUNCTION kpi.history_truncate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_history_truncate'
    LANGUAGE C SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.history_truncate() IS
    'trigger: before TRUNCATE of kpi.target or kpi.indicator, log the deletion of every row in its history';
CREATE TRIGGER history_truncate BEFORE TRUNCATE ON kpi.target
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.history_truncate();
CREATE TRIGGER history_truncate BEFORE TRUNCATE ON kpi.indicator
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.history_truncate();

-- ---------------------------------------------------------------------
-- kpi.setting: settings kept in the database, never in the session.
-- time_zone: the company's zone; a measurement belongs to the day, month
-- ... of its time in this zone (default UTC).
-- ---------------------------------------------------------------------

CREATE TABLE kpi.setting (
    name   text PRIMARY KEY,
    value  text NOT NULL,
    set_by name NOT NULL DEFAULT CURRENT_USER,
    set_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE kpi.setting IS 'settings of the indicator system kept in the database (time_zone: the company''s zone, default UTC)';
COMMENT ON COLUMN kpi.setting.name IS 'the setting: time_zone';
COMMENT ON COLUMN kpi.setting.value IS 'its value (time_zone: a name from pg_timezone_names)';
COMMENT ON COLUMN kpi.setting.set_by IS 'who set it';
COMMENT ON COLUMN kpi.setting.set_at IS 'when it was set';

CREATE FUNCTION kpi.setting_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.name OPERATOR(pg_catalog.<>) 'time_zone' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('unknown kpi setting: "%s"', NEW.name),
            HINT = 'The settings are: time_zone.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_timezone_names z WHERE z.name OPERATOR(pg_catalog.=) NEW.value) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('time zone "%s" not recognized', NEW.value),
            HINT = 'Use a name from pg_timezone_names, e.g. Asia/Shanghai or UTC.';
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND NOT kpi.in_restore() THEN
        NEW.set_by := CURRENT_USER;
        NEW.set_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.setting_check() IS 'trigger: refuse unknown settings and unknown time zones';
CREATE TRIGGER setting_check BEFORE INSERT OR UPDATE ON kpi.setting
    FOR EACH ROW EXECUTE FUNCTION kpi.setting_check();

-- kpi.actual_rebuild: now in C, in the company's zone, under the same
-- locks as every writer (see src/actual.c).
CREATE OR REPLACE FUNCTION kpi.actual_rebuild(p_indicator bigint DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_actual_rebuild'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.actual_rebuild(bigint) IS
    'recompute kpi.actual from the measurements and targets of one indicator, or of all when NULL (locks out measurement writers meanwhile); returns the keys written or removed';
REVOKE EXECUTE ON FUNCTION kpi.actual_rebuild(bigint) FROM PUBLIC;

-- A new zone puts measurements into other days: rebuild every key.
CREATE FUNCTION kpi.setting_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'setting'
       OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.setting_sync() fires only AFTER ... FOR EACH STATEMENT on kpi.setting';
    END IF;
    PERFORM kpi.actual_rebuild(NULL);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.setting_sync() IS 'trigger: rebuild kpi.actual when the company''s time zone changes';
REVOKE EXECUTE ON FUNCTION kpi.setting_sync() FROM PUBLIC;
CREATE TRIGGER setting_sync AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON kpi.setting
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.setting_sync();

CREATE FUNCTION kpi.time_zone() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce((SELECT s.value FROM kpi.setting s WHERE s.name OPERATOR(pg_catalog.=) 'time_zone'), 'UTC');
END;
COMMENT ON FUNCTION kpi.time_zone() IS 'the company''s time zone (kpi.setting time_zone, default UTC): the zone periods of measurements are taken in';

CREATE FUNCTION kpi.period(t timestamptz, grain text, zone text) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_from_timestamptz_zone'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period(timestamptz, text, text) IS
    'the period of grain that contains the date of t in zone (kpi.period(at, grain, kpi.time_zone()) is the period kpi.actual puts a measurement in)';

CREATE FUNCTION kpi.progress(p kpi.period, at timestamptz, zone text) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_progress_zone'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.progress(kpi.period, timestamptz, text) IS
    'fraction of the period elapsed at a time, clamped to [0,1], day boundaries in the given zone';

-- ---------------------------------------------------------------------
-- The triggers that keep kpi.actual: statement-level, in C, all through
-- one routine that locks the keys and then reads (src/actual.c).  Trigger
-- functions are the owner's: no one else may attach them to a table.
-- ---------------------------------------------------------------------

REVOKE EXECUTE ON FUNCTION kpi.measurement_sync() FROM PUBLIC;

DROP TRIGGER target_sync ON kpi.target;
DROP FUNCTION kpi.target_sync();
CREATE FUNCTION kpi.target_sync() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_target_sync'
    LANGUAGE C SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.target_sync() IS
    'trigger: evaluate again the kpi.actual keys whose target changed, and judge their alerts';
REVOKE EXECUTE ON FUNCTION kpi.target_sync() FROM PUBLIC;
CREATE TRIGGER target_sync_insert AFTER INSERT ON kpi.target
    REFERENCING NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.target_sync();
CREATE TRIGGER target_sync_update AFTER UPDATE ON kpi.target
    REFERENCING OLD TABLE AS kpi_old_rows NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.target_sync();
CREATE TRIGGER target_sync_delete AFTER DELETE ON kpi.target
    REFERENCING OLD TABLE AS kpi_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.target_sync();
CREATE TRIGGER target_sync_truncate AFTER TRUNCATE ON kpi.target
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.target_sync();

DROP TRIGGER indicator_sync ON kpi.indicator;
DROP FUNCTION kpi.indicator_sync();
DROP FUNCTION kpi.actual_evaluate(bigint, bigint, kpi.period);
CREATE FUNCTION kpi.indicator_sync() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_indicator_sync'
    LANGUAGE C SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.indicator_sync() IS
    'trigger: rebuild kpi.actual for indicators whose grains changed, evaluate again those whose agg or bands changed';
REVOKE EXECUTE ON FUNCTION kpi.indicator_sync() FROM PUBLIC;
CREATE TRIGGER indicator_sync AFTER UPDATE ON kpi.indicator
    REFERENCING OLD TABLE AS kpi_old_rows NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.indicator_sync();

-- Table locks before key locks.  Inserting measurements locks only the
-- keys it writes, in key order, so inserts run side by side.  Every other
-- write path first takes SHARE ROW EXCLUSIVE on kpi.actual (and, where it
-- rebuilds, on kpi.measurement and kpi.target: always in the order
-- measurement, target, actual), at the start of its statement, before any
-- key: a statement that writes keys in two batches (an upsert's INSERT and
-- UPDATE parts, a CTE that deletes and inserts) then holds them alone, and
-- changes that decide which keys exist see every measurement.
CREATE FUNCTION kpi.lock_for_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_WHEN OPERATOR(pg_catalog.<>) 'BEFORE'
       OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.lock_for_change() fires only BEFORE ... FOR EACH STATEMENT on kpi''s tables';
    END IF;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) ANY ('{indicator,setting}') THEN
        LOCK TABLE kpi.measurement, kpi.target, kpi.actual IN SHARE ROW EXCLUSIVE MODE;
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'measurement' AND TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        LOCK TABLE kpi.target, kpi.actual IN SHARE ROW EXCLUSIVE MODE;
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) ANY ('{measurement,target}') THEN
        LOCK TABLE kpi.target IN ACCESS SHARE MODE;     -- read by the batch: before kpi.actual
        LOCK TABLE kpi.actual IN SHARE ROW EXCLUSIVE MODE;
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'E0001',
            MESSAGE = format('kpi.lock_for_change() does not fire on kpi.%s', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.lock_for_change() IS
    'trigger: before a change other than inserting measurements, lock kpi.actual (and what a rebuild reads) so that no two writers can deadlock on its keys';
REVOKE EXECUTE ON FUNCTION kpi.lock_for_change() FROM PUBLIC;
CREATE TRIGGER lock_for_change BEFORE UPDATE OR DELETE OR TRUNCATE ON kpi.measurement
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.lock_for_change();
CREATE TRIGGER lock_for_change BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON kpi.target
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.lock_for_change();
CREATE TRIGGER lock_for_change BEFORE UPDATE OF grains, agg, bands ON kpi.indicator
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.lock_for_change();
CREATE TRIGGER lock_for_change BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON kpi.setting
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.lock_for_change();

-- The restore switches on every table with data in the dump (see above).
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['indicator', 'scope', 'link', 'setting', 'target', 'measurement', 'alert_rule', 'silence',
                             'alert', 'alert_event', 'alert_streak'] LOOP
        EXECUTE format('CREATE TRIGGER restore_begin BEFORE INSERT ON kpi.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION kpi.restore_guard()', t);
        -- named to fire after every other AFTER statement trigger of the table
        EXECUTE format('CREATE TRIGGER zz_restore_end AFTER INSERT ON kpi.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION kpi.restore_guard()', t);
        EXECUTE format('ALTER TABLE kpi.%I ENABLE ALWAYS TRIGGER zz_restore_end', t);
    END LOOP;
END
$$;

-- Derived state is kept in a restore too, in replica mode (see above).
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_insert;
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_update;
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_delete;
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_truncate;
ALTER TABLE kpi.target ENABLE ALWAYS TRIGGER target_sync_insert;
ALTER TABLE kpi.target ENABLE ALWAYS TRIGGER target_sync_update;
ALTER TABLE kpi.target ENABLE ALWAYS TRIGGER target_sync_delete;
ALTER TABLE kpi.target ENABLE ALWAYS TRIGGER target_sync_truncate;
ALTER TABLE kpi.setting ENABLE ALWAYS TRIGGER setting_sync;

-- In a restore, measurements and targets whose indicator has not arrived
-- yet are left out by their triggers; when the indicators arrive,
-- everything is rebuilt (after the measurement writers in flight commit).
CREATE FUNCTION kpi.indicator_restored() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'indicator'
       OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.indicator_restored() fires only AFTER ... FOR EACH STATEMENT on kpi.indicator';
    END IF;
    IF kpi.in_restore() THEN
        PERFORM kpi.actual_rebuild(NULL);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.indicator_restored() IS
    'trigger: in a dump-restore session, rebuild kpi.actual once the indicators have arrived';
REVOKE EXECUTE ON FUNCTION kpi.indicator_restored() FROM PUBLIC;
CREATE TRIGGER indicator_restored AFTER INSERT ON kpi.indicator
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.indicator_restored();
ALTER TABLE kpi.indicator ENABLE ALWAYS TRIGGER indicator_restored;

COMMENT ON TABLE kpi.actual IS
    'live actuals: one row per indicator, scope and period of each of the indicator''s grains that has measurements or a target (kept by trigger; kpi.verify() checks it)';

-- ---------------------------------------------------------------------
-- kpi.scorecard: readable whatever the data (a period in year 1 has no
-- previous period), pace with day boundaries in the company's zone.
-- ---------------------------------------------------------------------

CREATE OR REPLACE VIEW kpi.scorecard AS
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
            THEN kpi.pace(cur.value, cur.goal, kpi.progress(cur.period, pg_catalog.now(), kpi.time_zone()))::numeric END AS pace,
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
                 AND prev.period OPERATOR(kpi.=) CASE WHEN kpi.start_date(cur.period) OPERATOR(pg_catalog.>) '0001-01-01'::date
                     THEN kpi.period((kpi.start_date(cur.period) OPERATOR(pg_catalog.-) 1), kpi.grain(cur.period)) END
LEFT JOIN sa ly ON ly.indicator_id OPERATOR(pg_catalog.=) cur.indicator_id
               AND ly.scope_id OPERATOR(pg_catalog.=) cur.scope_id
               AND ly.period OPERATOR(kpi.=) CASE WHEN kpi.start_date(cur.period) OPERATOR(pg_catalog.>=) '0002-01-01'::date
                   THEN kpi.period((kpi.start_date(cur.period) OPERATOR(pg_catalog.-) '1 year'::interval)::date, kpi.grain(cur.period)) END
WHERE i.lifecycle OPERATOR(pg_catalog.<>) 'retired';

-- ---------------------------------------------------------------------
-- kpi.verify(): every disagreement between derived and source state;
-- kpi.repair(): fix what it reports.  See docs/operations.md.
-- ---------------------------------------------------------------------

ALTER TABLE kpi.alert_event DROP CONSTRAINT alert_event_kind_check;
ALTER TABLE kpi.alert_event ADD CONSTRAINT alert_event_kind_check
    CHECK (kind IN ('raise', 'worsen', 'improve', 'repeat', 'escalate',
                    'claim', 'ack', 'resolve', 'recover', 'repair'));

CREATE FUNCTION kpi.verify()
    RETURNS TABLE (problem text, indicator text, scope text, period text, detail text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH z AS (SELECT kpi.time_zone() AS zone),
    -- every measurement summarised afresh at its indicator's grains
    summed AS (
        SELECT m.indicator_id, m.scope_id, kpi.period(m.at, g.grain, z.zone) AS period,
               kpi.tally(m.value, m.at) FILTER (WHERE m.denominator IS NULL) AS t1,
               kpi.tally(m.value, m.denominator, m.at) FILTER (WHERE m.denominator IS NOT NULL) AS t2
        FROM kpi.measurement m
        JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
        CROSS JOIN LATERAL pg_catalog.unnest(i.grains) AS g(grain)
        CROSS JOIN z
        GROUP BY 1, 2, 3),
    fresh AS (
        SELECT coalesce(s.indicator_id, t.indicator_id) AS indicator_id,
               coalesce(s.scope_id, t.scope_id) AS scope_id,
               coalesce(s.period, t.period) AS period,
               coalesce(s.t1 OPERATOR(kpi.+) s.t2, s.t1, s.t2) AS tally
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
        WHERE i.agg OPERATOR(pg_catalog.=) 'ratio' AND m.denominator IS NULL),
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
        WHERE last_event.state IS DISTINCT FROM a.state OR raised.n OPERATOR(pg_catalog.<>) 1),
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
    'every disagreement between derived and source state (kpi.actual against a fresh computation, data rules, alert invariants, history against current rows); no rows when all is well';

CREATE FUNCTION kpi.repair()
    RETURNS TABLE (problem text, indicator text, scope text, period text, action text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1
AS $$
DECLARE
    v record;
    rebuilt bigint[] := '{}';
    ind bigint;
BEGIN
    FOR v IN SELECT * FROM kpi.verify() LOOP
        problem := v.problem; indicator := v.indicator; scope := v.scope; period := v.period;
        ind := (SELECT i.id FROM kpi.indicator i WHERE i.code OPERATOR(pg_catalog.=) v.indicator);
        IF v.problem LIKE 'actual %' THEN
            IF ind IS NULL OR ind OPERATOR(pg_catalog.=) ANY (rebuilt) THEN
                action := 'rebuilt with its indicator';
            ELSE
                PERFORM kpi.actual_rebuild(ind);
                rebuilt := rebuilt OPERATOR(pg_catalog.||) ind;
                action := format('rebuilt kpi.actual for indicator %s', v.indicator);
            END IF;
        ELSIF v.problem OPERATOR(pg_catalog.=) 'indicator history' THEN
            INSERT INTO kpi.indicator_history (indicator_id, op, old_row, new_row)
            SELECT coalesce(ind, h.indicator_id),
                   CASE WHEN ind IS NULL THEN 'DELETE' WHEN h.new_row IS NULL THEN 'INSERT' ELSE 'UPDATE' END,
                   h.new_row, (SELECT pg_catalog.to_jsonb(i) FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) ind)
            FROM (SELECT NULL::bigint AS indicator_id, NULL::jsonb AS new_row) d
            LEFT JOIN LATERAL (SELECT x.indicator_id, x.new_row FROM kpi.indicator_history x
                               WHERE x.indicator_id OPERATOR(pg_catalog.=) ind
                                  OR (ind IS NULL AND x.new_row OPERATOR(pg_catalog.->>) 'code' OPERATOR(pg_catalog.=) v.indicator)
                               ORDER BY x.id DESC LIMIT 1) h ON true;
            action := 'logged the indicator''s current state in kpi.indicator_history';
        ELSIF v.problem OPERATOR(pg_catalog.=) 'target history' THEN
            INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op, old_goal, new_goal, note)
            SELECT coalesce(t.id, h.target_id), coalesce(t.indicator_id, h.indicator_id),
                   coalesce(t.scope_id, h.scope_id), coalesce(t.period, h.period),
                   CASE WHEN t.id IS NULL THEN 'DELETE' WHEN h.target_id IS NULL THEN 'INSERT' ELSE 'UPDATE' END,
                   h.new_goal, t.goal, 'kpi.repair()'
            FROM (SELECT x.* FROM kpi.target x
                  WHERE x.indicator_id OPERATOR(pg_catalog.=) ind
                    AND x.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope)
                    AND x.period OPERATOR(kpi.=) v.period::kpi.period) t
            FULL JOIN (SELECT DISTINCT ON (x.target_id) x.* FROM kpi.target_history x
                       WHERE x.indicator_id OPERATOR(pg_catalog.=) ind
                         AND x.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope)
                         AND x.period OPERATOR(kpi.=) v.period::kpi.period
                       ORDER BY x.target_id, x.id DESC) h ON h.target_id OPERATOR(pg_catalog.=) t.id;
            action := 'logged the target''s current state in kpi.target_history';
        ELSIF v.problem OPERATOR(pg_catalog.=) 'alert state' THEN
            UPDATE kpi.alert a
            SET resolved_at = CASE WHEN a.state OPERATOR(pg_catalog.=) 'resolved' THEN coalesce(a.resolved_at, a.updated_at) END,
                acked_at = CASE WHEN a.state OPERATOR(pg_catalog.=) 'acked' THEN coalesce(a.acked_at, a.updated_at) ELSE a.acked_at END
            WHERE a.indicator_id OPERATOR(pg_catalog.=) ind AND a.period OPERATOR(kpi.=) v.period::kpi.period
              AND a.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope)
              AND ((a.state OPERATOR(pg_catalog.=) 'resolved') OPERATOR(pg_catalog.<>) (a.resolved_at IS NOT NULL)
                   OR (a.state OPERATOR(pg_catalog.=) 'acked' AND a.acked_at IS NULL));
            action := 'set the alert''s timestamps from its state';
        ELSIF v.problem OPERATOR(pg_catalog.=) 'alert events' THEN
            INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
            SELECT a.id, 'repair', CURRENT_USER, a.state, a.severity, a.value, a.attainment,
                   'kpi.repair(): the events did not end in the alert''s state'
            FROM kpi.alert a
            WHERE a.indicator_id OPERATOR(pg_catalog.=) ind AND a.period OPERATOR(kpi.=) v.period::kpi.period
              AND a.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope);
            action := 'logged a repair event with the alert''s state';
        ELSE
            action := 'not repaired: ' || v.detail || ' (a decision for a person: fix the data, then run kpi.verify())';
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION kpi.repair() IS
    'owner only: fix what kpi.verify() reports (rebuild kpi.actual, log missing history, align alert bookkeeping) and return what was done';
REVOKE EXECUTE ON FUNCTION kpi.repair() FROM PUBLIC;

-- ---------------------------------------------------------------------
-- The settings are dumped; kpi.actual (derived) is not.  Bring kpi.actual
-- to the new rules: the zone of the session that upgrades (usually the
-- server's) becomes the company's, so the existing buckets stay, and every
-- key is rebuilt (target-only keys appear; tallies keep ratio sums).
-- ---------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('kpi.setting', '');

ALTER TABLE kpi.setting DISABLE TRIGGER setting_sync;
INSERT INTO kpi.setting (name, value)
SELECT 'time_zone', z.name
FROM pg_catalog.pg_timezone_names z
WHERE z.name OPERATOR(pg_catalog.=) pg_catalog.current_setting('TimeZone')
  AND z.name OPERATOR(pg_catalog.<>) 'UTC'
  AND EXISTS (SELECT FROM kpi.measurement);
ALTER TABLE kpi.setting ENABLE TRIGGER setting_sync;
SELECT kpi.actual_rebuild(NULL);
