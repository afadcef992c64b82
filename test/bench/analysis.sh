#!/usr/bin/env bash
# Benchmark: the answers to "why are we red?" and "will we make it?" on N
# indicators (KPI_BENCH_INDICATORS, 200; the issue's size is 10,000) x 100
# scopes (the company, 9 regions, 90 branches; data at the branches, one
# measurement per indicator, branch and month of 2025 and 2026-01..08;
# targets for 2026-Q2 and 2026-Q3 and the months of Q3 at the company and
# the regions).  The indicators form a tree: one root, N/20 groups of 20
# leaves (sum, avg, last and ratio in turn).  Times (median of 5 after a
# warm-up, JIT off):
#   * one kpi.explain of a leaf (the company's gap by region), of the
#     root (its score by group) and of a group (its leaves' score points),
#     and the same leaf split by hand in plain SQL (each region's subtree
#     summed against its target) for the ratio;
#   * one kpi.root_cause of the root;
#   * the forecast of every key with a 2026-Q3 target (N x 10) as of
#     2026-08-15: kpi.forecasts in one statement (0.15), again with every
#     key marked stale, and kpi.forecast key by key as planned (in
#     parallel workers since 0.13) and with parallel query off.
# Prints figures and ratios; never fails on speed.  Runs against the
# cluster bench.sh started.  KPI_BENCH_KEEP=1 keeps the database;
# KPI_BENCH_FAST=1 loads the measurements with kpi's trigger off and
# then rebuilds kpi.actual from them with kpi.actual_rebuild() (for 10,000
# indicators; kpi.verify() checks the result up to 1,000);
# KPI_BENCH_FAST=sql computes kpi.actual in one INSERT ... SELECT with
# kpi's triggers off instead (minutes instead of hours at 10,000).
# KPI_BENCH_REUSE=1 measures the database a kept run left, without loading
# it again (its size is read from it); KPI_BENCH_DB names the database
# (kpi_bench_analysis).
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
. "$(dirname "$0")/_lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
n=${KPI_BENCH_INDICATORS:-200}
db=${KPI_BENCH_DB:-kpi_bench_analysis}
export PGOPTIONS="-c client_min_messages=warning"
psql_() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
started=$(date +%s)
if [ -n "${KPI_BENCH_REUSE:-}" ]; then
    n=$(psql_ -d $db -At -c "SELECT count(*) FROM kpi.indicator WHERE code ~ '^b\.i'")
else
psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
fast=false; [ -z "${KPI_BENCH_FAST:-}" ] || fast=true
sql=false; [ "${KPI_BENCH_FAST:-}" != sql ] || sql=true
psql_ -d $db -v n="$n" -v fast=$fast -v sql=$sql >/dev/null <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai'), ('alert_in_writer', 'off');
INSERT INTO kpi.scope (code, name) VALUES ('hq', 'Company');
INSERT INTO kpi.scope (code, name, parent_id) SELECT 'hq.r' || r, 'Region ' || r, kpi.scope_id('hq') FROM generate_series(1, 9) r;
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'hq.r' || r || '.b' || b, 'Branch ' || r || '.' || b, kpi.scope_id('hq.r' || r)
FROM generate_series(1, 9) r, generate_series(1, 10) b;
-- the tree: b.root > b.g<k> > b.i<i>
INSERT INTO kpi.indicator (code, name, agg, grains) VALUES ('b.root', 'Root', 'sum', '{quarter}');
INSERT INTO kpi.indicator (code, name, agg, grains)
SELECT 'b.g' || g, 'Group ' || g, 'sum', '{quarter}' FROM generate_series(1, greatest(1, :n / 20)) g;
INSERT INTO kpi.indicator (code, name, agg, grains)
SELECT 'b.i' || i, 'Indicator ' || i, (ARRAY['sum', 'avg', 'last', 'ratio']::kpi.agg_kind[])[1 + i % 4],
       '{month,quarter,year}'
FROM generate_series(1, :n) i;
INSERT INTO kpi.link (parent_id, child_id)
SELECT kpi.indicator_id('b.root'), id FROM kpi.indicator WHERE code ~ '^b\.g';
INSERT INTO kpi.link (parent_id, child_id)
SELECT kpi.indicator_id('b.g' || (1 + (i - 1) % greatest(1, :n / 20))), kpi.indicator_id('b.i' || i)
FROM generate_series(1, :n) i;
-- 2025-01 .. 2026-08 at the branches, month by month (:fast: with kpi's
-- trigger off, kpi.actual rebuilt below from the same rows)
BEGIN;
\if :fast
ALTER TABLE kpi.measurement DISABLE TRIGGER measurement_sync_insert;
SET LOCAL session_replication_role = replica;
\endif
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator)
SELECT i.id, s.id, (m + interval '14 days')::timestamp AT TIME ZONE 'Asia/Shanghai',
       100 + (i.id * 7 + s.id * 13 + extract(month FROM m)) % 50,
       CASE WHEN i.agg = 'ratio' THEN 400 + (i.id + s.id) % 100 END
FROM kpi.indicator i
JOIN kpi.scope s ON s.code ~ '\.b[0-9]+$'
CROSS JOIN generate_series(date '2025-01-01', date '2026-08-01', interval '1 month') m
WHERE i.code ~ '^b\.i'
ORDER BY m, i.id, s.id;
\if :fast
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_insert;
\endif
COMMIT;
\if :fast
\if :sql
-- kpi.actual from the measurements in one statement, kpi's triggers off
-- (no targets yet, so only the tallies and values); kpi.verify() checks it
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO kpi.actual (indicator_id, scope_id, period, tally, value)
SELECT x.indicator_id, x.scope_id, x.period, x.tally, kpi.value(x.tally, x.agg)
FROM (SELECT m.indicator_id, m.scope_id, kpi.period(m.at, g, 'Asia/Shanghai') AS period, i.agg,
             CASE WHEN i.agg = 'ratio' THEN kpi.tally(m.value, m.denominator, m.at) FILTER (WHERE i.agg = 'ratio')
                  ELSE kpi.tally(m.value, m.at) END AS tally
      FROM kpi.measurement m
      JOIN kpi.indicator i ON i.id = m.indicator_id
      CROSS JOIN unnest(i.grains) g
      GROUP BY 1, 2, 3, 4) x;
COMMIT;
\else
-- kpi.actual from the measurements in one pass, as repair does
SELECT kpi.actual_rebuild() > 0 AS rebuilt;
\endif
\endif
-- targets: 2026-Q2, 2026-Q3 and its months at the company and the regions
INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
SELECT i.id, s.id, p::kpi.period,
       CASE WHEN i.agg = 'ratio' THEN '>= 0.3'
            WHEN i.agg = 'sum' THEN kpi.goal(CASE WHEN s.parent_id IS NULL THEN 125 * 90 ELSE 125 * 10 END
                                             * CASE WHEN p LIKE '%Q%' THEN 3 ELSE 1 END, 'higher')
            WHEN i.agg = 'last' THEN kpi.goal(CASE WHEN s.parent_id IS NULL THEN 125 * 90 ELSE 125 * 10 END, 'higher')
            ELSE '>= 125' END
FROM kpi.indicator i
JOIN kpi.scope s ON s.parent_id IS NULL OR s.code ~ '^hq\.r[0-9]$'
CROSS JOIN unnest('{2026-Q2,2026-Q3,2026-07,2026-08,2026-09}'::text[]) p
WHERE i.code ~ '^b\.i' AND (i.agg = 'sum' OR p LIKE '%Q%');
VACUUM ANALYZE;
SQL
if [ "$fast" = true ] && [ "$n" -le 1000 ]; then
    echo "kpi.verify() after the fast load: $(psql_ -d $db -At -c "SELECT count(*) FROM kpi.verify()") problems"
fi
fi
echo "$([ -n "${KPI_BENCH_REUSE:-}" ] && echo reused || echo loaded) $n indicators x 100 scopes in $(( $(date +%s) - started )) s:" \
     "$(psql_ -d $db -At -c "SELECT count(*) || ' measurements, ' || (SELECT count(*) FROM kpi.actual) || ' actual rows, ' || (SELECT count(*) FROM kpi.target) || ' targets' FROM kpi.measurement")"

leaf=b.i3      # a ratio (3 % 4 = 3)
plain="
WITH r AS (SELECT c.id, c.code, kpi.scope_descendants(c.id) AS sub FROM kpi.scope c WHERE c.parent_id = kpi.scope_id('hq')),
     v AS (SELECT r.code, sum(m.value) AS num, sum(m.denominator) AS den
           FROM r JOIN kpi.measurement m ON m.scope_id = ANY (r.sub) AND m.indicator_id = kpi.indicator_id('$leaf')
            AND m.at >= '2026-03-31 16:00+00' AND m.at < '2026-06-30 16:00+00' GROUP BY r.code)
SELECT v.code, v.num / v.den - kpi.target(t.goal) AS gap
FROM v JOIN kpi.target t ON t.scope_id = kpi.scope_id(v.code) AND t.indicator_id = kpi.indicator_id('$leaf')
 AND t.period::text = '2026-Q2'"
# kpi.subtree (0.14): what the load marked, taken by one refresh (the
# evaluation cycle's first step); the calls below read the kept rows, and
# each is timed again with every key marked (the branches merged, as
# before 0.14)
t0=$(date +%s%N)
kept=$(psql_ -d $db -At -c "SET work_mem = '256MB'" -c "SELECT kpi.subtree_refresh()")
refresh_ms=$(( ($(date +%s%N) - t0) / 1000000 ))
psql_ -d $db -c "VACUUM ANALYZE kpi.subtree"
mark="INSERT INTO kpi.subtree_stale VALUES (NULL, NULL)"
e_leaf=$(bench_timed $db off "SELECT * FROM kpi.explain('$leaf', 'hq', '2026-Q2')")
e_plain=$(bench_timed $db off "$plain")
e_root=$(bench_timed $db off "SELECT * FROM kpi.explain('b.root', 'hq', '2026-Q2')")
e_group=$(bench_timed $db off "SELECT * FROM kpi.explain('b.g1', 'hq', '2026-Q2')")
rc=$(bench_timed $db off "SELECT * FROM kpi.root_cause('b.root', 'hq', '2026-Q2')")
e_root_m=$(bench_timed $db off "SELECT * FROM kpi.explain('b.root', 'hq', '2026-Q2')" "$mark")
rc_m=$(bench_timed $db off "SELECT * FROM kpi.root_cause('b.root', 'hq', '2026-Q2')" "$mark")
ru=$(bench_timed $db off "SELECT * FROM kpi.rollup('2026-Q2', 'hq')")
ru_m=$(bench_timed $db off "SELECT * FROM kpi.rollup('2026-Q2', 'hq')" "$mark")
ru_b=$(bench_timed $db off "SELECT * FROM kpi.rollup('2026-Q2', 'hq.r1.b1')")
keys=$(psql_ -d $db -At -c "SELECT count(*) FROM kpi.target WHERE period::text = '2026-Q3'")
# forecasts: every key of 2026-Q3 by kpi.forecasts (0.15: one pass over
# the kept rows), again with every key marked (merged key by key, as
# right after a scope moved), and key by key with kpi.forecast as the
# planner runs it (in parallel workers) and with parallel query off
at="'2026-08-15 12:00+08'"
timed_once() {
    local t0
    t0=$(date +%s%N)
    psql_ -d $db -At -c "SET jit = off" "$@" >/dev/null
    echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
fcs=$(timed_once -c "SELECT count(*) FROM kpi.forecasts('2026-Q3', $at)")
fcs_m=$(timed_once -c "BEGIN" -c "$mark" -c "SELECT count(*) FROM kpi.forecasts('2026-Q3', $at)" -c "ROLLBACK")
per_key="SELECT count(f.*) FROM kpi.target t JOIN kpi.indicator i ON i.id = t.indicator_id JOIN kpi.scope s ON s.id = t.scope_id CROSS JOIN LATERAL kpi.forecast(i.code, s.code, t.period, $at) f WHERE t.period::text = '2026-Q3'"
fc=$(timed_once -c "SET max_parallel_workers_per_gather = 2" -c "$per_key")
fc_serial=$(timed_once -c "SET max_parallel_workers_per_gather = 0" -c "$per_key")
echo "median ms of 5, JIT off, $n indicators x 100 scopes"
printf '%-62s %10s\n' "kpi.explain of a ratio leaf (9 regions, rate/mix against target)" "$e_leaf"
printf '%-62s %10s   (kpi.explain / plain: %s)\n' "  plain SQL: the regions' ratio gaps by hand, no split" "$e_plain" \
       "$(awk "BEGIN { printf \"%.1fx\", $e_leaf / $e_plain }")"
printf '%-62s %10s   (every key marked: %s, %s)\n' "kpi.explain of the root ($(( n / 20 > 0 ? n / 20 : 1 )) groups, its score by group)" "$e_root" \
       "$e_root_m" "$(awk "BEGIN { printf \"%.1fx\", $e_root_m / $e_root }")"
printf '%-62s %10s\n' "kpi.explain of a group (its 20 leaves' score points)" "$e_group"
printf '%-62s %10s   (every key marked: %s, %s)\n' "kpi.root_cause of the root" "$rc" \
       "$rc_m" "$(awk "BEGIN { printf \"%.1fx\", $rc_m / $rc }")"
printf '%-62s %10s   (every key marked: %s, %s)\n' "kpi.rollup of the company (kept rows of hq)" "$ru" \
       "$ru_m" "$(awk "BEGIN { printf \"%.1fx\", $ru_m / $ru }")"
printf '%-62s %10s\n' "kpi.rollup of a branch (its own rows, by period and scope)" "$ru_b"
printf '%-62s %10s   (%s kpi.subtree rows)\n' "kpi.subtree_refresh() after the load (one run)" "$refresh_ms" "$kept"
printf '%-62s %10s   (%s keys, %s ms per key)\n' "kpi.forecasts of every 2026-Q3 key, one statement (one run)" "$fcs" "$keys" \
       "$(awk "BEGIN { printf \"%.3f\", $fcs / $keys }")"
printf '%-62s %10s   (%sx)\n' "  the same with every key marked (merged key by key)" "$fcs_m" \
       "$(awk "BEGIN { printf \"%.1f\", $fcs_m / $fcs }")"
printf '%-62s %10s   (kpi.forecasts / this: %s)\n' "  kpi.forecast key by key, in parallel workers" "$fc" \
       "$(awk "BEGIN { printf \"%.2f\", $fcs / $fc }")"
printf '%-62s %10s   (kpi.forecasts / this: %s)\n' "  kpi.forecast key by key, parallel query off" "$fc_serial" \
       "$(awk "BEGIN { printf \"%.2f\", $fcs / $fc_serial }")"
[ -n "${KPI_BENCH_KEEP:-}" ] || psql_ -d postgres -c "DROP DATABASE $db"
