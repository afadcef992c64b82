#!/usr/bin/env bash
# Concurrent load test: 8 pgbench clients record bad values on 6 keys (two
# indicators x three scopes) for 5 seconds, each statement touching two keys
# in random order.  Afterwards every key has exactly one unresolved alert,
# kpi.actual agrees with a rebuild from kpi.measurement, and no client hit an
# error (deadlocks included).  Runs against the cluster test.sh started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
db=kpi_alert_load
psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
psql_q -d $db >/dev/null <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.scope (code, name) VALUES ('hq', '集团');
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'hq.r' || r, '大区' || r, kpi.scope_id('hq') FROM generate_series(1, 3) r;
INSERT INTO kpi.indicator (code, name, owner) VALUES ('load.a', 'A', 'alice'), ('load.b', 'B', 'bob');
INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
SELECT i.id, s.id, '2026-07', '>= 1000000' FROM kpi.indicator i, kpi.scope s WHERE s.parent_id IS NOT NULL;
INSERT INTO kpi.alert_rule (indicator_id, recovery_margin) SELECT id, 0.05 FROM kpi.indicator;
SQL
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/write.sql" <<'SQL'
\set r random(1, 3)
\set x random(1, 100)
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
SELECT kpi.indicator_id(c), kpi.scope_id('hq.r' || :r), '2026-07-15', :x
FROM unnest(CASE WHEN :x % 2 = 0 THEN ARRAY['load.a', 'load.b'] ELSE ARRAY['load.b', 'load.a'] END) c;
SQL
"$BINDIR/pgbench" -n -c 8 -j 2 -T 5 -f "$work/write.sql" $db > "$work/pgbench.log" 2>&1 ||
    { cat "$work/pgbench.log"; echo "pgbench failed"; exit 1; }
txns=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/pgbench.log")
failed=$(sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$work/pgbench.log")
[ "${failed:-0}" = "0" ] || { cat "$work/pgbench.log"; echo "$failed transactions failed"; exit 1; }
result=$(psql_q -At -d $db <<'SQL'
SELECT count(*) || ' keys, ' || max(n) || ' max unresolved per key, ' || min(n) || ' min'
FROM (SELECT a.indicator_id, a.scope_id, a.period, count(*) FILTER (WHERE a.state <> 'resolved') AS n
      FROM kpi.alert a GROUP BY 1, 2, 3) k
WHERE k.period::text = '2026-07';
SQL
)
# the regions' company key is judged by the next cycle; then all equals a fresh judgement
drift=$(psql_q -At -d $db -c "SELECT count(*) FROM kpi.evaluate()" -c "SELECT count(*) FROM kpi.verify()" | tail -1)
kept=$(psql_q -At -d $db -c "CREATE TEMP TABLE k AS SELECT indicator_id, scope_id, period::text AS p, kpi.value(tally, 'sum') AS s, kpi.value(tally, 'count') AS n FROM kpi.actual" \
        -c "SELECT kpi.actual_rebuild() >= 0" \
        -c "SELECT count(*) FROM (SELECT indicator_id, scope_id, period::text, kpi.value(tally, 'sum'), kpi.value(tally, 'count') FROM kpi.actual EXCEPT SELECT * FROM k) d" | tail -1)
psql_q -d postgres -c "DROP DATABASE $db"
echo "$txns concurrent statements: $result; actuals differing from a rebuild: $kept; kpi.verify() problems after kpi.evaluate(): $drift"
[ "$result" = "6 keys, 1 max unresolved per key, 1 min" ] || { echo "expected one unresolved alert per key"; exit 1; }
[ "$kept" = "0" ] || { echo "kpi.actual drifted from kpi.measurement under concurrency"; exit 1; }
[ "$drift" = "0" ] || { echo "alerts or actuals differ from a fresh computation"; exit 1; }
