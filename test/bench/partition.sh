#!/usr/bin/env bash
# Benchmark: kpi.measurement partitioned (0.11) against the table of 0.10,
# on KPI_BENCH_ROWS measurements (1,000,000: 200 indicators x 10 branches,
# two company years of days), each write through kpi's triggers, in four
# databases side by side:
#   plain  a table with kpi.measurement's columns and no kpi (the floor)
#   0.10   CREATE EXTENSION kpi VERSION '0.10' (one table)
#   0.11   the release: everything in the default partition
#   0.11p  the release with a partition per company year
# Figures: the load (one INSERT ... SELECT), a DELETE of 10 %, an UPDATE
# that moves 10 % a year later (into the other partition in 0.11p), and,
# for 0.11p, pg_restore -j 2 of its dump (a partition's rows folded in one
# at a time) against a dump taken with --load-via-partition-root (in
# batches).  kpi.verify() is checked after each.  Prints figures and
# ratios; never fails on speed.  Runs against the cluster bench.sh started.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
rows=${KPI_BENCH_ROWS:-1000000}
inds=200
export PGOPTIONS="-c client_min_messages=warning"
psql_() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
dbs="kpi_bench_part_plain kpi_bench_part_010 kpi_bench_part_011 kpi_bench_part_011p"
cleanup() {
    for d in $dbs kpi_bench_part_r1 kpi_bench_part_r2; do psql_ -d postgres -c "DROP DATABASE IF EXISTS $d" || true; done
    rm -rf "$work"
}
trap cleanup EXIT
# ms a statement takes in a database (one run: each changes data)
timed() {
    psql_ -d "$1" -At <<SQL
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
\\o /dev/null
$2;
\\o
SELECT round((extract(epoch FROM clock_timestamp() - (SELECT t FROM t0)) * 1000)::numeric, 0);
SQL
}
verify() { psql_ -d "$1" -At -c "SELECT count(*) FROM kpi.verify()"; }
setup_sql="INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai'), ('alert_in_writer', 'off');
INSERT INTO kpi.scope (code, name) VALUES ('hq', 'Company');
INSERT INTO kpi.scope (code, name, parent_id) SELECT 'hq.b' || b, 'Branch ' || b, kpi.scope_id('hq') FROM generate_series(1, 10) b;
INSERT INTO kpi.indicator (code, name, agg) SELECT 'b.i' || i, 'Indicator ' || i, 'sum' FROM generate_series(1, $inds) i;"
for d in $dbs; do psql_ -d postgres -c "DROP DATABASE IF EXISTS $d" -c "CREATE DATABASE $d"; done
psql_ -d kpi_bench_part_plain -c "CREATE TABLE m (id bigserial PRIMARY KEY, indicator_id bigint NOT NULL, scope_id bigint NOT NULL,
    at timestamptz NOT NULL, value float8 NOT NULL, denominator float8, note text, source text,
    recorded_by name NOT NULL DEFAULT CURRENT_USER, recorded_at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX ON m (indicator_id, scope_id, at)"
psql_ -d kpi_bench_part_010 -c "CREATE EXTENSION kpi VERSION '0.10'" -c "$setup_sql" >/dev/null
psql_ -d kpi_bench_part_011 -c "CREATE EXTENSION kpi" -c "$setup_sql" >/dev/null
psql_ -d kpi_bench_part_011p -c "CREATE EXTENSION kpi" -c "$setup_sql" \
    -c "SELECT kpi.measurement_partition('measurement_y2025', '2025-01-01 00:00+08', '2026-01-01 00:00+08')" \
    -c "SELECT kpi.measurement_partition('measurement_y2026', '2026-01-01 00:00+08', '2027-01-01 00:00+08')" \
    -c "SELECT kpi.measurement_partition('measurement_y2027', '2027-01-01 00:00+08', '2028-01-01 00:00+08')" >/dev/null
# the rows: indicator i, branch b, a day of 2025-2026 (company zone), spread evenly
rows_sql="SELECT 1 + n % $inds AS indicator_id, 2 + (n / $inds) % 10 AS scope_id,
                 timestamptz '2025-01-01 09:00+08' + (n % 730) * interval '1 day' + (n % 7) * interval '1 hour' AS at,
                 (n % 97)::float8 AS value
          FROM generate_series(1, $rows) n"
table() { if [ "$1" = kpi_bench_part_plain ]; then echo m; else echo kpi.measurement; fi; }
echo "kpi.measurement partitioned (0.11) against 0.10: $rows measurements, $inds indicators x 10 branches, 2025-2026"
printf '%-8s %12s %12s %16s %8s\n' db 'load ms' 'delete 10%' 'move 10% +1y' verify
declare -A load del mov
for d in $dbs; do
    t=$(table $d)
    load[$d]=$(timed $d "INSERT INTO $t (indicator_id, scope_id, at, value) SELECT * FROM ($rows_sql) r")
    psql_ -d $d -c "VACUUM ANALYZE"
    del[$d]=$(timed $d "DELETE FROM $t WHERE id % 10 = 3")
    mov[$d]=$(timed $d "UPDATE $t SET at = at + interval '1 year' WHERE id % 10 = 7")
    v=-; [ $d = kpi_bench_part_plain ] || v=$(verify $d)
    printf '%-8s %12s %12s %16s %8s\n' "${d#kpi_bench_part_}" "${load[$d]}" "${del[$d]}" "${mov[$d]}" "$v"
done
ratio() { awk "BEGIN { printf \"%.2f\", $1 / $2 }"; }
echo "0.11 / 0.10:  load $(ratio ${load[kpi_bench_part_011]} ${load[kpi_bench_part_010]}), delete $(ratio ${del[kpi_bench_part_011]} ${del[kpi_bench_part_010]}), move $(ratio ${mov[kpi_bench_part_011]} ${mov[kpi_bench_part_010]})"
echo "0.11p / 0.10: load $(ratio ${load[kpi_bench_part_011p]} ${load[kpi_bench_part_010]}), delete $(ratio ${del[kpi_bench_part_011p]} ${del[kpi_bench_part_010]}), move $(ratio ${mov[kpi_bench_part_011p]} ${mov[kpi_bench_part_010]})"
echo "0.11p / plain: load $(ratio ${load[kpi_bench_part_011p]} ${load[kpi_bench_part_plain]})"
# restores of the partitioned database
"$BINDIR/pg_dump" -Fc -f "$work/part.dump" kpi_bench_part_011p 2>/dev/null
"$BINDIR/pg_dump" -Fc --load-via-partition-root -f "$work/root.dump" kpi_bench_part_011p 2>/dev/null
restore_ms() {
    local db=$1 dump=$2 t0
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    t0=$(date +%s%N)
    "$BINDIR/pg_restore" -j 2 -d $db "$dump"
    echo $(( ($(date +%s%N) - t0) / 1000000 ))
}
r1=$(restore_ms kpi_bench_part_r1 "$work/part.dump")
r2=$(restore_ms kpi_bench_part_r2 "$work/root.dump")
echo "restore of 0.11p, pg_restore -j 2: partitions loaded directly $r1 ms (verify $(verify kpi_bench_part_r1)), through kpi.measurement (--load-via-partition-root) $r2 ms (verify $(verify kpi_bench_part_r2)); ratio $(ratio $r1 $r2)"
