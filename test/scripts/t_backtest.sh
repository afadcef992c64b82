#!/usr/bin/env bash
# Backtest of kpi.forecast on the demo company (test/demo/company.sql:
# 2025 and 2026 by month, targets for 2026).  For every key (indicator
# that keeps quarters, every scope with data) and every quarter of 2026,
# forecast at the end of the quarter's first and of its second month
# (kpi.forecast reads only what was measured before that moment) and
# compare with the quarter's actual.  Prints, per month and method, the
# forecasts, the median absolute percentage error of the projection and
# the share of actuals inside the 80% interval; and how long the
# forecasts of one quarter took in one statement.  Fails when the
# figures regress past what this release measured (median error above 3%
# at either month; overall coverage outside 70%..95%), so that they
# cannot get worse silently.  Runs against the cluster test.sh started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
db=kpi_backtest
psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
(cd "$KPI_ROOT/test/demo" && psql_q -d $db -c "CREATE EXTENSION kpi" -f company.sql >/dev/null)

psql_q -d $db <<'SQL'
CREATE TABLE public.backtest AS
WITH keys AS (
    SELECT DISTINCT i.code AS indicator, i.agg, s.id AS scope_id, s.code AS scope, a.period
    FROM kpi.actual a
    JOIN kpi.indicator i ON i.id = a.indicator_id
    JOIN kpi.scope_tree t ON t.scope_id = a.scope_id
    JOIN kpi.scope s ON s.id = t.ancestor_id
    WHERE kpi.grain(a.period) = 'quarter' AND kpi.start_date(a.period) >= '2026-01-01'
      AND i.lifecycle <> 'retired'
), points AS (
    -- the end of the quarter's first and second month, company time
    SELECT k.*, m AS month,
           pg_catalog.timezone(kpi.time_zone(), (kpi.start_date(k.period) + make_interval(months => m))::timestamp) AS at
    FROM keys k, generate_series(1, 2) m
)
SELECT p.indicator, p.scope, p.period::text AS period, p.month,
       CASE WHEN p.agg IN ('sum', 'count') THEN 'cumulative' ELSE 'level' END AS kind,
       f.method, f.projected, f.low, f.high, fin.value AS final
FROM points p
CROSS JOIN LATERAL kpi.forecast(p.indicator, p.scope, p.period, p.at) f
CROSS JOIN LATERAL kpi.rolled_up(kpi.indicator_id(p.indicator), p.agg, kpi.scope_descendants(p.scope_id), p.period) fin;
SQL

echo "kpi.forecast backtest on the demo: every key and quarter of 2026, forecast at the end of month 1 and 2"
psql_q -d $db <<'SQL'
\pset footer off
SELECT month, coalesce(kind, 'all') AS kind, coalesce(method, 'all') AS method, count(*) AS forecasts,
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(projected - final) / abs(final)) * 100)::numeric, 2)
           AS "median abs % error",
       round(avg((final BETWEEN low AND high)::int) * 100, 1) AS "% inside 80% interval"
FROM public.backtest
WHERE projected IS NOT NULL AND final IS NOT NULL AND final <> 0
GROUP BY ROLLUP (month, kind, method)
HAVING month IS NOT NULL
ORDER BY month, kind NULLS LAST, method NULLS LAST;
SQL

# one statement: the forecasts of every key of one quarter, as of mid-August
started=$(date +%s%N)
n=$(psql_q -d $db -At <<'SQL'
SELECT count(f.*)
FROM (SELECT DISTINCT i.code AS indicator, s.code AS scope
      FROM kpi.actual a JOIN kpi.indicator i ON i.id = a.indicator_id
      JOIN kpi.scope_tree t ON t.scope_id = a.scope_id JOIN kpi.scope s ON s.id = t.ancestor_id
      WHERE a.period::text = '2026-Q3') k
CROSS JOIN LATERAL kpi.forecast(k.indicator, k.scope, '2026-Q3', '2026-08-15 12:00+08') f
SQL
)
echo "forecasts of every key of 2026-Q3 in one statement: $n keys in $(( ($(date +%s%N) - started) / 1000000 )) ms"

read -r e1 e2 cov < <(psql_q -d $db -At -F ' ' <<'SQL'
SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(projected - final) / abs(final))
              FILTER (WHERE month = 1) * 100)::numeric, 2),
       round((percentile_cont(0.5) WITHIN GROUP (ORDER BY abs(projected - final) / abs(final))
              FILTER (WHERE month = 2) * 100)::numeric, 2),
       round(avg((final BETWEEN low AND high)::int) * 100, 1)
FROM public.backtest WHERE projected IS NOT NULL AND final IS NOT NULL AND final <> 0
SQL
)
echo "overall: median abs error $e1% (month 1), $e2% (month 2); $cov% of actuals inside the 80% interval"
psql_q -d postgres -c "DROP DATABASE $db"
rc=0
awk "BEGIN { exit !($e1 <= 3 && $e2 <= 3) }" || { echo "FAIL: median error above 3%"; rc=1; }
awk "BEGIN { exit !($cov >= 70 && $cov <= 95) }" || { echo "FAIL: coverage of the 80% interval outside 70%..95%"; rc=1; }
exit $rc
