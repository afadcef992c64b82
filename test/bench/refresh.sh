#!/usr/bin/env bash
# Benchmark: kpi.refresh of a computed indicator against the same daily
# aggregates written by hand, on KPI_BENCH_ROWS source rows (20,000,000;
# orders of 200 branches over the two years before today, with an index
# on the time column, in the company zone Asia/Shanghai).  Figures:
#   * full refresh of a revenue indicator (sum of amount, cancelled orders
#     filtered out) against the hand-written
#       INSERT INTO kpi.measurement ... SELECT ... kpi.tally(...) GROUP BY
#     into an indicator of its own, both through kpi's trigger; the hand
#     version runs before and after the refresh, and the mean counts;
#   * incremental refresh after 1% new rows (the last three days), against
#     the full refresh; and a refresh with nothing new;
#   * the computed year's total against sum() over the source.
# Prints figures and ratios; never fails on speed.  Runs against the
# cluster bench.sh started.  KPI_BENCH_KEEP=1 keeps the database.
set -euo pipefail
. "$(dirname "$0")/../scripts/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
rows=${KPI_BENCH_ROWS:-20000000}
db=kpi_bench_refresh
export PGOPTIONS="-c client_min_messages=warning"
psql_() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
# ms a statement takes (one run: each of these changes data)
timed() {
    psql_ -d $db -At <<SQL
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t;
\\o /dev/null
$1;
\\o
SELECT round((extract(epoch FROM clock_timestamp() - (SELECT t FROM t0)) * 1000)::numeric, 0);
SQL
}
started=$(date +%s)
psql_ -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql_ -d $db -v rows="$rows" >/dev/null <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai'), ('alert_in_writer', 'off');
INSERT INTO kpi.scope (code, name) VALUES ('hq', 'Company');
INSERT INTO kpi.scope (code, name, parent_id) SELECT 'hq.r' || r, 'Region ' || r, kpi.scope_id('hq') FROM generate_series(1, 10) r;
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'hq.r' || r || '.b' || b, 'Branch ' || r || '.' || b, kpi.scope_id('hq.r' || r)
FROM generate_series(1, 10) r, generate_series(1, 20) b;
INSERT INTO kpi.indicator (code, name, agg) VALUES
    ('revenue', 'Revenue (computed)', 'sum'), ('revenue_hand', 'Revenue (by hand)', 'sum'),
    ('revenue_hand2', 'Revenue (by hand, again)', 'sum');
CREATE TABLE orders (id bigserial PRIMARY KEY, branch text NOT NULL, ordered_at timestamptz NOT NULL,
                     amount numeric(12, 2) NOT NULL, status text NOT NULL);
-- two years up to four days ago; the last three days arrive later
INSERT INTO orders (branch, ordered_at, amount, status)
SELECT 'hq.r' || (1 + g % 10) || '.b' || (1 + (g / 10) % 20),
       now() - interval '4 days' - (g::float8 / :rows) * interval '730 days',
       (g % 9973) / 10.0 + 5, CASE WHEN g % 23 = 0 THEN 'cancelled' ELSE 'paid' END
FROM generate_series(1, :rows) g;
CREATE INDEX orders_at ON orders (ordered_at);
VACUUM ANALYZE orders;
SELECT kpi.set_source('revenue', 'orders', 'ordered_at', 'branch', 'amount', filter => $$status <> 'cancelled'$$);
SELECT count(*) FROM orders;
SQL
echo "refresh: $rows source rows loaded in $(( $(date +%s) - started )) s"
hand() {
    timed "INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, tally, source)
SELECT kpi.indicator_id('$1'), s.id, timezone('Asia/Shanghai', d.day::timestamp), kpi.value(d.t, 'sum'), d.t, 'by hand'
FROM (SELECT o.branch, timezone('Asia/Shanghai', o.ordered_at)::date AS day, kpi.tally(o.amount::float8, o.ordered_at) AS t
      FROM orders o WHERE o.status <> 'cancelled' GROUP BY 1, 2) d
JOIN kpi.scope s ON s.code = d.branch"
}
hand1=$(hand revenue_hand)
full=$(timed "SELECT * FROM kpi.refresh('revenue')")
hand2=$(hand revenue_hand2)
# 1% new rows over the last three days (late and new)
psql_ -d $db -v rows="$rows" <<'SQL'
INSERT INTO orders (branch, ordered_at, amount, status)
SELECT 'hq.r' || (1 + g % 10) || '.b' || (1 + (g / 10) % 20), now() - (g::float8 / (:rows / 100)) * interval '3 days',
       (g % 9973) / 10.0 + 5, 'paid'
FROM generate_series(1, :rows / 100) g;
ANALYZE orders;
SQL
incr=$(timed "SELECT * FROM kpi.refresh('revenue')")
none=$(timed "SELECT * FROM kpi.refresh('revenue')")
check=$(psql_ -d $db -At <<'SQL'
SELECT format('%s measurements; source total %s, computed %s; kpi.verify: %s problem(s)',
    (SELECT count(*) FROM kpi.measurement WHERE indicator_id = kpi.indicator_id('revenue')),
    (SELECT sum(amount) FROM orders WHERE status <> 'cancelled'),
    (SELECT sum(value) FROM kpi.measurement WHERE indicator_id = kpi.indicator_id('revenue')),
    (SELECT count(*) FROM kpi.verify()));
SQL
)
echo "refresh: full refresh $full ms; by hand (INSERT ... SELECT ... GROUP BY) $hand1 ms before, $hand2 ms after"
awk -v f="$full" -v a="$hand1" -v b="$hand2" 'BEGIN { printf "refresh: full refresh / by hand = %.2f\n", f / ((a + b) / 2) }'
echo "refresh: incremental refresh after 1% new rows $incr ms; with nothing new $none ms"
awk -v i="$incr" -v f="$full" 'BEGIN { printf "refresh: incremental / full = %.1f%%\n", 100 * i / f }'
echo "refresh: $check"
[ "${KPI_BENCH_KEEP:-0}" = 1 ] || psql_ -d postgres -c "DROP DATABASE $db"
