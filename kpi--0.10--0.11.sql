-- kpi 0.10 -> 0.11: kpi.measurement partitioned by time.
--
--   kpi.measurement becomes a table partitioned by range of `at`.  The
--   table of 0.10 stays, unchanged and without a rewrite, as its DEFAULT
--   partition kpi.measurement_default: every row is where it was, and an
--   installation that never adds a partition works as before.  Partitions
--   are ordinary PostgreSQL partitions, made by the owner (by hand or with
--   pg_partman): everything kpi needs is on kpi.measurement and reaches
--   them (docs/sources.md#years-of-data-partitions).
--
--   Writers write kpi.measurement, as before; its statement triggers keep
--   kpi.actual for rows of every partition.  A dump loads the rows of a
--   partition made outside the extension straight into that partition:
--   the row trigger kpi.measurement_restore_row(), which PostgreSQL
--   clones onto every partition, folds those rows into kpi.actual in a
--   restore session (kpi.restore_guard() now marks the statements that its
--   own tables' triggers take care of).  A MERGE that moves rows between
--   partitions is kept right by the row trigger kpi.measurement_moved_row().
--
--   One thing no longer works: INSERT ... ON CONFLICT (id) on
--   kpi.measurement.  A table partitioned by `at` has no unique key on id
--   alone, and kpi.measurement has no index of its own (each partition
--   has its primary key on id): upsert by id with MERGE.
\echo Use "ALTER EXTENSION kpi UPDATE TO '0.11'" to load this file. \quit

-- ---------------------------------------------------------------------
-- 1. What refers to kpi.measurement by its OID, kept as text to be
--    created again on the new table (SQL-standard bodies and a view
--    resolve their tables when created), and the privileges on it
-- ---------------------------------------------------------------------
SELECT pg_catalog.set_config('kpi.upgrade_defs', pg_catalog.string_agg(d, E'\x1e' ORDER BY o), true)
FROM (SELECT 1 AS o, pg_catalog.pg_get_functiondef(
                 'kpi.record(text,text,double precision,timestamp with time zone,text)'::pg_catalog.regprocedure) AS d
      UNION ALL
      SELECT 2, pg_catalog.pg_get_functiondef(
                 'kpi.record_ratio(text,text,double precision,double precision,timestamp with time zone,text)'::pg_catalog.regprocedure)
      UNION ALL
      SELECT 3, pg_catalog.pg_get_functiondef('kpi.verify()'::pg_catalog.regprocedure)
      UNION ALL
      SELECT 4, 'CREATE OR REPLACE VIEW kpi.checkin WITH (security_invoker = true) AS '
                || pg_catalog.rtrim(pg_catalog.pg_get_viewdef('kpi.checkin'::pg_catalog.regclass), ';')) defs;
SELECT pg_catalog.set_config('kpi.upgrade_grants', coalesce(pg_catalog.string_agg(g, ';'), ''), true)
FROM (SELECT pg_catalog.format('GRANT %s ON TABLE kpi.measurement TO %s%s', a.privilege_type,
                               CASE WHEN a.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(a.grantee)) END,
                               CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) AS g
      FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
      WHERE c.oid OPERATOR(pg_catalog.=) 'kpi.measurement'::pg_catalog.regclass
        AND a.grantee OPERATOR(pg_catalog.<>) c.relowner) grants;

-- ---------------------------------------------------------------------
-- 2. The table of 0.10 becomes the default partition
-- ---------------------------------------------------------------------
ALTER TABLE kpi.measurement RENAME TO measurement_default;
ALTER INDEX kpi.measurement_pkey RENAME TO measurement_default_pkey;
ALTER INDEX kpi.measurement_key_at RENAME TO measurement_default_key_at;
-- writers write kpi.measurement; the partition is the owner's storage
DO $$
DECLARE
    g record;
BEGIN
    FOR g IN SELECT DISTINCT a.grantee FROM pg_catalog.pg_class c, pg_catalog.aclexplode(c.relacl) a
             WHERE c.oid OPERATOR(pg_catalog.=) 'kpi.measurement_default'::pg_catalog.regclass
               AND a.grantee OPERATOR(pg_catalog.<>) c.relowner LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON TABLE kpi.measurement_default FROM %s',
                                  CASE WHEN g.grantee OPERATOR(pg_catalog.=) 0 THEN 'PUBLIC'
                                       ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(g.grantee)) END);
    END LOOP;
END
$$;
-- what it does not need as a partition: the parent's triggers lock and
-- queue for the statements that reach it through kpi.measurement
DROP TRIGGER lock_for_change ON kpi.measurement_default;
DROP TRIGGER alert_inputs_truncate ON kpi.measurement_default;

-- ---------------------------------------------------------------------
-- 3. kpi.measurement, partitioned by range of `at`
-- ---------------------------------------------------------------------
-- The same columns, defaults, checks and column comments.  No index on
-- the parent: a partitioned table's indexes are cloned onto a partition
-- when it is attached, and pg_dump, which leaves the extension's own
-- objects to CREATE EXTENSION, would create them a second time on restore.
-- Each partition has its own primary key on id and its own index on
-- (indicator_id, scope_id, at), as the default partition keeps from 0.10.
CREATE TABLE kpi.measurement (
    LIKE kpi.measurement_default INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING COMMENTS,
    CONSTRAINT measurement_indicator_id_fkey FOREIGN KEY (indicator_id) REFERENCES kpi.indicator (id),
    CONSTRAINT measurement_scope_id_fkey FOREIGN KEY (scope_id) REFERENCES kpi.scope (id)
) PARTITION BY RANGE (at);
ALTER SEQUENCE kpi.measurement_id_seq OWNED BY kpi.measurement.id;
-- the privileges a fresh install has on it, to be its initial privileges
-- below (pg_dump writes out only the grants made since)
SELECT pg_catalog.set_config('kpi.upgrade_initprivs', coalesce(
           (SELECT i.initprivs::text FROM pg_catalog.pg_init_privs i
            WHERE i.objoid OPERATOR(pg_catalog.=) 'kpi.measurement'::pg_catalog.regclass
              AND i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
              AND i.objsubid OPERATOR(pg_catalog.=) 0), ''), true);
COMMENT ON TABLE kpi.measurement IS
    'recorded values (actuals and check-ins); kpi.actual follows it by trigger; partitioned by range of at (kpi.measurement_default holds what no partition takes)';
COMMENT ON TABLE kpi.measurement_default IS
    'the default partition of kpi.measurement (write kpi.measurement, not the partition)';
-- The default partition keeps its rows, its primary key, its index and
-- its statement triggers.  PostgreSQL 16.2 refuses to attach a table that
-- has statement triggers with transition tables (it takes them for row
-- triggers; later minor releases do not), so those three are made again
-- once it is attached (below).
DROP TRIGGER measurement_sync_insert ON kpi.measurement_default;
DROP TRIGGER measurement_sync_update ON kpi.measurement_default;
DROP TRIGGER measurement_sync_delete ON kpi.measurement_default;
ALTER TABLE kpi.measurement ATTACH PARTITION kpi.measurement_default DEFAULT;

ALTER TABLE kpi.measurement ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.measurement
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));

-- The triggers of 0.10, on the parent: statement triggers fire for the
-- statements that name kpi.measurement, whatever partition the rows go to.
-- The three with transition tables also go back on the default partition.
DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['measurement', 'measurement_default'] LOOP
        EXECUTE pg_catalog.format('CREATE TRIGGER measurement_sync_insert AFTER INSERT ON kpi.%I'
                                  ' REFERENCING NEW TABLE AS kpi_new_rows'
                                  ' FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync()', t);
        EXECUTE pg_catalog.format('CREATE TRIGGER measurement_sync_update AFTER UPDATE ON kpi.%I'
                                  ' REFERENCING OLD TABLE AS kpi_old_rows NEW TABLE AS kpi_new_rows'
                                  ' FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync()', t);
        EXECUTE pg_catalog.format('CREATE TRIGGER measurement_sync_delete AFTER DELETE ON kpi.%I'
                                  ' REFERENCING OLD TABLE AS kpi_old_rows'
                                  ' FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync()', t);
        EXECUTE pg_catalog.format('ALTER TABLE kpi.%I ENABLE ALWAYS TRIGGER measurement_sync_insert,'
                                  ' ENABLE ALWAYS TRIGGER measurement_sync_update,'
                                  ' ENABLE ALWAYS TRIGGER measurement_sync_delete', t);
    END LOOP;
END
$$;
CREATE TRIGGER measurement_sync_truncate AFTER TRUNCATE ON kpi.measurement
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_truncate;
CREATE TRIGGER lock_for_change BEFORE UPDATE OR DELETE OR TRUNCATE ON kpi.measurement
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.lock_for_change();
CREATE TRIGGER alert_inputs_truncate AFTER TRUNCATE ON kpi.measurement
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.alert_inputs();
CREATE TRIGGER restore_begin BEFORE INSERT ON kpi.measurement
    FOR EACH STATEMENT WHEN (kpi.in_restore()) EXECUTE FUNCTION kpi.restore_guard();
CREATE TRIGGER zz_restore_end AFTER INSERT ON kpi.measurement
    FOR EACH STATEMENT WHEN (kpi.in_restore()) EXECUTE FUNCTION kpi.restore_guard();
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER zz_restore_end;

-- ---------------------------------------------------------------------
-- 4. Rows a restore loads straight into a partition
-- ---------------------------------------------------------------------
-- kpi.restore_guard(): as in 0.8.1, and it marks the statements of a
-- restore that kpi's statement triggers take care of (kpi.restore_statement).
CREATE OR REPLACE FUNCTION kpi.restore_guard()
    RETURNS trigger
    LANGUAGE plpgsql
    SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- BEFORE the statement: origin -> replica; AFTER it: back
    from_role text := CASE TG_WHEN WHEN 'BEFORE' THEN 'origin' ELSE 'replica' END;
    to_role text := CASE TG_WHEN WHEN 'BEFORE' THEN 'replica' ELSE 'origin' END;
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'trigger_protocol_violated',
            MESSAGE = 'kpi.restore_guard() fires only FOR EACH STATEMENT on kpi''s tables';
    END IF;
    IF kpi.in_restore() THEN
        IF pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) from_role THEN
            PERFORM pg_catalog.set_config('session_replication_role', to_role, false);
        END IF;
        PERFORM pg_catalog.set_config('kpi.restore_statement',
                                      CASE TG_WHEN WHEN 'BEFORE' THEN 'on' ELSE 'off' END, false);
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION kpi.measurement_restore_row() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_measurement_restore_row'
    LANGUAGE C;
COMMENT ON FUNCTION kpi.measurement_restore_row() IS
    'trigger: in a dump-restore session, fold a row loaded straight into a partition of kpi.measurement into kpi.actual';
REVOKE EXECUTE ON FUNCTION kpi.measurement_restore_row() FROM PUBLIC;
-- a row trigger on a partitioned table is cloned onto every partition,
-- made now or later, by hand, by pg_partman or by a restore
CREATE TRIGGER measurement_restore_row BEFORE INSERT ON kpi.measurement
    FOR EACH ROW WHEN (kpi.in_restore()) EXECUTE FUNCTION kpi.measurement_restore_row();
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_restore_row;

-- A MERGE that moves a row to another partition leaves it out of the
-- statement's transition tables (PostgreSQL 15 to 18: its old version
-- always, its new one when the MERGE has no INSERT action): the row
-- trigger that sees the old version keeps the row for the statement
-- triggers, which recompute its old keys and the keys it has now.
CREATE FUNCTION kpi.measurement_moved_row() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_measurement_moved_row'
    LANGUAGE C;
COMMENT ON FUNCTION kpi.measurement_moved_row() IS
    'trigger: keep the old version of a measurement deleted or moved to another partition, for the statement triggers of kpi.measurement';
REVOKE EXECUTE ON FUNCTION kpi.measurement_moved_row() FROM PUBLIC;
CREATE TRIGGER measurement_moved_row AFTER DELETE ON kpi.measurement
    FOR EACH ROW EXECUTE FUNCTION kpi.measurement_moved_row();
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_moved_row;

-- ---------------------------------------------------------------------
-- 5. kpi.measurement_partition(): a partition made from the default one
-- ---------------------------------------------------------------------
-- A partition cannot be attached while the default partition holds rows of
-- its range.  This makes the partition, with the primary key and index
-- every partition keeps, moves those rows into it (the same rows: the
-- default partition's delete trigger is off meanwhile, so kpi.actual stays
-- as it is) and attaches it, in one transaction.  Run by the owner.
CREATE FUNCTION kpi.measurement_partition(name text, from_at timestamptz, to_at timestamptz)
    RETURNS regclass
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    part regclass;
BEGIN
    IF name IS NULL OR from_at IS NULL OR to_at IS NULL OR NOT from_at OPERATOR(pg_catalog.<) to_at THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'kpi.measurement_partition needs a name and a range from_at < to_at';
    END IF;
    -- writers of kpi.measurement wait until the partition is in place
    LOCK TABLE kpi.measurement IN SHARE ROW EXCLUSIVE MODE;
    EXECUTE pg_catalog.format('CREATE TABLE kpi.%I (LIKE kpi.measurement INCLUDING DEFAULTS INCLUDING CONSTRAINTS, '
                              'PRIMARY KEY (id))', name);
    part := pg_catalog.format('kpi.%I', name)::pg_catalog.regclass;
    EXECUTE pg_catalog.format('CREATE INDEX ON %s (indicator_id, scope_id, at)', part);
    ALTER TABLE kpi.measurement_default DISABLE TRIGGER measurement_sync_delete;
    EXECUTE pg_catalog.format('WITH moved AS (DELETE FROM kpi.measurement_default m'
                              ' WHERE m.at OPERATOR(pg_catalog.>=) $1 AND m.at OPERATOR(pg_catalog.<) $2 RETURNING m.*)'
                              ' INSERT INTO %s SELECT * FROM moved', part) USING from_at, to_at;
    ALTER TABLE kpi.measurement_default ENABLE ALWAYS TRIGGER measurement_sync_delete;
    EXECUTE pg_catalog.format('ALTER TABLE kpi.measurement ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)',
                              part, from_at, to_at);
    RETURN part;
END
$$;
COMMENT ON FUNCTION kpi.measurement_partition(text, timestamptz, timestamptz) IS
    'owner: make partition kpi.<name> of kpi.measurement for [from_at, to_at), moving its rows out of the default partition (kpi.actual does not change)';
REVOKE EXECUTE ON FUNCTION kpi.measurement_partition(text, timestamptz, timestamptz) FROM PUBLIC;

-- ---------------------------------------------------------------------
-- 6. What referred to the table of 0.10, created again on kpi.measurement,
--    and the privileges given back
-- ---------------------------------------------------------------------
DO $$
DECLARE
    s text;
BEGIN
    FOREACH s IN ARRAY pg_catalog.string_to_array(pg_catalog.current_setting('kpi.upgrade_defs'), E'\x1e') LOOP
        EXECUTE s;
    END LOOP;
    FOREACH s IN ARRAY pg_catalog.string_to_array(pg_catalog.current_setting('kpi.upgrade_grants'), ';') LOOP
        EXECUTE s;
    END LOOP;
    -- A GRANT run by an extension script counts as the object's initial
    -- privilege, which pg_dump leaves to CREATE EXTENSION: the grants given
    -- back above would be lost by a dump and restore.  They are the
    -- administrator's, so the initial privileges go back to a fresh
    -- install's.
    IF pg_catalog.current_setting('kpi.upgrade_initprivs') OPERATOR(pg_catalog.=) '' THEN
        DELETE FROM pg_catalog.pg_init_privs i
        WHERE i.objoid OPERATOR(pg_catalog.=) 'kpi.measurement'::pg_catalog.regclass
          AND i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
          AND i.objsubid OPERATOR(pg_catalog.=) 0;
    ELSE
        UPDATE pg_catalog.pg_init_privs i
        SET initprivs = pg_catalog.current_setting('kpi.upgrade_initprivs')::pg_catalog.aclitem[]
        WHERE i.objoid OPERATOR(pg_catalog.=) 'kpi.measurement'::pg_catalog.regclass
          AND i.classoid OPERATOR(pg_catalog.=) 'pg_catalog.pg_class'::pg_catalog.regclass
          AND i.objsubid OPERATOR(pg_catalog.=) 0;
    END IF;
END
$$;
