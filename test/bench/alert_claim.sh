#!/usr/bin/env bash
# Benchmark: claim + ack throughput of the alert queue with 1 and with 4
# concurrent consumers (pgbench custom script, 10 s each), on 200k open
# alerts.  Each transaction claims one alert (SKIP LOCKED, 30 s lease) and
# acknowledges it.  Prints transactions per second; never fails on speed.
# Runs against the cluster that bench.sh started (PGHOST etc. set).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
db=kpi_bench_claim
export PGOPTIONS="-c client_min_messages=warning"
"$BINDIR/psql" -X -q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
"$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d $db <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.scope (code, name) VALUES ('hq', 'HQ');
INSERT INTO kpi.indicator (code, name) SELECT 'b.i' || i, 'Indicator ' || i FROM generate_series(1, 100) i;
INSERT INTO kpi.alert (indicator_id, scope_id, period, severity, raised_at)
SELECT i.id, kpi.scope_id('hq'), kpi.period(date '2000-01-01' + d, 'day'),
       (ARRAY['red', 'amber']::kpi.status[])[1 + d % 2], now() - d * interval '1 second'
FROM kpi.indicator i, generate_series(1, 2000) d;
VACUUM ANALYZE kpi.alert;
SQL
script=$(mktemp)
trap 'rm -f "$script"' EXIT
cat > "$script" <<'SQL'
BEGIN;
SELECT id AS aid FROM kpi.alert_claim('bench-' || :client_id, 1) \gset
SELECT kpi.alert_ack(:aid, 'bench');
COMMIT;
SQL
echo "alert queue: claim + ack per transaction, 10 s per run"
printf '%-10s %12s\n' consumers tps
for c in 1 4; do
    tps=$("$BINDIR/pgbench" -n -c "$c" -j "$c" -T 10 -f "$script" $db 2>/dev/null |
          sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
    printf '%-10s %12s\n' "$c" "$tps"
done
"$BINDIR/psql" -X -q -d $db -At -c "SELECT 'acked ' || count(*) FILTER (WHERE state = 'acked') || ', delivered twice ' ||
    count(*) FILTER (WHERE delivery_count > 1) FROM kpi.alert"
"$BINDIR/psql" -X -q -d postgres -c "DROP DATABASE $db"
