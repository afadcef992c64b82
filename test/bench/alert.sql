-- Benchmark: the cost of the measurement trigger (kpi.actual upkeep in C,
-- plus the alert judgement of the written leaf keys, set-based SQL, once
-- per statement) on inserts of 100k measurements over 1,000 indicator x
-- scope keys with targets and alert rules, against
--   (a) the same insert with the kpi triggers disabled (bare insert), and
--   (b) an equivalent row-level PL/pgSQL trigger (per row and grain: upsert
--       the tally, evaluate attainment and status, look for the rule and the
--       open alert, raise when bad).
-- Loads are one INSERT of 100k rows, and 100 INSERTs of 1,000 rows.
-- Prints best-of-3 wall times in ms (one run for the slow PL/pgSQL trigger)
-- and ratios.  Never fails on speed.
\set QUIET on
\ir _lib.sql
SET client_min_messages = warning;
DROP DATABASE IF EXISTS kpi_bench_alert;
CREATE DATABASE kpi_bench_alert;
\c kpi_bench_alert
\ir _lib.sql
SET client_min_messages = warning;
CREATE EXTENSION kpi;
SET timezone = 'UTC';

-- 100 indicators x 10 scopes; month targets for July 2026 on every key;
-- one alert rule per indicator (every scope)
INSERT INTO kpi.scope (code, name) VALUES ('hq', 'HQ');
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'hq.s' || s, 'Scope ' || s, kpi.scope_id('hq') FROM generate_series(1, 10) s;
INSERT INTO kpi.indicator (code, name, owner)
SELECT 'b.i' || i, 'Indicator ' || i, 'owner' || i FROM generate_series(1, 100) i;
INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
SELECT i.id, s.id, '2026-07', '>= 50000' FROM kpi.indicator i, kpi.scope s WHERE s.parent_id IS NOT NULL;
INSERT INTO kpi.alert_rule (indicator_id, recovery_margin) SELECT id, 0.05 FROM kpi.indicator;

-- the rows to load: 100 per key, values 1..100, so every key goes from red
-- towards green and raises an alert along the way
CREATE UNLOGGED TABLE bench_rows AS
SELECT i.id AS indicator_id, s.id AS scope_id,
       timestamptz '2026-07-01' + (n * interval '7 hours') AS at, (n % 100 + 1)::float8 AS value, n
FROM kpi.indicator i, kpi.scope s, generate_series(1, 100) n
WHERE s.parent_id IS NOT NULL;
CREATE INDEX ON bench_rows (n);
ANALYZE bench_rows;

-- the PL/pgSQL equivalent of the C trigger, row by row
CREATE FUNCTION bench_plpgsql_sync() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    g text;
    p kpi.period;
    rule kpi.alert_rule;
    att float8;
    st kpi.status;
    open_id bigint;
BEGIN
    FOREACH g IN ARRAY (SELECT grains FROM kpi.indicator WHERE id = NEW.indicator_id) LOOP
        p := kpi.period(NEW.at, g);
        INSERT INTO kpi.actual AS a (indicator_id, scope_id, period, tally)
        VALUES (NEW.indicator_id, NEW.scope_id, p, kpi.tally_add('count=0'::kpi.tally, NEW.value, NEW.at))
        ON CONFLICT (indicator_id, scope_id, period)
        DO UPDATE SET tally = kpi.tally_add(a.tally, NEW.value, NEW.at);
        UPDATE kpi.actual a
        SET (value, target, attainment, status) = (
            SELECT kpi.value(a.tally, i.agg), kpi.target(t.goal), kpi.attainment(kpi.value(a.tally, i.agg), t.goal),
                   kpi.status(kpi.attainment(kpi.value(a.tally, i.agg), t.goal), i.bands)
            FROM kpi.indicator i LEFT JOIN kpi.target t
              ON t.indicator_id = i.id AND t.scope_id = a.scope_id AND t.period OPERATOR(kpi.=) a.period
            WHERE i.id = a.indicator_id)
        WHERE a.indicator_id = NEW.indicator_id AND a.scope_id = NEW.scope_id AND a.period OPERATOR(kpi.=) p
        RETURNING a.attainment, a.status INTO att, st;
        SELECT * INTO rule FROM kpi.alert_rule r
        WHERE r.indicator_id = NEW.indicator_id AND (r.scope_id IS NULL OR r.scope_id = NEW.scope_id) AND r.enabled
        ORDER BY r.scope_id NULLS LAST LIMIT 1;
        CONTINUE WHEN rule.id IS NULL OR att IS NULL;
        SELECT id INTO open_id FROM kpi.alert
        WHERE indicator_id = NEW.indicator_id AND scope_id = NEW.scope_id AND period OPERATOR(kpi.=) p
          AND state <> 'resolved' FOR UPDATE;
        IF st <= rule.raise_at THEN
            IF open_id IS NULL THEN
                INSERT INTO kpi.alert (indicator_id, scope_id, period, rule_id, severity, value, attainment)
                VALUES (NEW.indicator_id, NEW.scope_id, p, rule.id, st, NEW.value, att)
                RETURNING id INTO open_id;
                INSERT INTO kpi.alert_event (alert_id, kind, state, severity) VALUES (open_id, 'raise', 'open', st);
                PERFORM pg_notify('kpi_alert', open_id::text);
            ELSE
                UPDATE kpi.alert SET severity = st, attainment = att WHERE id = open_id AND severity <> st;
            END IF;
        ELSIF open_id IS NOT NULL AND att >= 1 + rule.recovery_margin THEN
            UPDATE kpi.alert SET state = 'resolved', resolved_by = 'kpi', resolved_at = now() WHERE id = open_id;
        END IF;
    END LOOP;
    RETURN NULL;
END $$;

CREATE FUNCTION pg_temp.reset() RETURNS void LANGUAGE sql AS $$
    TRUNCATE kpi.measurement, kpi.actual, kpi.alert, kpi.alert_event, kpi.alert_queue CASCADE;
$$;
CREATE FUNCTION pg_temp.set_mode(mode text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    DROP TRIGGER IF EXISTS bench_plpgsql ON kpi.measurement;
    IF mode = 'c' THEN
        ALTER TABLE kpi.measurement ENABLE TRIGGER USER;
    ELSE
        ALTER TABLE kpi.measurement DISABLE TRIGGER USER;
        IF mode = 'plpgsql' THEN
            CREATE TRIGGER bench_plpgsql AFTER INSERT ON kpi.measurement
                FOR EACH ROW EXECUTE FUNCTION bench_plpgsql_sync();
        END IF;
    END IF;
END $$;

-- one load: one INSERT of 100k rows, or 100 INSERTs of 1,000 rows each in
-- its own transaction, as 100 clients' batches would arrive
CREATE PROCEDURE pg_temp.load(batched boolean) LANGUAGE plpgsql AS $$
DECLARE b int;
BEGIN
    IF batched THEN
        FOR b IN 0 .. 99 LOOP
            INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
            SELECT indicator_id, scope_id, at, value FROM bench_rows WHERE n % 100 = b;
            COMMIT;
        END LOOP;
    ELSE
        INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
        SELECT indicator_id, scope_id, at, value FROM bench_rows;
    END IF;
END $$;

CREATE UNLOGGED TABLE bench_results (load text, mode text, ms float8, actual_rows bigint, alerts bigint);
DO $$
DECLARE
    m text;
    b boolean;
    best float8;
    t0 timestamptz;
    i int;
BEGIN
    FOREACH m IN ARRAY ARRAY['bare', 'c', 'plpgsql'] LOOP
        PERFORM pg_temp.set_mode(m);
        COMMIT;
        FOREACH b IN ARRAY ARRAY[false, true] LOOP
            best := 'Infinity';
            FOR i IN 1 .. CASE WHEN m = 'plpgsql' THEN 1 ELSE 3 END LOOP
                PERFORM pg_temp.reset();
                COMMIT;
                t0 := clock_timestamp();
                CALL pg_temp.load(b);
                best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
            END LOOP;
            INSERT INTO bench_results VALUES (CASE WHEN b THEN '100 x 1,000 rows' ELSE '1 x 100,000 rows' END, m,
                                        round(best::numeric, 1), (SELECT count(*) FROM kpi.actual),
                                        (SELECT count(*) FROM kpi.alert));
        END LOOP;
    END LOOP;
    PERFORM pg_temp.set_mode('c');
END $$;

\echo 'trigger cost: 100,000 measurements over 1,000 keys (3 grains, targets, 100 alert rules), ms'
SELECT r.load, r.mode, r.ms, r.actual_rows, r.alerts,
       round((r.ms / bare.ms)::numeric, 2) AS x_bare,
       CASE WHEN r.mode = 'c' THEN round((pl.ms / r.ms)::numeric, 1) END AS plpgsql_over_c
FROM bench_results r
JOIN bench_results bare ON bare.load = r.load AND bare.mode = 'bare'
JOIN bench_results pl ON pl.load = r.load AND pl.mode = 'plpgsql'
ORDER BY r.load, array_position(ARRAY['bare', 'c', 'plpgsql'], r.mode);

\c postgres
SET client_min_messages = warning;
DROP DATABASE kpi_bench_alert;
