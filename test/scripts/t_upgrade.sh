#!/usr/bin/env bash
# Upgrade test: an install upgraded from the oldest release through every
# migration script must equal a fresh install of the newest release, and
# keep the data written at each release.  Runs against the cluster that
# test.sh started (PGHOST/PGPORT/PGUSER set).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

versions=$(ls "$KPI_ROOT"/kpi--*.sql | sed -n 's/.*kpi--\([0-9.]*\)\.sql$/\1/p' | sort -V)
oldest=$(echo "$versions" | head -1)
newest=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$KPI_ROOT/kpi.control")

for db in kpi_upgrade_fresh kpi_upgrade_old; do
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
done
psql_q -d kpi_upgrade_fresh -c "CREATE EXTENSION kpi"
psql_q -d kpi_upgrade_old -c "CREATE EXTENSION kpi VERSION '$oldest'"

# data written at the oldest release, in the user's own table
psql_q -d kpi_upgrade_old <<'SQL'
CREATE TABLE user_data (p kpi.period PRIMARY KEY, g kpi.goal, b kpi.bands);
INSERT INTO user_data VALUES ('2026-Q1', '>= 1200 from 1000', 'amber 0.8, green 1'),
                             ('2026-W53', '95 .. 105', 'green 1');
SQL

# step through every migration script, one release at a time
cur=$oldest
while [ "$cur" != "$newest" ]; do
    next=$(ls "$KPI_ROOT"/kpi--"$cur"--*.sql 2>/dev/null | sed -n "s/.*kpi--$cur--\([0-9.]*\)\.sql$/\1/p" | sort -V | tail -1)
    [ -n "$next" ] || { echo "no migration from $cur towards $newest"; exit 1; }
    psql_q -d kpi_upgrade_old -c "ALTER EXTENSION kpi UPDATE TO '$next'"
    cur=$next
done

# catalog-level comparison: every extension member, described
members() {
    psql_q -At -d "$1" -c "
        SELECT pg_describe_object(classid, objid, objsubid)
        FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'kpi'
        WHERE d.deptype = 'e' ORDER BY 1"
}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
members kpi_upgrade_fresh > "$work/members.fresh"
members kpi_upgrade_old > "$work/members.old"
[ -s "$work/members.fresh" ] || { echo "no extension members found"; exit 1; }
diff "$work/members.fresh" "$work/members.old" || { echo "extension members differ"; exit 1; }

# function definitions, comments, table definitions
defs() {
    psql_q -At -d "$1" -c "
        SELECT p.oid::regprocedure::text || ' ' || pg_get_functiondef(p.oid) || coalesce(obj_description(p.oid, 'pg_proc'), '')
        FROM pg_proc p WHERE p.pronamespace = 'kpi'::regnamespace AND p.prokind <> 'a'
        UNION ALL
        SELECT c.relname || ' ' || c.relkind::text || ' ' || coalesce(obj_description(c.oid, 'pg_class'), '') || ' ' ||
               (SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod) || ':' || a.attnotnull
                                  || ':' || coalesce(pg_get_expr(ad.adbin, ad.adrelid), ''), ',' ORDER BY a.attnum)
                FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped)
        FROM pg_class c WHERE c.relnamespace = 'kpi'::regnamespace
        UNION ALL
        SELECT 'view ' || c.relname || ' ' || pg_get_viewdef(c.oid)
        FROM pg_class c WHERE c.relnamespace = 'kpi'::regnamespace AND c.relkind = 'v'
        UNION ALL
        SELECT 'constraint ' || conrelid::regclass || ' ' || pg_get_constraintdef(oid)
        FROM pg_constraint WHERE connamespace = 'kpi'::regnamespace
        UNION ALL
        SELECT 'trigger ' || pg_get_triggerdef(t.oid) FROM pg_trigger t
        JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'kpi'::regnamespace AND NOT t.tgisinternal
        UNION ALL
        SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM pg_index i
        JOIN pg_class c ON c.oid = i.indrelid WHERE c.relnamespace = 'kpi'::regnamespace
        UNION ALL
        SELECT 'policy ' || p.polrelid::regclass::text || ' ' || p.polname || ' ' || p.polcmd::text || ' ' || p.polpermissive::text
               || ' ' || coalesce(pg_get_expr(p.polqual, p.polrelid), '') || ' ' || coalesce(pg_get_expr(p.polwithcheck, p.polrelid), '')
        FROM pg_policy p JOIN pg_class c ON c.oid = p.polrelid WHERE c.relnamespace = 'kpi'::regnamespace
        UNION ALL
        SELECT 'security ' || c.relname || ' ' || c.relrowsecurity::text || ' ' || c.relforcerowsecurity::text
               || ' ' || coalesce(array_to_string(c.reloptions, ','), '') || ' ' || coalesce(c.relacl::text, '')
        FROM pg_class c WHERE c.relnamespace = 'kpi'::regnamespace
        UNION ALL
        SELECT 'trigger-state ' || t.tgrelid::regclass::text || ' ' || t.tgname || ' ' || t.tgenabled::text
        FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid WHERE c.relnamespace = 'kpi'::regnamespace AND NOT t.tgisinternal
        UNION ALL
        SELECT 'column-comment ' || c.relname || '.' || a.attname || ' ' || coalesce(col_description(c.oid, a.attnum), '')
        FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE c.relnamespace = 'kpi'::regnamespace
        UNION ALL
        SELECT 'init-privs ' || pg_describe_object(i.classoid, i.objoid, i.objsubid) || ' ' || i.privtype::text || ' ' || i.initprivs::text
        FROM pg_init_privs i JOIN pg_depend d ON d.classid = i.classoid AND d.objid = i.objoid AND d.deptype = 'e'
        JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'kpi'
        UNION ALL
        SELECT 'acl ' || p.oid::regprocedure::text || ' ' || coalesce(p.proacl::text, '')
        FROM pg_proc p WHERE p.pronamespace = 'kpi'::regnamespace
        UNION ALL
        SELECT 'config ' || array_to_string(extconfig::regclass[], ',') || ' ' || array_to_string(extcondition, ',')
        FROM pg_extension WHERE extname = 'kpi'
        ORDER BY 1"
}
defs kpi_upgrade_fresh > "$work/defs.fresh"
defs kpi_upgrade_old > "$work/defs.old"
diff "$work/defs.fresh" "$work/defs.old" || { echo "upgraded definitions differ from a fresh install"; exit 1; }

# initial privileges (what pg_dump leaves to CREATE EXTENSION): the same
initprivs() {
    psql_q -At -d "$1" -c "
        SELECT pg_describe_object(classoid, objoid, objsubid) || ' ' || initprivs::text
        FROM pg_init_privs WHERE privtype = 'e' ORDER BY 1"
}
initprivs kpi_upgrade_fresh > "$work/initprivs.fresh"
initprivs kpi_upgrade_old > "$work/initprivs.old"
diff "$work/initprivs.fresh" "$work/initprivs.old" || { echo "upgraded initial privileges differ from a fresh install"; exit 1; }

# the data written at the oldest release is still there and still reads the same
got=$(psql_q -At -d kpi_upgrade_old -c "SELECT string_agg(p || '|' || g || '|' || b, ';' ORDER BY p) FROM user_data")
want='2026-Q1|>= 1200 from 1000|amber 0.8, green 1;2026-W53|95 .. 105|green 1'
[ "$got" = "$want" ] || { echo "user data changed across upgrade: $got"; exit 1; }

# a grant made by the administrator on kpi.measurement before 0.11, which
# re-creates the table: kept by the upgrade, off the partition, and written
# out by pg_dump (a grant an extension script runs would count as initial)
psql_q -d postgres -c "DROP DATABASE IF EXISTS kpi_upgrade_grant" -c "CREATE DATABASE kpi_upgrade_grant" \
    -c "DROP ROLE IF EXISTS kpi_upgrade_reader" -c "CREATE ROLE kpi_upgrade_reader"
psql_q -d kpi_upgrade_grant -c "CREATE EXTENSION kpi VERSION '0.10'" \
    -c "GRANT SELECT, INSERT ON kpi.measurement TO kpi_upgrade_reader" -c "ALTER EXTENSION kpi UPDATE TO '0.11'"
got=$(psql_q -At -d kpi_upgrade_grant -c "
    SELECT has_table_privilege('kpi_upgrade_reader', 'kpi.measurement', 'SELECT, INSERT')
           || ' ' || has_table_privilege('kpi_upgrade_reader', 'kpi.measurement_default', 'SELECT, INSERT')")
dumped=$("$BINDIR/pg_dump" -d kpi_upgrade_grant 2>/dev/null | grep -c 'ON TABLE kpi.measurement TO kpi_upgrade_reader' || true)
psql_q -d postgres -c "DROP DATABASE kpi_upgrade_grant" -c "DROP ROLE kpi_upgrade_reader"
[ "$got $dumped" = "true false 1" ] ||
    { echo "a grant on kpi.measurement across 0.11 (on it, on its partition, in pg_dump): $got $dumped, want true false 1"; exit 1; }

# a grant on a view the 0.7 migration made again (kpi.scorecard), given
# before it: written out by pg_dump after the upgrade to the newest
psql_q -d postgres -c "DROP DATABASE IF EXISTS kpi_upgrade_grant" -c "CREATE DATABASE kpi_upgrade_grant" \
    -c "DROP ROLE IF EXISTS kpi_upgrade_reader" -c "CREATE ROLE kpi_upgrade_reader"
psql_q -d kpi_upgrade_grant -c "CREATE EXTENSION kpi VERSION '0.6'" \
    -c "GRANT SELECT ON kpi.scorecard TO kpi_upgrade_reader" -c "ALTER EXTENSION kpi UPDATE TO '$newest'"
got=$(psql_q -At -d kpi_upgrade_grant -c "SELECT has_table_privilege('kpi_upgrade_reader', 'kpi.scorecard', 'SELECT')::text")
dumped=$("$BINDIR/pg_dump" -d kpi_upgrade_grant 2>/dev/null | grep -c 'ON TABLE kpi.scorecard TO kpi_upgrade_reader' || true)
psql_q -d postgres -c "DROP DATABASE kpi_upgrade_grant" -c "DROP ROLE kpi_upgrade_reader"
[ "$got $dumped" = "true 1" ] ||
    { echo "a grant on kpi.scorecard from 0.6 to $newest (kept, in pg_dump): $got $dumped, want true 1"; exit 1; }

for db in kpi_upgrade_fresh kpi_upgrade_old; do psql_q -d postgres -c "DROP DATABASE $db"; done
echo "upgrade $oldest -> $newest equals a fresh $newest install ($(wc -l < "$work/members.fresh") objects, $(wc -l < "$work/defs.fresh") definitions compared); data kept"
