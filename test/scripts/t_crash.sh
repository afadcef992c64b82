#!/usr/bin/env bash
# Crash-recovery test: 6 pgbench clients record measurements (kpi.record, or
# one INSERT ... RETURNING in a CTE), update and delete them, each time with
# the matching row of a ledger table and a per-client commit counter in the
# same transaction, while the measurement trigger keeps kpi.actual and
# kpi.alert.  After 3 seconds the server is stopped with -m immediate (a
# crash mid-load) and restarted, so WAL replay rebuilds everything.  Then:
#   - no committed transaction is lost: each client's counter is at least the
#     number of commits pgbench saw (and at most one more: a commit whose
#     reply the crash swallowed);
#   - measurements and ledger agree both ways (same id, same value), so no
#     transaction survived in part;
#   - kpi.verify() reports nothing (before release 0.5: kpi.actual equals a
#     rebuild from kpi.measurement, both ways).
# Runs its own throwaway cluster (fsync on) and leaves the one test.sh
# started alone.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)

CLIENTS=6        # pgbench clients
DURATION=8       # seconds pgbench would run
CRASH_AFTER=3    # seconds of load before the immediate shutdown
PORT=5433
DB=kpi_crash

# the caller's connection settings, put back on exit
saved_env=$(declare -p PGHOST PGPORT PGUSER PGDATABASE 2>/dev/null || true)
CRASH_TMP=""

fail() { printf 't_crash: %s\n' "$*" >&2; exit 1; }
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
pg_ctl_q() { kpi_as_pg "$BINDIR/pg_ctl" -D "$CRASH_TMP/data" "$@"; }

# cluster_cleanup (EXIT trap): stop our server whatever state it is in,
# remove its directory, restore the caller's environment, keep the status.
cluster_cleanup() {
    local rc=$?
    if [ -n "$CRASH_TMP" ] && [ -d "$CRASH_TMP" ]; then
        if [ -f "$CRASH_TMP/data/postmaster.pid" ]; then
            pg_ctl_q -m immediate -w stop >/dev/null 2>&1 ||
                kill -9 "$(head -1 "$CRASH_TMP/data/postmaster.pid")" 2>/dev/null || true
        fi
        rm -rf "$CRASH_TMP"
    fi
    unset PGHOST PGPORT PGUSER PGDATABASE
    eval "$saved_env"
    return $rc
}

# cluster_init: initdb in a temp directory the server user owns.
cluster_init() {
    CRASH_TMP=$(mktemp -d /tmp/kpi-crash.XXXXXX)
    trap cluster_cleanup EXIT
    trap 'exit 130' INT TERM
    chmod 755 "$CRASH_TMP"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$CRASH_TMP"
    kpi_as_pg "$BINDIR/initdb" -D "$CRASH_TMP/data" -U postgres --auth=trust \
        -E UTF8 --locale=C.UTF-8 >"$CRASH_TMP/initdb.log" 2>&1 ||
        { cat "$CRASH_TMP/initdb.log" >&2; fail "initdb failed"; }
    export PGHOST="$CRASH_TMP" PGPORT=$PORT PGUSER=postgres PGDATABASE=postgres
}

# cluster_start: start (or restart after the crash, replaying WAL) on a Unix
# socket in the temp directory only; fsync stays on.
cluster_start() {
    pg_ctl_q -l "$CRASH_TMP/server.log" -w -t 60 \
        -o "-c listen_addresses='' -k $CRASH_TMP -p $PORT -c max_connections=20" start >/dev/null ||
        { cat "$CRASH_TMP/server.log" >&2; fail "server did not start"; }
}

# setup_db: the extension, scopes, indicators, targets, alert rules, ledger.
setup_db() {
    psql_q -d postgres -c "CREATE DATABASE $DB"
    psql_q -d $DB >/dev/null <<SQL
CREATE EXTENSION kpi;
INSERT INTO kpi.scope (code, name) VALUES ('hq', '集团');
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'hq.r' || r, '大区' || r, kpi.scope_id('hq') FROM generate_series(1, 3) r;
INSERT INTO kpi.indicator (code, name, owner, grains) VALUES
    ('crash.a', 'A', 'alice', '{day,month,quarter}'),
    ('crash.b', 'B', 'bob', '{month,quarter,year}'),
    ('crash.c', 'C', 'carol', '{month,quarter}');
SELECT kpi.set_target(i.code, s.code, p.p::kpi.period, '>= 1000000')
FROM kpi.indicator i, kpi.scope s, (VALUES ('2026-Q3'), ('2026-07'), ('2026-08'), ('2026-09')) p(p);
INSERT INTO kpi.alert_rule (indicator_id, recovery_margin) SELECT id, 0.05 FROM kpi.indicator;
CREATE TABLE ledger(id bigserial primary key, measurement_id bigint not null, client int, value float8);
CREATE INDEX ledger_client ON ledger (client, id);
CREATE TABLE commits(client int primary key, n bigint not null);
INSERT INTO commits SELECT c, 0 FROM generate_series(0, $CLIENTS - 1) c;
SQL
}

# write_script: one pgbench transaction.  7 in 10 insert (5 through
# kpi.record and \gset, 2 in one CTE statement), 2 update a measurement's
# value and time (moving it between keys), 1 deletes one; the ledger row and
# the client's commit counter change in the same transaction.  Times are a
# random microsecond of a day of 2026-Q3, so first and last by time are
# never a tie.
write_script() {
    cat >"$CRASH_TMP/crash.sql" <<'SQL'
\set op random(1, 10)
\set i random(1, 3)
\set s random(0, 3)
\set v random(1, 1000)
\set d random(0, 91)
\set us random(0, 86399999999)
\set k random(0, 20)
BEGIN;
\if :op <= 5
SELECT kpi.record((ARRAY['crash.a', 'crash.b', 'crash.c'])[:i], (ARRAY['hq', 'hq.r1', 'hq.r2', 'hq.r3'])[:s + 1],
                  :v, date '2026-07-01' + :d + :us * interval '1 microsecond') AS mid \gset
INSERT INTO ledger (measurement_id, client, value) VALUES (:mid, :client_id, :v);
\elif :op <= 7
WITH m AS (INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
           VALUES (kpi.indicator_id((ARRAY['crash.a', 'crash.b', 'crash.c'])[:i]),
                   kpi.scope_id((ARRAY['hq', 'hq.r1', 'hq.r2', 'hq.r3'])[:s + 1]),
                   date '2026-07-01' + :d + :us * interval '1 microsecond', :v)
           RETURNING id, value)
INSERT INTO ledger (measurement_id, client, value) SELECT id, :client_id, value FROM m;
\elif :op <= 9
WITH l AS (UPDATE ledger SET value = :v
           WHERE id = (SELECT id FROM ledger WHERE client = :client_id ORDER BY id DESC LIMIT 1 OFFSET :k)
           RETURNING measurement_id)
UPDATE kpi.measurement m SET value = :v, at = date '2026-07-01' + :d + :us * interval '1 microsecond'
FROM l WHERE m.id = l.measurement_id;
\else
WITH l AS (DELETE FROM ledger
           WHERE id = (SELECT id FROM ledger WHERE client = :client_id ORDER BY id DESC LIMIT 1 OFFSET :k)
           RETURNING measurement_id)
DELETE FROM kpi.measurement m USING l WHERE m.id = l.measurement_id;
\endif
UPDATE commits SET n = n + 1 WHERE client = :client_id;
COMMIT;
SQL
}

# load_and_crash: pgbench in the background, an immediate shutdown mid-load,
# pgbench's connection errors ignored, then the restart.
load_and_crash() {
    local pid
    (cd "$CRASH_TMP" && exec "$BINDIR/pgbench" -n -c $CLIENTS -j 3 -T $DURATION --max-tries=10 \
        -l --log-prefix=txn -f crash.sql $DB >pgbench.log 2>&1) &
    pid=$!
    sleep $CRASH_AFTER
    pg_ctl_q -m immediate -w stop >/dev/null || fail "immediate shutdown failed"
    wait "$pid" || true
    grep -q 'aborted' "$CRASH_TMP/pgbench.log" ||
        { cat "$CRASH_TMP/pgbench.log" >&2; fail "the shutdown did not interrupt the load (pgbench was not aborted)"; }
    cluster_start
    grep -q 'redo starts' "$CRASH_TMP/server.log" ||
        { cat "$CRASH_TMP/server.log" >&2; fail "no WAL replay after the restart"; }
}

# seen_commits: per client, the transactions pgbench saw commit (its
# per-transaction log; failed ones have no numeric time).
seen_commits() {
    cat "$CRASH_TMP"/txn.* 2>/dev/null | awk '$3 ~ /^[0-9]+$/ { n[$1]++ } END { for (c in n) print c, n[c] }'
}

# check_durable: no commit pgbench saw is missing.
check_durable() {
    local lost summary
    seen_commits >"$CRASH_TMP/seen.txt"
    SEEN_TOTAL=$(awk '{ t += $2 } END { print t + 0 }' "$CRASH_TMP/seen.txt")
    [ "$SEEN_TOTAL" -gt 0 ] || { cat "$CRASH_TMP/pgbench.log" >&2; fail "no transaction committed before the crash"; }
    # the per-transaction logs must hold every commit pgbench counted
    summary=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$CRASH_TMP/pgbench.log")
    [ -z "$summary" ] || [ "$summary" = "$SEEN_TOTAL" ] ||
        fail "pgbench counted $summary transactions, its logs hold $SEEN_TOTAL"
    psql_q -At -F ' ' -d $DB -c "SELECT client, n FROM commits ORDER BY client" >"$CRASH_TMP/have.txt"
    lost=$(awk 'NR == FNR { seen[$1] = $2; next }
                { s = seen[$1] + 0; if ($2 < s || $2 > s + 1) printf "client %s: %s commits seen, %s present; ", $1, s, $2 }' \
           "$CRASH_TMP/seen.txt" "$CRASH_TMP/have.txt")
    [ -z "$lost" ] || fail "committed transactions lost or invented by recovery: $lost"
}

# check_ledger: measurements and ledger rows match one to one.
check_ledger() {
    local r
    r=$(psql_q -At -F ' ' -d $DB <<'SQL'
SELECT (SELECT count(*) FROM ledger l WHERE NOT EXISTS
           (SELECT FROM kpi.measurement m WHERE m.id = l.measurement_id AND m.value = l.value)),
       (SELECT count(*) FROM kpi.measurement m WHERE NOT EXISTS
           (SELECT FROM ledger l WHERE l.measurement_id = m.id AND l.value = m.value)),
       (SELECT count(*) - count(DISTINCT measurement_id) FROM ledger),
       (SELECT count(*) FROM kpi.measurement);
SQL
)
    set -- $r
    [ "$1" = 0 ] || fail "$1 ledger rows without their measurement (same id and value) after recovery"
    [ "$2" = 0 ] || fail "$2 measurements without their ledger row (same id and value) after recovery"
    [ "$3" = 0 ] || fail "$3 measurements with more than one ledger row after recovery"
    [ "$4" -gt 0 ] || fail "no measurement survived the crash"
    MEASUREMENTS=$4
}

# check_derived: kpi.verify() when the release has it, else kpi.actual
# against a rebuild from kpi.measurement (both ways, rolled back).
check_derived() {
    local has
    has=$(psql_q -At -d $DB -c "SELECT to_regprocedure('kpi.verify()') IS NOT NULL")
    if [ "$has" = t ]; then
        # from 0.7 on, the alerts of regions wait for the evaluation cycle
        psql_q -At -d $DB -c "SELECT CASE WHEN to_regprocedure('kpi.evaluate(timestamptz)') IS NOT NULL
                                          THEN (SELECT count(*) FROM kpi.evaluate()) END" >/dev/null ||
            fail "kpi.evaluate() failed after recovery"
        DERIVED=$(psql_q -At -d $DB -c "SELECT count(*) FROM kpi.verify()") ||
            fail "kpi.verify() failed after recovery"
        DERIVED_WHAT="kpi.verify(): $DERIVED rows"
        [ "$DERIVED" = 0 ] || { psql_q -d $DB -c "SELECT * FROM kpi.verify() LIMIT 20" >&2 || true;
                                fail "kpi.verify() reports $DERIVED disagreements after recovery"; }
        return
    fi
    echo "note: kpi.verify() is not there yet (arrives in 0.5); comparing kpi.actual with kpi.actual_rebuild()"
    DERIVED=$(psql_q -At -d $DB <<'SQL' | tail -1
BEGIN;
CREATE TEMP VIEW actual_v AS
SELECT indicator_id, scope_id, period::text AS period, kpi.value(tally, 'count') AS n,
       kpi.value(tally, 'sum') AS s, kpi.value(tally, 'min') AS lo, kpi.value(tally, 'max') AS hi,
       value, target, attainment, status::text AS status
FROM kpi.actual;
CREATE TEMP TABLE kept AS SELECT * FROM actual_v;
SELECT kpi.actual_rebuild() >= 0 \g /dev/null
CREATE TEMP TABLE diff AS
SELECT 'kept' AS side, * FROM (TABLE kept EXCEPT TABLE actual_v) a
UNION ALL SELECT 'rebuilt', * FROM (TABLE actual_v EXCEPT TABLE kept) b;
\o /dev/stderr
\qecho 'kpi.actual rows differing from a rebuild (side|indicator|scope|period|count|sum|min|max|value|target|attainment|status):'
SELECT * FROM diff ORDER BY indicator_id, scope_id, period, side LIMIT 20;
\o
SELECT count(*) FROM diff;
ROLLBACK;
SQL
) || fail "comparing kpi.actual with kpi.actual_rebuild() failed after recovery"
    DERIVED_WHAT="kpi.verify() absent, kpi.actual rows differing from a rebuild: $DERIVED"
    [ "$DERIVED" = 0 ] || fail "kpi.actual differs from a rebuild from kpi.measurement in $DERIVED rows after recovery"
}

cluster_init
cluster_start
setup_db
write_script
load_and_crash
check_durable
check_ledger
check_derived
echo "crash mid-load: $SEEN_TOTAL committed transactions before the crash, all $MEASUREMENTS measurements and ledger rows present after recovery; $DERIVED_WHAT"
