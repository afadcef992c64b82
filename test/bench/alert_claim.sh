#!/usr/bin/env bash
# Benchmark: the alert queue as consumers use it, on 200k open alerts.
# Each pgbench transaction claims (SKIP LOCKED, 30 s lease) and
# acknowledges: one alert (kpi.alert_claim + kpi.alert_ack), or ten
# (kpi.alert_claim(..., 10) + kpi.alert_ack_many).  With 1 and 4
# consumers, with the claim logged as an event (kpi.log_claims on, the
# default) and without (every ack is logged either way).  Each run
# starts from a fresh copy of the same database.  Prints transactions and
# messages per second; never fails on speed.  KPI_BENCH_SECONDS (10) sets
# the length of a run.  Runs against the cluster that bench.sh started.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
secs=${KPI_BENCH_SECONDS:-10}
tpl=kpi_bench_claim
db=kpi_bench_claim_run
export PGOPTIONS="-c client_min_messages=warning"
psql_() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP DATABASE IF EXISTS $tpl" -c "CREATE DATABASE $tpl"
psql_ -d $tpl <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.scope (code, name) VALUES ('hq', 'HQ');
INSERT INTO kpi.indicator (code, name) SELECT 'b.i' || i, 'Indicator ' || i FROM generate_series(1, 100) i;
INSERT INTO kpi.alert (indicator_id, scope_id, period, severity, raised_at)
SELECT i.id, kpi.scope_id('hq'), kpi.period(date '2000-01-01' + d, 'day'),
       (ARRAY['red', 'amber']::kpi.status[])[1 + d % 2], now() - d * interval '1 second'
FROM kpi.indicator i, generate_series(1, 2000) d;
VACUUM ANALYZE;
SQL
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/one.sql" <<'SQL'
BEGIN;
SELECT id AS aid FROM kpi.alert_claim('bench-' || :client_id, 1) \gset
SELECT kpi.alert_ack(:aid, 'bench');
COMMIT;
SQL
cat > "$work/ten.sql" <<'SQL'
BEGIN;
SELECT array_agg(id) AS ids FROM kpi.alert_claim('bench-' || :client_id, 10) \gset
SELECT count(*) FROM kpi.alert_ack_many(':ids'::bigint[], 'bench');
COMMIT;
SQL
# run SCRIPT MSGS CLIENTS LOG: one run on a fresh copy; prints a line
run() {
    local tps check
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE $tpl"
    [ "$4" = on ] || psql_ -d postgres -c "ALTER DATABASE $db SET kpi.log_claims = off"
    tps=$("$BINDIR/pgbench" -n -c "$3" -j "$3" -T "$secs" -f "$work/$1.sql" $db 2>/dev/null |
          sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
    check=$(psql_ -d $db -At -c "SELECT count(*) FILTER (WHERE state = 'acked') || ' acked, ' ||
                                        count(*) FILTER (WHERE delivery_count > 1) || ' delivered twice' FROM kpi.alert")
    printf '%-6s %9s %12s %10.1f %12.0f   %s\n' "$2" "$3" "$4" "${tps:-0}" "$(awk "BEGIN { print ${tps:-0} * $2 }")" "$check"
    psql_ -d postgres -c "DROP DATABASE $db"
}
echo "alert queue: claim + acknowledge in one transaction, ${secs} s per run, 200k open alerts"
printf '%-6s %9s %12s %10s %12s\n' msgs consumers 'claim log' tps 'msgs/s'
for log in on off; do
    for c in 1 4; do
        run one 1 $c $log
        run ten 10 $c $log
    done
done
psql_ -d postgres -c "DROP DATABASE $tpl"
