#!/usr/bin/env bash
# Benchmark: what keeping kpi.subtree (release 0.14) costs the writers.
# Each write appends its (indicator, period) pairs to kpi.subtree_stale;
# the same library skips that when the objects are 0.13's, so one run
# compares the two side by side: two databases, one created at 0.13 and
# one at the current release, the same writers in each, in turn.
# The company and the writers of alert_levels.sh (_lib.sh): 2 regions, 8
# branches, 4 sum indicators, one kpi.record a transaction at one of the
# client's own two branches (writers never share a branch's key).  10 s
# runs with 1 and 4 clients, KPI_BENCH_ROUNDS (2) rounds, the best tps of
# each kept.  The writers run with synchronous_commit off: with it on,
# each commit waits for this machine's disk flush, which varies more from
# run to run than what is measured here.  Prints tps, the ratio
# current/0.13, lock waits (sampled in both releases' 4-client runs, so that
# the sampler's own CPU weighs on both; printed for the current one: a
# writer waiting for another), and the time of the kpi.evaluate() that takes the marks
# each 4-client run left.  Never fails on speed.  Runs against the cluster
# bench.sh started (PGHOST etc. set).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
. "$(dirname "$0")/_lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
secs=${KPI_BENCH_SECONDS:-10}
rounds=${KPI_BENCH_ROUNDS:-2}
db=kpi_bench_subtree
export PGOPTIONS="-c client_min_messages=warning"
psql_() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
script=$(mktemp)
trap 'rm -f "$script" "$script.locks"' EXIT
branch_writer_script > "$script"
# fresh VERSION CLIENTS: a fresh database with kpi at VERSION, the writers;
# sets tps, and with 4 clients (current release) locks and evald
run() {
    local out
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    { echo "CREATE EXTENSION kpi VERSION '$1';"; branch_company_sql; echo "VACUUM ANALYZE;"; } | psql_ -d $db >/dev/null
    # sampled in both releases' runs: the sampler takes CPU of its own
    if [ "$2" -gt 1 ]; then
        sample_locks "$db" "$secs" >"$script.locks" &
    fi
    out=$(PGOPTIONS="$PGOPTIONS -c synchronous_commit=off" \
          "$BINDIR/pgbench" -n -c "$2" -j "$2" -T "$secs" -P 3600 -f "$script" $db 2>/dev/null)
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
    tps=${tps:-0}
    if [ "$2" -gt 1 ]; then
        wait
        locks=$(cat "$script.locks")
    fi
    if [ "$1" = "$cur" ] && [ "$2" -gt 1 ]; then
        evald=$(psql_ -d $db -At <<'SQL'
SELECT count(*) || ' marks' FROM kpi.subtree_stale;
\timing on
SELECT 'refreshed in' FROM kpi.evaluate('2026-07-15');
SQL
)
    fi
    psql_ -d postgres -c "DROP DATABASE $db"
}
cur=$(psql_ -d postgres -At -c "SELECT default_version FROM pg_available_extensions WHERE name = 'kpi'")
declare -A best
for ((k = 1; k <= rounds; k++)); do
    for c in 4 1; do
        for v in 0.13 "$cur"; do
            run "$v" "$c"
            if awk "BEGIN { exit !(${best[$v$c]:-0} < $tps) }"; then
                best[$v$c]=$tps
                if [ "$v" = "$cur" ] && [ "$c" = 4 ]; then
                    lk=$locks
                    ev=$(tr '\n' ' ' <<<"$evald" | sed 's/ *refreshed in *Time: \([0-9.]*\) ms.*/, kpi.evaluate() took \1 ms/')
                fi
            fi
        done
    done
done
echo "writers, one kpi.record a transaction, synchronous_commit off (${secs} s runs, best of $rounds):"
printf '  %-8s %12s %12s %8s\n' clients "0.13 tps" "$cur tps" ratio
for c in 1 4; do
    printf '  %-8s %12s %12s %8s\n' "$c" "${best[0.13$c]}" "${best[$cur$c]}" \
        "$(awk "BEGIN { printf \"%.2f\", ${best[$cur$c]} / ${best[0.13$c]} }")"
done
echo "  $cur, 4 clients: samples with a writer waiting for a lock $lk; left $ev"
