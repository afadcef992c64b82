#!/usr/bin/env bash
# Fuzz test of the types' text input (test/fuzz/input.sql): no crash, no
# undocumented SQLSTATE, and every accepted value round-trips.  Runs against
# the cluster test.sh started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=notice" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
psql_q -d postgres -c "DROP DATABASE IF EXISTS kpi_fuzz" -c "CREATE DATABASE kpi_fuzz" 2>/dev/null
psql_q -d kpi_fuzz -c "CREATE EXTENSION kpi"
psql_q -d kpi_fuzz -f "$KPI_ROOT/test/fuzz/input.sql" >"$out" 2>&1 || { cat "$out"; exit 1; }
psql_q -d postgres -c "DROP DATABASE kpi_fuzz"
if grep -q 'FUZZ' "$out"; then
    grep 'FUZZ' "$out" | head -20
    exit 1
fi
sed -n 's/.*NOTICE:  //p' "$out"
