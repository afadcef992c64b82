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
#
# Side by side with pgmq when the server has it (the project neither
# ships nor fetches it): the same 200k messages in a pgmq queue, read
# (30 s visibility timeout) and archived in one transaction, one or ten
# at a time, 1 and 4 consumers; each kpi figure without the claim log is
# printed with its ratio to pgmq's.  KPI_BENCH_ROUNDS (1) repeats the
# whole comparison, kpi and pgmq alternating, for a noisy machine.
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
pgmq=$(psql_ -d $tpl -At -c "SELECT count(*) FROM pg_available_extensions WHERE name = 'pgmq'")
if [ "$pgmq" = 1 ]; then
    psql_ -d $tpl >/dev/null <<'SQL'
CREATE EXTENSION pgmq;
SELECT pgmq.create('bench');
SELECT count(*) FROM (SELECT pgmq.send_batch('bench', array_agg(jsonb_build_object('alert', n, 'severity', 'red')))
                      FROM generate_series(1, 200000) n GROUP BY n / 1000) s;
VACUUM ANALYZE;
SQL
fi
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
cat > "$work/pgmq-one.sql" <<'SQL'
BEGIN;
SELECT msg_id AS mid FROM pgmq.read('bench', 30, 1) \gset
SELECT pgmq.archive('bench', :mid::bigint);
COMMIT;
SQL
cat > "$work/pgmq-ten.sql" <<'SQL'
BEGIN;
SELECT array_agg(msg_id) AS ids FROM pgmq.read('bench', 30, 10) \gset
SELECT pgmq.archive('bench', ':ids'::bigint[]);
COMMIT;
SQL
# run SCRIPT MSGS CLIENTS LOG: one run on a fresh copy; prints a line and
# leaves its messages per second in $rate
run() {
    local tps check
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE $tpl"
    [ "$4" != off ] || psql_ -d postgres -c "ALTER DATABASE $db SET kpi.log_claims = off"
    tps=$("$BINDIR/pgbench" -n -c "$3" -j "$3" -T "$secs" -f "$work/$1.sql" $db 2>/dev/null |
          sed -n 's/^tps = \([0-9.]*\) .*/\1/p')
    rate=$(awk "BEGIN { printf \"%.0f\", ${tps:-0} * $2 }")
    if [ "$4" = pgmq ]; then
        check=$(psql_ -d $db -At -c "SELECT count(*) || ' archived, ' || count(*) FILTER (WHERE read_ct > 1) || ' read twice'
                                     FROM pgmq.a_bench")
    else
        check=$(psql_ -d $db -At -c "SELECT count(*) FILTER (WHERE state = 'acked') || ' acked, ' ||
                                            count(*) FILTER (WHERE delivery_count > 1) || ' delivered twice' FROM kpi.alert")
    fi
    printf '%-6s %9s %12s %10.1f %12s   %s%s\n' "$2" "$3" "$4" "${tps:-0}" "$rate" "$check" "${5:-}"
    psql_ -d postgres -c "DROP DATABASE $db"
}
rounds=${KPI_BENCH_ROUNDS:-1}
echo "alert queue: claim + acknowledge in one transaction, ${secs} s per run, 200k open alerts"
[ "$pgmq" = 1 ] || echo "(pgmq is not installed on this server: no side-by-side figures)"
printf '%-6s %9s %12s %10s %12s\n' msgs consumers 'claim log' tps 'msgs/s'
for r in $(seq 1 "$rounds"); do
    for c in 1 4; do
        for m in one ten; do
            n=1; [ $m = one ] || n=10
            run $m $n $c on
            if [ "$pgmq" = 1 ]; then
                run pgmq-$m $n $c pgmq
                base=$rate
                run $m $n $c off
                echo "       kpi without the claim log / pgmq read+archive: $(awk "BEGIN { printf \"%.2f\", $rate / $base }")x"
            else
                run $m $n $c off
            fi
        done
    done
done
psql_ -d postgres -c "DROP DATABASE $tpl"
