#!/usr/bin/env bash
# Dump/restore test: pg_dump of a database with the demo company, restored
# into a new database, gives the same dictionary, targets, measurements,
# actuals and the same kpi.rollup.  Runs against the cluster test.sh started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

for db in kpi_dump_src kpi_dump_dst; do
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
done
psql_q -d kpi_dump_src -c "CREATE EXTENSION kpi" >/dev/null
(cd "$KPI_ROOT/test/demo" && psql_q -d kpi_dump_src -f company.sql >/dev/null)

snapshot() {
    psql_q -At -d "$1" <<'SQL'
SET timezone = 'UTC';
SELECT 'indicator', count(*), md5(string_agg(i::text, ';' ORDER BY id)) FROM kpi.indicator i;
SELECT 'scope', count(*), md5(string_agg(s::text, ';' ORDER BY id)) FROM kpi.scope s;
SELECT 'link', count(*), md5(string_agg(l::text, ';' ORDER BY parent_id, child_id)) FROM kpi.link l;
SELECT 'target', count(*), md5(string_agg(t::text, ';' ORDER BY id)) FROM kpi.target t;
SELECT 'measurement', count(*), md5(string_agg(m::text, ';' ORDER BY id)) FROM kpi.measurement m;
SELECT 'actual', count(*), md5(string_agg(concat_ws('|', indicator_id, scope_id, period, tally, value, target,
                                                     attainment, status), ';' ORDER BY indicator_id, scope_id, period))
FROM kpi.actual;
SELECT 'rollup', r.* FROM kpi.rollup('2026-Q2') r;
SELECT 'rollup east', r.* FROM kpi.rollup('2026-06', (SELECT code FROM kpi.scope ORDER BY id OFFSET 1 LIMIT 1)) r;
SELECT 'sequence', nextval('kpi.measurement_id_seq') > (SELECT max(id) FROM kpi.measurement);
SQL
}
snapshot kpi_dump_src > "$work/src.txt"
# pg_dump warns about kpi.scope's self-referencing parent FK; rows of one
# table load in one COPY, whose FK checks run at its end, so it restores fine
"$BINDIR/pg_dump" -Fc -f "$work/dump" kpi_dump_src 2>"$work/dump.log" || { cat "$work/dump.log"; exit 1; }
"$BINDIR/pg_restore" --exit-on-error -d kpi_dump_dst "$work/dump"
snapshot kpi_dump_dst > "$work/dst.txt"
if ! diff "$work/src.txt" "$work/dst.txt"; then
    echo "restored database differs from the original"
    exit 1
fi
grep -q '^rollup|' "$work/src.txt" || { echo "rollup returned no rows"; exit 1; }
for db in kpi_dump_src kpi_dump_dst; do psql_q -d postgres -c "DROP DATABASE $db"; done
echo "pg_dump/pg_restore keeps $(grep -c '^rollup' "$work/src.txt") rollup rows and every table identical"
