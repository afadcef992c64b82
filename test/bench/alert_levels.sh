#!/usr/bin/env bash
# Benchmark: what judging alerts costs the writers, and whether writers on
# different branches wait for one another on their region's or company's
# keys.  A company, 2 regions, 8 branches (4 per region), 4 sum indicators;
# each pgbench transaction is one kpi.record at a random indicator and day
# of July 2026 (3 keys written: the month, its quarter and year) and at a
# random one of the client's own two branches (clients 1 and 2 under one
# region, 3 and 4 under the other), so that two writers never share a key
# of a branch: a lock wait is then a wait on something they share.
# The same writers run, 10 s each with 1 and with 4 clients, in four set-ups
# (each in a fresh copy of the same database):
#   (a) no alert rules (baseline: nothing judged, nothing queued);
#   (b) a rule for every scope (scope NULL), targets at the branches only:
#       the branches' keys are judged in the writer, the regions' and the
#       company's keys are queued but have nothing to judge;
#   (c) as (b) with targets at the regions and the company too (level
#       judging: their keys are queued and kpi.evaluate() judges them);
#   (d) as (c) with kpi.setting alert_in_writer = off (every key queued).
# Prints tps, the ratios (c)/(b) (the loss to level judging) and (c)/(a),
# how 4 clients scale over 1 in each set-up, lock waits sampled from
# pg_locks during the 4-client runs (a writer waiting for another), and the
# time of one kpi.evaluate() draining what each 4-client run queued.
# Never fails on speed.  Runs against the cluster bench.sh started (PGHOST
# etc. set).  KPI_BENCH_SECONDS (10) and KPI_BENCH_ROUNDS (2: set-ups are
# run in turn, round after round, and the best tps of each is kept) tune it.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
. "$(dirname "$0")/_lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
secs=${KPI_BENCH_SECONDS:-10}
rounds=${KPI_BENCH_ROUNDS:-2}
tpl=kpi_bench_levels
db=kpi_bench_levels_run
export PGOPTIONS="-c client_min_messages=warning"
psql_() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "DROP DATABASE IF EXISTS $tpl" -c "CREATE DATABASE $tpl"
{ echo "CREATE EXTENSION kpi; SET timezone = 'UTC';"; branch_company_sql; } | psql_ -d $tpl >/dev/null
# set-up SQL on top of the template: goals out of reach, so every judged
# key with a target is red and its alert follows every write
setup_sql() {
    local branch="INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
        SELECT i.id, s.id, '2026-07', '>= 100000' FROM kpi.indicator i, kpi.scope s
        WHERE s.code LIKE 'co.r_.b%';"
    local levels="INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
        SELECT i.id, s.id, '2026-07', '>= 1000000' FROM kpi.indicator i, kpi.scope s
        WHERE s.code NOT LIKE 'co.r_.b%';"
    local rule="INSERT INTO kpi.alert_rule (indicator_id) SELECT id FROM kpi.indicator;"
    case $1 in
        a) echo "$branch $levels" ;;
        b) echo "$branch $rule" ;;
        c) echo "$branch $levels $rule" ;;
        d) echo "$branch $levels $rule INSERT INTO kpi.setting (name, value) VALUES ('alert_in_writer', 'off');" ;;
    esac
}
script=$(mktemp)
trap 'rm -f "$script"' EXIT
branch_writer_script > "$script"
# run SETUP CLIENTS: a fresh database, the writers; sets tps, sd (latency
# stddev, ms) and, with 4 clients, locks, queued, evald
run() {
    local out
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db TEMPLATE $tpl"
    psql_ -d $db -c "$(setup_sql "$1")" -c "VACUUM ANALYZE" >/dev/null
    if [ "$2" -gt 1 ]; then
        sample_locks "$db" "$secs" >"$script.locks" &
    fi
    out=$("$BINDIR/pgbench" -n -c "$2" -j "$2" -T "$secs" -P 3600 -f "$script" $db 2>/dev/null)
    tps=$(sed -n 's/^tps = \([0-9.]*\) .*/\1/p' <<<"$out")
    sd=$(sed -n 's/^latency stddev = \([0-9.]*\) ms/\1/p' <<<"$out")
    tps=${tps:-0} sd=${sd:--}
    if [ "$2" -gt 1 ]; then
        wait
        locks=$(cat "$script.locks")
        queued=$(psql_ -d $db -At -c "SELECT count(*) FROM kpi.alert_queue")
        evald=$(psql_ -d $db -At <<'SQL'
\timing on
SELECT judged || ' keys judged, ' || changed || ' changed' FROM kpi.evaluate();
SQL
)
    fi
    psql_ -d postgres -c "DROP DATABASE $db"
}
declare -A best sd1 sd4 lk q ev
for ((k = 1; k <= rounds; k++)); do
    for c in 4 1; do
        for s in a b c d; do
            run $s $c
            if awk "BEGIN { exit !(${best[$s$c]:-0} < $tps) }"; then
                best[$s$c]=$tps
                if [ $c = 1 ]; then sd1[$s]=$sd; else
                    sd4[$s]=$sd; lk[$s]=$locks; q[$s]=$queued
                    ev[$s]=$(tr '\n' ' ' <<<"$evald" | sed 's/Time: \([0-9.]*\) ms.*/in \1 ms/')
                fi
            fi
        done
    done
done
rm -f "$script.locks"
echo "writers: one kpi.record per transaction at a random branch of the client's own two (8 branches, 2 regions, 1 company),"
echo "${secs} s per run, best tps of $rounds rounds"
printf '%-4s %-44s %10s %10s %7s %9s %9s\n' '' set-up 'tps 1 cl' 'tps 4 cl' '4/1' 'sd 1 ms' 'sd 4 ms'
for s in a b c d; do
    case $s in
        a) name='no alert rules' ;;
        b) name='rule, targets at branches (leaf judging)' ;;
        c) name='rule, targets at every level (level judging)' ;;
        d) name='as (c), alert_in_writer = off' ;;
    esac
    printf '%-4s %-44s %10.1f %10.1f %7.2f %9s %9s\n' "($s)" "$name" "${best[${s}1]}" "${best[${s}4]}" \
        "$(awk "BEGIN { print ${best[${s}4]} / ${best[${s}1]} }")" "${sd1[$s]}" "${sd4[$s]}"
done
ratio() { awk "BEGIN { printf \"%.2f\", ${best[$1]} / ${best[$2]} }"; }
echo "ratios, 4 clients: (c)/(b) $(ratio c4 b4) (loss to level judging $(awk "BEGIN { printf \"%.0f%%\", 100 * (1 - ${best[c4]} / ${best[b4]}) }"));" \
     "(c)/(a) $(ratio c4 a4); (b)/(a) $(ratio b4 a4); (d)/(c) $(ratio d4 c4)"
echo "ratios, 1 client:  (c)/(b) $(ratio c1 b1); (c)/(a) $(ratio c1 a1); (b)/(a) $(ratio b1 a1); (d)/(c) $(ratio d1 c1)"
echo "lock waits during the 4-client runs (samples with a writer waiting for a lock / samples, lock types):"
for s in a b c d; do printf '  (%s) %s\n' $s "${lk[$s]}"; done
echo "one kpi.evaluate() after the 4-client run (queue rows the run left):"
for s in a b c d; do printf '  (%s) %s queued: %s\n' $s "${q[$s]}" "${ev[$s]}"; done
psql_ -d postgres -c "DROP DATABASE $tpl"
