#!/usr/bin/env bash
# Dump/restore test.  A database with the demo company, a company time zone,
# alert queue activity (claims, acks, resolves, escalations), a retarget, a
# revised indicator and a silence is dumped and restored in every supported
# way, each into a new database:
#   plain format through psql; custom format, serial and pg_restore -j 2;
#   directory format, -j 2; --data-only (pg_dump --data-only, custom format:
#   the extension's config tables and the setval of its sequences), serial
#   and -j 2, and --data-only -j 2 from the full custom dump, into databases
#   where CREATE EXTENSION kpi already ran.
# Every copy must equal the original: every table of schema kpi (found in
# pg_tables, so new tables are covered), history and alerts included, the
# sequences, kpi.rollup, the alert queue a consumer would claim and the
# escalations that are due; kpi.verify() reports nothing anywhere.
# Runs against the cluster test.sh started (PGHOST, PGPORT, PGUSER).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
src=kpi_dump_src
dbs=()
cleanup() {
    local rc=$? db
    for db in $src "${dbs[@]}"; do
        psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
    return $rc
}
trap cleanup EXIT

# ---------------------------------------------------------------------
# The source database
# ---------------------------------------------------------------------
psql_q -d postgres -c "DROP DATABASE IF EXISTS $src" -c "CREATE DATABASE $src"
psql_q -d $src -c "CREATE EXTENSION kpi" \
    -c "INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai')" >/dev/null
(cd "$KPI_ROOT/test/demo" && psql_q -d $src -f company.sql >/dev/null)
psql_q -d $src >/dev/null <<'SQL'
SET timezone = 'Asia/Shanghai';
-- the dictionary is revised: one more indicator_history row
UPDATE kpi.indicator SET description = description || '（2026 年 7 月修订：含以旧换新补贴）'
WHERE code = 'sales.orders';
-- a retarget of an existing key: a target_history UPDATE, the key evaluated again
SELECT kpi.set_target('sales.revenue', 'hq.north', '2026-07', '>= 9000', '华北下半年目标上调');
-- a silence
INSERT INTO kpi.silence (indicator_id, scope_id, until, reason)
VALUES (kpi.indicator_id('mfg.output'), kpi.scope_id('hq.south'), '2027-01-01 00:00+08', '台风后产线检修');
-- a late correction
SELECT kpi.record('sales.revenue', 'hq.north', -120, '2026-12-20 10:00+08', '退货冲减');
-- the alert queue at work: four claimed (the fourth keeps its lease for the
-- whole test), one acked, one resolved, one acked and then resolved;
-- escalations that were due two days later
SELECT count(*) FROM kpi.alert_claim('t_dump', 4, '1 hour');
SELECT (array_agg(id ORDER BY id))[1] AS a1, (array_agg(id ORDER BY id))[2] AS a2,
       (array_agg(id ORDER BY id))[3] AS a3
FROM kpi.alert WHERE claimed_by = 't_dump' \gset
SELECT kpi.alert_ack(:a1, 'alice', '在查');
SELECT kpi.alert_resolve(:a2, 'bob', '数据延迟，误报');
SELECT kpi.alert_ack(:a3, 'carol');
SELECT kpi.alert_resolve(:a3, 'carol', '已处理');
SELECT kpi.alert_escalate(now() + interval '2 days');
SQL

# ---------------------------------------------------------------------
# The snapshot: one line per table (count and md5 of its rows in text form,
# sorted), per sequence, per rollup row, per alert a consumer would claim
# and per escalation due, then kpi.verify()'s count.
# Not compared: kpi.actual.updated_at, the time a derived row was computed
# (kpi.actual is not dumped; a restore derives it again).
# ---------------------------------------------------------------------
rowexprs_sql="
SELECT t.tablename,
       'ROW(' || string_agg(format('x.%I', a.attname), ', ' ORDER BY a.attnum) || ')::text' AS expr
FROM pg_tables t
JOIN pg_attribute a ON a.attrelid = format('%I.%I', t.schemaname, t.tablename)::regclass
                   AND a.attnum > 0 AND NOT a.attisdropped
WHERE t.schemaname = 'kpi'
  AND (t.tablename, a.attname) NOT IN (('actual', 'updated_at'))
GROUP BY t.tablename"
fixed_settings="SET timezone = 'UTC'; SET DateStyle = 'ISO, YMD'; SET IntervalStyle = 'postgres';
SET extra_float_digits = 1; SET search_path = pg_catalog, pg_temp;"

snapshot() {   # snapshot DB: writes the lines on stdout
    psql_q -At -d "$1" <<SQL
$fixed_settings
-- every table
SELECT format(\$q\$SELECT 'table %1\$s', count(*), md5(coalesce(string_agg(r, E'\\n' ORDER BY r COLLATE "C"), '')) FROM (SELECT %2\$s AS r FROM kpi.%1\$I x) s\$q\$,
              tablename, expr)
FROM ($rowexprs_sql) e ORDER BY tablename \gexec
-- every sequence: its state, and whether it is ahead of the column it feeds
SELECT CASE WHEN a.attname IS NULL
            THEN format(\$q\$SELECT 'sequence %1\$s', last_value, is_called FROM kpi.%1\$I\$q\$, s.relname)
            ELSE format(\$q\$SELECT 'sequence %1\$s', last_value, is_called,
                               'ahead of %2\$s.%3\$s: ' || ((SELECT coalesce(max(%3\$I), 0) FROM kpi.%2\$I)
                                  < CASE WHEN is_called THEN last_value + 1 ELSE last_value END)
                        FROM kpi.%1\$I\$q\$, s.relname, t.relname, a.attname) END
FROM pg_class s
JOIN pg_namespace n ON n.oid = s.relnamespace AND n.nspname = 'kpi'
LEFT JOIN pg_depend d ON d.classid = 'pg_class'::regclass AND d.objid = s.oid
                     AND d.refclassid = 'pg_class'::regclass AND d.deptype IN ('a', 'i')
LEFT JOIN pg_class t ON t.oid = d.refobjid
LEFT JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
WHERE s.relkind = 'S'
ORDER BY s.relname \gexec
-- rollups of the whole tree
SELECT 'rollup 2026-Q2 hq', r.* FROM kpi.rollup('2026-Q2') r;
SELECT 'rollup 2026-06 hq.east', r.* FROM kpi.rollup('2026-06', 'hq.east') r;
SELECT 'rollup 2026 hq.north', r.* FROM kpi.rollup('2026', 'hq.north') r;
-- the alert queue: what a consumer claims now, what escalation would move
-- in a month (both rolled back; they only advance kpi.alert_event_id_seq,
-- which was compared above)
BEGIN;
SELECT 'queue claim', c.id, c.indicator_id, c.scope_id, c.period, c.severity, c.delivery_count, c.assignee
FROM kpi.alert_claim('t_dump snapshot', 1000, '1 minute') c;
SELECT 'queue escalate', kpi.alert_escalate(now() + interval '30 days');
SELECT 'queue escalated', a.id, a.escalation_level, a.assignee FROM kpi.alert a
WHERE a.state = 'open' ORDER BY a.id;
ROLLBACK;
SELECT 'verify', count(*) FROM kpi.verify();
SQL
}

# rows DB TABLE: the rows of one table as compared, sorted
rows() {
    local expr
    expr=$(psql_q -At -d "$1" -c "SELECT expr FROM ($rowexprs_sql) e WHERE tablename = '$2'")
    [ -n "$expr" ] || return 0
    psql_q -At -d "$1" <<SQL
$fixed_settings
SELECT r FROM (SELECT $expr AS r FROM kpi.$2 x) s ORDER BY r COLLATE "C";
SQL
}

# ---------------------------------------------------------------------
# The dumps, all of the same state (snapshots advance a sequence, so the
# source is snapshotted after dumping)
# ---------------------------------------------------------------------
dump() {   # dump NAME pg_dump-options...
    local name=$1; shift
    "$BINDIR/pg_dump" "$@" $src 2>"$work/$name.log" ||
        { cat "$work/$name.log"; echo "pg_dump $* failed"; exit 1; }
}
dump plain    -Fp -f "$work/dump.sql"
dump custom   -Fc -f "$work/dump.custom"
dump dir      -Fd -f "$work/dump.dir"
dump datacust -Fc --data-only -f "$work/data.custom"

snapshot $src >"$work/src.txt"
src_verify=$(sed -n 's/^verify|//p' "$work/src.txt")
if [ "$src_verify" != 0 ]; then
    echo "kpi.verify() reports ${src_verify:-nothing (it failed)} in the source database:"
    psql_q -d $src -c "SELECT * FROM kpi.verify() LIMIT 20"
    exit 1
fi
for t in $(sed -n 's/^table \([^|]*\)|.*/\1/p' "$work/src.txt"); do
    if grep -q "^table $t|0|" "$work/src.txt"; then echo "source table kpi.$t is empty"; exit 1; fi
done
grep -q '^rollup 2026-Q2 hq|' "$work/src.txt" || { echo "rollup returned no rows"; exit 1; }
grep -q '^queue claim|' "$work/src.txt" || { echo "the source has no claimable alert"; exit 1; }
n_tables=$(grep -c '^table ' "$work/src.txt")
n_seq=$(grep -c '^sequence ' "$work/src.txt")
n_rollup=$(grep -c '^rollup ' "$work/src.txt")
n_queue=$(grep -c '^queue claim|' "$work/src.txt")
echo "source: $n_tables tables, $n_seq sequences, $n_rollup rollup rows, $n_queue claimable alerts, verify 0"

# ---------------------------------------------------------------------
# The restores
# ---------------------------------------------------------------------
failed=0
n=0
# restore LABEL DATA_ONLY COMMAND...: create a database (with CREATE EXTENSION
# kpi first when DATA_ONLY is 1), run COMMAND (an argument DB is the
# database's name), compare its snapshot with the original's; on a
# difference say what differs, and fail at the end
restore() {
    local label=$1 data_only=$2; shift 2
    local db="kpi_dump_r$n" rc=0 arg args=() errors=""
    n=$((n + 1))
    dbs+=("$db")
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
    [ "$data_only" = 1 ] && psql_q -d $db -c "CREATE EXTENSION kpi" >/dev/null
    for arg in "$@"; do
        if [ "$arg" = DB ]; then args+=("$db"); else args+=("$arg"); fi
    done
    "${args[@]}" >"$work/$db.out" 2>"$work/$db.err" || rc=$?
    # pg_restore -j goes on after errors and ends with "errors ignored on
    # restore: N"; psql -v ON_ERROR_STOP=1 and --exit-on-error stop at the first
    if [ $rc -ne 0 ] || grep -Eq 'ERROR|error:|errors ignored' "$work/$db.err"; then
        errors="exit status $rc"
        echo "restore $label: FAILED: the restore reported errors ($errors):"
        grep -E 'ERROR|error|DETAIL|CONTEXT|errors ignored' "$work/$db.err" | head -40 | sed 's/^/    /' || true
    fi
    snapshot $db >"$work/$db.txt" 2>"$work/$db.snap.err" || true
    if [ -z "$errors" ] && diff -q "$work/src.txt" "$work/$db.txt" >/dev/null; then
        echo "restore $label: $n_tables tables identical, $n_seq sequences identical," \
             "rollups identical ($n_rollup rows), alert queue identical ($n_queue claimable), verify 0"
        return 0
    fi
    failed=1
    [ -n "$errors" ] || echo "restore $label: FAILED: the restored database differs from the original"
    # (|| true after every head: pipefail would end the script on SIGPIPE)
    sed 's/^/    snapshot: /' "$work/$db.snap.err" | head -10 || true
    # what differs: table, sequence and verify lines in full, rollup and
    # queue lines counted, then the differing rows of each table
    diff "$work/src.txt" "$work/$db.txt" >"$work/diff" || true
    echo "    diff of the snapshots (< original, > restored):"
    grep -E '^[<>] (table|sequence|verify)' "$work/diff" | sed 's/^/    /' || true
    local group
    for group in rollup 'queue claim' 'queue escalate'; do
        grep -q "^[<>] $group" "$work/diff" || continue
        echo "    $group: $(grep -c "^< $group" "$work/diff" || true) lines of the original" \
             "and $(grep -c "^> $group" "$work/diff" || true) of the copy differ, e.g.:"
        grep "^[<>] $group" "$work/diff" | head -4 | sed 's/^/      /' || true
    done
    local t
    for t in $(sed -n 's/^[<>] table \([^|]*\)|.*/\1/p' "$work/diff" | sort -u); do
        rows $src "$t" >"$work/rows.src" 2>/dev/null || true
        rows $db "$t" >"$work/rows.dst" 2>/dev/null || true
        diff "$work/rows.src" "$work/rows.dst" >"$work/rows.diff" || true
        echo "    kpi.$t: $(wc -l <"$work/rows.src") rows in the original, $(wc -l <"$work/rows.dst") in the copy;" \
             "$(grep -c '^<' "$work/rows.diff" || true) only in the original," \
             "$(grep -c '^>' "$work/rows.diff" || true) only in the copy, e.g.:"
        { grep '^<' "$work/rows.diff" | head -2; grep '^>' "$work/rows.diff" | head -2; } |
            cut -c1-240 | sed 's/^/      /' || true
    done
    if ! grep -q '^verify|0$' "$work/$db.txt"; then
        echo "    kpi.verify() in the copy:"
        psql_q -d $db -c "SELECT problem, count(*), min(indicator || ' ' || scope || ' ' || period) AS example,
                                 min(detail) AS detail
                          FROM kpi.verify() GROUP BY problem ORDER BY problem" 2>&1 | sed 's/^/      /' || true
    fi
}

restore "plain" 0 \
    "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d DB -f "$work/dump.sql"
restore "custom" 0 \
    "$BINDIR/pg_restore" --exit-on-error -d DB "$work/dump.custom"
restore "custom -j 2" 0 \
    "$BINDIR/pg_restore" -j 2 -d DB "$work/dump.custom"
restore "directory -j 2" 0 \
    "$BINDIR/pg_restore" -j 2 -d DB "$work/dump.dir"
restore "data-only custom" 1 \
    "$BINDIR/pg_restore" --data-only --exit-on-error -d DB "$work/data.custom"
restore "data-only custom -j 2" 1 \
    "$BINDIR/pg_restore" --data-only -j 2 -d DB "$work/data.custom"
restore "data-only of a full custom dump -j 2" 1 \
    "$BINDIR/pg_restore" --data-only -j 2 -d DB "$work/dump.custom"

if [ $failed -ne 0 ]; then
    echo "dump/restore: some restores differ from the original"
    exit 1
fi
echo "dump/restore: every mode restores every table, sequence, rollup and the alert queue identically"
