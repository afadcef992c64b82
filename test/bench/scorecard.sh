#!/usr/bin/env bash
# Benchmark: a dashboard's query costs what it asks for, not the history
# behind it.  One scope (the company) and one quarter (2026-Q2) of
# kpi.scorecard, on N indicators (KPI_BENCH_INDICATORS, 200; the issue's
# size is 10,000) x 100 scopes (the company, 9 regions, 90 branches, data
# at the branches, one measurement per indicator, branch and month: the
# history imported in one statement, in month order), with 1 year of
# history (2026-01..06) and with 5 years (2022-01..2026-06), both vacuumed and analysed as autovacuum leaves them
# after a load.  Each query runs with JIT on and off, median of 5 after a
# warm-up, in KPI_BENCH_ROUNDS (3) rounds alternating the two databases;
# the best median counts.  Side by side: the same query on the 0.7
# scorecard (one CTE over every scope and period, rebuilt here as
# public.scorecard_07 from its definition) and a plain-SQL lower bound
# that aggregates kpi.actual for the quarter by hand.  Prints times and
# the ratios 5 years / 1 year; never fails on speed.  Runs against the
# cluster bench.sh started.  KPI_BENCH_KEEP=1 keeps the databases and
# KPI_BENCH_REUSE=1 reuses them.
#
# KPI_BENCH_FAST=1 loads the issue's size in minutes instead of hours: the
# same measurements are written with kpi's trigger off, and kpi.actual is
# computed from the same generated values by INSERT ... GROUP BY, a year
# and a grain at a time, in the order the triggers write it (period
# first).  With KPI_BENCH_INDICATORS of 1,000 or fewer it then runs
# kpi.verify(), which must find nothing (the fast load equals the
# triggers' result).  The 0.7 scorecard, which reads every scope and
# period, is left out above 1,000 indicators.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
. "$(dirname "$0")/_lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
n=${KPI_BENCH_INDICATORS:-200}
export PGOPTIONS="-c client_min_messages=warning"
psql_() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# dictionary DB: a new database with the company (the company, 9 regions,
# 90 branches), its indicators, their 2026-Q2 targets at the company and
# the regions, and public.history(y): the measurements of year y (one per
# indicator, branch and month, up to 2026-06)
dictionary() {
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"
    psql_ -d "$1" -v n="$n" >/dev/null <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai');
INSERT INTO kpi.scope (code, name) VALUES ('hq', 'Company');
INSERT INTO kpi.scope (code, name, parent_id) SELECT 'hq.r' || r, 'Region ' || r, kpi.scope_id('hq') FROM generate_series(1, 9) r;
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'hq.r' || r || '.b' || b, 'Branch ' || r || '.' || b, kpi.scope_id('hq.r' || r)
FROM generate_series(1, 9) r, generate_series(1, 10) b;
INSERT INTO kpi.indicator (code, name, agg, grains)
SELECT 'b.i' || i, 'Indicator ' || i, (ARRAY['sum', 'avg', 'last', 'max']::kpi.agg_kind[])[1 + i % 4],
       '{month,quarter,year}'
FROM generate_series(1, :n) i;
SELECT count(kpi.set_target(i.code, s.code, '2026-Q2'::kpi.period, '>= 1000'::kpi.goal))
FROM kpi.indicator i, kpi.scope s WHERE s.parent_id IS NULL OR s.code ~ '^hq\.r[0-9]$';
CREATE FUNCTION public.history(y integer)
RETURNS TABLE (indicator_id bigint, scope_id bigint, m date, at timestamptz, value float8)
LANGUAGE sql STABLE AS $$
    SELECT i.id, s.id, m::date, (m + interval '14 days')::timestamp AT TIME ZONE 'Asia/Shanghai',
           100 + (i.id * 7 + s.id * 13 + extract(month FROM m)) % 50
    FROM generate_series(make_date(y, 1, 1), LEAST(make_date(y, 12, 1), date '2026-06-01'), interval '1 month') m
    CROSS JOIN kpi.indicator i JOIN kpi.scope s ON s.code ~ '\.b[0-9]+$'
$$;
SQL
}

# finish DB: what autovacuum does after a load; below 1,000 indicators the
# 0.7 scorecard, for comparison (one CTE over every scope and period)
finish() {
    psql_ -d "$1" >/dev/null <<'SQL'
DROP FUNCTION public.history(integer);
VACUUM ANALYZE;
SQL
    [ "$n" -le 1000 ] || return 0
    psql_ -d "$1" >/dev/null <<'SQL'
CREATE VIEW public.scorecard_07 AS
WITH sa AS (SELECT * FROM kpi.scope_actual)
SELECT i.code AS indicator, s.code AS scope, cur.period::text AS period,
       cur.value::numeric AS actual, kpi.target(cur.goal)::numeric AS target,
       kpi.attainment(cur.value, cur.goal)::numeric AS attainment,
       prev.value::numeric AS previous_actual, ly.value::numeric AS last_year_actual
FROM sa cur
JOIN kpi.indicator i ON i.id = cur.indicator_id
JOIN kpi.scope s ON s.id = cur.scope_id
LEFT JOIN sa prev ON prev.indicator_id = cur.indicator_id AND prev.scope_id = cur.scope_id
                 AND prev.period OPERATOR(kpi.=) kpi.period(kpi.start_date(cur.period) - 1, kpi.grain(cur.period))
LEFT JOIN sa ly ON ly.indicator_id = cur.indicator_id AND ly.scope_id = cur.scope_id
               AND ly.period OPERATOR(kpi.=) kpi.period((kpi.start_date(cur.period) - interval '1 year')::date, kpi.grain(cur.period))
WHERE i.lifecycle <> 'retired';
SQL
}

# load DB FIRST_YEAR: monthly data from FIRST_YEAR-01 to 2026-06, imported
# in one statement in the order the months happened, through kpi's triggers
load() {
    dictionary "$1"
    psql_ -d "$1" -v y0="$2" >/dev/null <<'SQL'
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
SELECT h.indicator_id, h.scope_id, h.at, h.value
FROM generate_series(:y0, 2026) y CROSS JOIN LATERAL public.history(y) h
ORDER BY h.m, h.indicator_id, h.scope_id;
SQL
    finish "$1"
}

# load_fast DB FIRST_YEAR: the same, a year at a time, with kpi's trigger
# off; kpi.actual of the branches written by hand from the same values,
# period first as the triggers write it (the targets' rows at the company
# and the regions hold no data: the scorecard rolls their subtrees up)
load_fast() {
    local y
    dictionary "$1"
    for y in $(seq "$2" 2026); do
        psql_ -d "$1" -v y="$y" >/dev/null <<'SQL'
SET work_mem = '256MB';
BEGIN;
-- kpi's trigger off (kpi.actual is written below) and the foreign keys
-- unchecked (replica) for the load
ALTER TABLE kpi.measurement DISABLE TRIGGER measurement_sync_insert;
SET LOCAL session_replication_role = replica;
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
SELECT h.indicator_id, h.scope_id, h.at, h.value FROM public.history(:y) h ORDER BY h.m, h.indicator_id, h.scope_id;
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_insert;
COMMIT;
INSERT INTO kpi.actual (indicator_id, scope_id, period, tally, value)
SELECT x.indicator_id, x.scope_id, x.period, x.t, kpi.value(x.t, i.agg)
FROM (SELECT h.indicator_id, h.scope_id, kpi.period(h.m, g.grain) AS period, kpi.tally(h.value, h.at) AS t
      FROM public.history(:y) h CROSS JOIN (VALUES ('month'), ('quarter'), ('year')) g(grain)
      GROUP BY 1, 2, 3) x
JOIN kpi.indicator i ON i.id = x.indicator_id
ORDER BY x.period, x.indicator_id, x.scope_id;
SQL
    done
    finish "$1"
    if [ "$n" -le 1000 ]; then
        echo "$1: kpi.verify() after the fast load: $(psql_ -d "$1" -At -c "SELECT count(*) FROM kpi.verify()") problems"
    fi
}

new="SELECT indicator, actual, target, attainment, status, previous_actual, last_year_actual, pace_status FROM kpi.scorecard WHERE scope = 'hq' AND period = '2026-Q2'"
old="SELECT indicator, actual, target, attainment, previous_actual, last_year_actual FROM public.scorecard_07 WHERE scope = 'hq' AND period = '2026-Q2'"
plain="SELECT a.indicator_id, kpi.value(kpi.merge(a.tally), min(i.agg)) FROM kpi.actual a JOIN kpi.indicator i ON i.id = a.indicator_id
       WHERE a.period::text = '2026-Q2' GROUP BY a.indicator_id"

started=$(date +%s)
if [ -z "${KPI_BENCH_REUSE:-}" ] || ! psql_ -d kpi_bench_sc5 -c "SELECT" >/dev/null 2>&1; then
    loader=load; [ -z "${KPI_BENCH_FAST:-}" ] || loader=load_fast
    $loader kpi_bench_sc1 2026
    $loader kpi_bench_sc5 2022
fi
psql_ -d postgres -c "CHECKPOINT"
for d in kpi_bench_sc1 kpi_bench_sc5; do
    echo "$d: $(psql_ -d $d -At -c "SELECT count(*) || ' measurements, ' || (SELECT count(*) FROM kpi.actual) || ' actual rows' FROM kpi.measurement")"
done
echo "loaded in $(( $(date +%s) - started )) s"
echo "kpi.scorecard, one scope (the company) x one quarter, $n indicators x 100 scopes: median ms of 5"
printf '%-34s %5s %12s %12s %10s\n' query jit '1 year' '5 years' '5y / 1y'
queries="new old plain"; [ "$n" -le 1000 ] || queries="new plain"
for q in $queries; do
    case $q in
        new) label="kpi.scorecard (0.8)"; sql=$new ;;
        old) label="the 0.7 scorecard (CTE)"; sql=$old ;;
        plain) label="plain SQL: the quarter by hand"; sql=$plain ;;
    esac
    for jit in on off; do
        # rounds alternate the two databases; the best median of each counts
        t1=0; t5=0
        for r in $(seq 1 "${KPI_BENCH_ROUNDS:-3}"); do
            a=$(bench_timed kpi_bench_sc1 $jit "$sql"); b=$(bench_timed kpi_bench_sc5 $jit "$sql")
            t1=$(awk "BEGIN { print ($t1 == 0 || $a < $t1) ? $a : $t1 }")
            t5=$(awk "BEGIN { print ($t5 == 0 || $b < $t5) ? $b : $t5 }")
        done
        printf '%-34s %5s %12s %12s %10s\n' "$label" $jit "$t1" "$t5" "$(awk "BEGIN { printf \"%.2f\", $t5 / $t1 }")"
    done
done
[ -n "${KPI_BENCH_KEEP:-}" ] || psql_ -d postgres -c "DROP DATABASE kpi_bench_sc1" -c "DROP DATABASE kpi_bench_sc5"
