#!/usr/bin/env bash
# Benchmark: single-row INSERTs into kpi.measurement (one statement and
# transaction each, as kpi.record from an application would do), 1 client,
# 5,000 statements over 1,000 keys with targets and alert rules: average
# latency with the kpi triggers disabled (bare) and enabled.  Never fails on
# speed.  Runs against the cluster bench.sh started (PGHOST etc. set).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
db=kpi_bench_single
export PGOPTIONS="-c client_min_messages=warning"
"$BINDIR/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
"$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d $db >/dev/null <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.scope (code, name) VALUES ('hq', 'HQ');
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'hq.s' || s, 'Scope ' || s, kpi.scope_id('hq') FROM generate_series(1, 10) s;
INSERT INTO kpi.indicator (code, name) SELECT 'b.i' || i, 'Indicator ' || i FROM generate_series(1, 100) i;
INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
SELECT i.id, s.id, '2026-07', '>= 50000' FROM kpi.indicator i, kpi.scope s WHERE s.parent_id IS NOT NULL;
INSERT INTO kpi.alert_rule (indicator_id, recovery_margin) SELECT id, 0.05 FROM kpi.indicator;
SQL
script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat > "$script" <<'SQL'
\set i random(1, 100)
\set s random(2, 11)
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value) VALUES (:i, :s, '2026-07-15', random() * 100);
SQL
echo "single-row INSERTs, 1 client, 5,000 statements (each its own transaction)"
printf '%-8s %16s\n' mode 'latency (ms)'
for mode in bare c; do
    if [ $mode = bare ]; then action=DISABLE; else action=ENABLE; fi
    "$BINDIR/psql" -X -q -d $db -c "ALTER TABLE kpi.measurement $action TRIGGER USER" \
        -c "TRUNCATE kpi.measurement, kpi.actual, kpi.alert, kpi.alert_event"
    lat=$("$BINDIR/pgbench" -n -c 1 -t 5000 -f "$script" $db 2>/dev/null |
          sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
    printf '%-8s %16s\n' "$mode" "$lat"
done
"$BINDIR/psql" -X -q -d postgres -c "DROP DATABASE $db"
