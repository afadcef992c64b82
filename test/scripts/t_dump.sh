#!/usr/bin/env bash
# Dump/restore test.  A database with the demo company, a company time zone,
# alert queue activity (claims, acks, resolves, escalations), a retarget, a
# revised indicator and a silence is dumped and restored in every supported
# way, each into a new database:
#   plain format through psql; custom format, serial and pg_restore -j 2;
#   directory format, -j 2; --data-only (pg_dump --data-only, custom format:
#   the extension's config tables and the setval of its sequences), serial
#   and -j 2, and --data-only -j 2 from the full custom dump, into databases
#   where CREATE EXTENSION kpi already ran; and a custom dump taken with
#   --load-via-partition-root, -j 2.  kpi.measurement has a partition for
#   the company's 2026 besides its default one (0.11).
# The demo computes revenue, orders and the complaint rate from its business
# tables (release 0.10): the definitions, refresh states and a restatement
# travel with the dump, and a refresh after the restore changes nothing.
# The database holds release 0.6's rows too: a scope membership of a role
# (roles are cluster-wide, so the role exists wherever the dump is
# restored), besides the demo's review two more (one closed, one planned)
# with findings, actions (done, dropped, deleted, one changed by the
# member under row-level security) and their history, and alerts resolved
# with a finding, some with the finding they prompted: kpi.finding.alert_id
# and kpi.alert.finding_id point at each other, a foreign key cycle the
# restore must load in any order.
# Every copy must equal the original: every table of schema kpi (found in
# pg_tables, so new tables are covered), history and alerts included, the
# sequences, kpi.rollup, the alert queue a consumer would claim and the
# escalations that are due, the alerts' follow-up, the lessons search and
# what the member sees; kpi.verify() reports nothing anywhere.  The
# restore writes no history of its own: kpi.review_history (and the other
# history tables) have exactly the original's rows.
# Runs against the cluster test.sh started (PGHOST, PGPORT, PGUSER).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
src=kpi_dump_src
member=kpi_dump_reviewer   # a role, member of a scope (kpi.scope_member)
member_created=0
dbs=()
cleanup() {
    local rc=$? db
    for db in $src "${dbs[@]}"; do
        psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    done
    # after the databases: they hold the role's grants
    [ "$member_created" = 1 ] && { psql_q -d postgres -c "DROP ROLE IF EXISTS $member" >/dev/null 2>&1 || true; }
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
# kpi.measurement with a partition for the company's 2026 (0.11); 2025
# stays in the default one: pg_dump loads a partition's rows straight into it
partitions="SELECT kpi.measurement_partition('measurement_y2026', '2026-01-01 00:00+08', '2027-01-01 00:00+08')"
psql_q -d $src -c "$partitions" >/dev/null
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
SELECT kpi.record('market.ad_spend', 'hq.north', -120, '2026-12-20 10:00+08', '广告费退回冲减');
-- the alert queue at work: four claimed (the fourth keeps its lease for the
-- whole test), one acked, one resolved, one acked and then resolved (none
-- of the second quarter's, which the review below takes up); escalations
-- that were due two days later
SELECT count(*) FROM kpi.alert_claim('t_dump', 4, '1 hour');
SELECT (array_agg(id ORDER BY id))[1] AS a1, (array_agg(id ORDER BY id))[2] AS a2,
       (array_agg(id ORDER BY id))[3] AS a3
FROM kpi.alert WHERE claimed_by = 't_dump' AND period::text <> '2026-Q2' \gset
SELECT kpi.alert_ack(:a1, 'alice', '在查');
SELECT kpi.alert_resolve(:a2, 'bob', '数据延迟，误报');
SELECT kpi.alert_ack(:a3, 'carol');
SELECT kpi.alert_resolve(:a3, 'carol', '已处理');
SELECT kpi.alert_escalate(now() + interval '2 days');
SQL

# Release 0.6: reviews, findings, actions, their history; a member of
# hq.north; alerts resolved with findings.  The role is the cluster's, so a
# restore into another database of it finds it.
if [ -z "$(psql_q -At -d postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$member'")" ]; then
    psql_q -d postgres -c "CREATE ROLE $member NOLOGIN"
    member_created=1
fi
psql_q -d $src -v member=$member >/dev/null <<'SQL'
SET timezone = 'Asia/Shanghai';
INSERT INTO kpi.scope_member (role, scope_id) VALUES (:'member', kpi.scope_id('hq.north'));
-- what the member may touch (the rows it sees are its scopes')
GRANT USAGE ON SCHEMA kpi TO :"member";
GRANT SELECT ON kpi.review, kpi.finding, kpi.alert, kpi.review_history TO :"member";
GRANT SELECT, UPDATE ON kpi.action TO :"member";
-- the alerts the review takes up (open, not claimed by the queue above)
SELECT a.id AS al_otd FROM kpi.alert a
WHERE a.indicator_id = kpi.indicator_id('supply.otd_rate') AND a.scope_id = kpi.scope_id('hq.north')
  AND a.period::text = '2026-Q2' AND a.state <> 'resolved' \gset
SELECT a.id AS al_complaint FROM kpi.alert a
WHERE a.indicator_id = kpi.indicator_id('service.complaint_rate') AND a.scope_id = kpi.scope_id('hq.north')
  AND a.period::text = '2026-Q2' AND a.state <> 'resolved' \gset
SELECT a.id AS al_south FROM kpi.alert a
WHERE a.indicator_id = kpi.indicator_id('mfg.output') AND a.scope_id = kpi.scope_id('hq.south')
  AND a.period::text = '2026-Q3' AND a.state <> 'resolved' \gset
-- review 1: held, findings (one from an alert), actions, then closed
INSERT INTO kpi.review (title, period, scope_id, held_at, facilitator, state)
VALUES ('2026-Q2 华北大区供应与安装专项复盘', '2026-Q2', kpi.scope_id('hq.north'), '2026-07-08 14:00+08', '赵总', 'held')
RETURNING id AS r1 \gset
SELECT kpi.finding_from_alert(:al_otd, :r1, '二季度主力供应商产能不足，华北缺货',
                              'Qualify a second supplier before the peak season; 关键物料双供应商',
                              'supplier') AS f1 \gset
INSERT INTO kpi.finding (review_id, indicator_id, kind, summary, root_cause, lesson)
VALUES (:r1, kpi.indicator_id('service.complaint_rate'), 'gap', '投诉率连续超标',
        '安装预约流程过长', 'Call back every installation within 24 hours')
RETURNING id AS f2 \gset
UPDATE kpi.finding SET cause_category = 'process' WHERE id = :f2;
INSERT INTO kpi.finding (review_id, indicator_id, kind, summary, lesson)
VALUES (:r1, kpi.indicator_id('sales.revenue'), 'success', '以旧换新带动销售', '补贴政策提前备货，经验可复制')
RETURNING id AS f3 \gset
-- actions: done (open -> in_progress -> done), dropped, one deleted, one
-- moved on by the member (changed_by is the member)
INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (:f1, '引入第二家供应商', '采购部 李娜', '2026-08-31')
RETURNING id AS x1 \gset
UPDATE kpi.action SET state = 'in_progress' WHERE id = :x1;
UPDATE kpi.action SET state = 'done', outcome = '第二家供应商 8 月起供货' WHERE id = :x1;
INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (:f1, '加急空运', '物流部', '2026-07-15')
RETURNING id AS x2 \gset
UPDATE kpi.action SET state = 'dropped', outcome = '第二家供应商已到位，无需空运' WHERE id = :x2;
INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (:f2, '安装 24 小时回访', '客服部 王芳', '2026-09-30')
RETURNING id AS x3 \gset
INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (:f3, '重复录入', '销售部', '2026-12-31')
RETURNING id AS x4 \gset
DELETE FROM kpi.action WHERE id = :x4;
SET ROLE :"member";
UPDATE kpi.action SET state = 'in_progress' WHERE id = :x3;
RESET ROLE;
-- alerts resolved with findings: the one that prompted f1 (a cycle), and
-- one with a finding that names no alert
SELECT kpi.alert_resolve(:al_otd, 'dave', '见复盘', :f1);
SELECT kpi.alert_resolve(:al_complaint, 'erin', NULL, :f2);
UPDATE kpi.review SET state = 'closed', summary = '供应与安装两项整改，一项经验推广' WHERE id = :r1;
-- review 2: planned, in a scope the member does not see, a finding from an
-- alert left open
INSERT INTO kpi.review (title, period, scope_id, held_at, state)
VALUES ('2026-Q3 华南复盘', '2026-Q3', kpi.scope_id('hq.south'), '2026-10-20 10:00+08', 'planned')
RETURNING id AS r2 \gset
SELECT kpi.finding_from_alert(:al_south, :r2, '台风停产', 'Keep a typhoon stock of two weeks', 'environment');
-- a new definition of project revenue from December, and the history restated
SELECT kpi.set_source('sales.project_revenue', 'shop.order_revenue', 'ordered_at', 'branch', 'amount * 0.97 / 10000',
                      filter => $$status = 'paid' AND channel = 'project'$$, effective => '2026-12-01');
SELECT count(*) FROM kpi.restate('sales.project_revenue', '2026-12-01');
-- the evaluation cycle has run (the regions' alerts), and a change waits
-- for the next one: the queue travels with the dump
SELECT count(*) FROM kpi.evaluate();
INSERT INTO kpi.alert_queue (indicator_id) VALUES (kpi.indicator_id('sales.revenue'));
SQL

# ---------------------------------------------------------------------
# The snapshot: one line per table (count and md5 of its rows in text form,
# sorted), per sequence, per rollup row, per alert a consumer would claim
# and per escalation due, then kpi.verify()'s count.
# Not compared: kpi.actual.updated_at, the time a derived row was computed
# (kpi.actual is not dumped; a restore derives it again), and kpi.subtree
# and kpi.subtree_stale (not dumped either: the restore marks what it
# writes, the next evaluation refreshes, and its sums may be merged in
# another order; kpi.verify() after that evaluation compares kpi.subtree
# with a fresh merge of kpi.actual, to rounding).
# ---------------------------------------------------------------------
rowexprs_sql="
SELECT t.tablename,
       'ROW(' || string_agg(format('x.%I', a.attname), ', ' ORDER BY a.attnum) || ')::text' AS expr
FROM pg_tables t
JOIN pg_attribute a ON a.attrelid = format('%I.%I', t.schemaname, t.tablename)::regclass
                   AND a.attnum > 0 AND NOT a.attisdropped
WHERE t.schemaname = 'kpi'
  AND (t.tablename, a.attname) NOT IN (('actual', 'updated_at'))
  AND t.tablename NOT IN ('subtree', 'subtree_stale')
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
-- the review loop: every alert's follow-up, the lessons search (Chinese
-- and English), the alerts and findings that point at each other
SELECT 'followup', f.* FROM kpi.alert_followup f
WHERE f.resolved_with IS NOT NULL OR f.findings IS NOT NULL ORDER BY f.alert_id;
SELECT 'lessons 供应商', l.* FROM kpi.lessons('供应商') l;
SELECT 'lessons supplier', l.* FROM kpi.lessons('supplier') l;
SELECT 'cycle', a.id, f.id FROM kpi.alert a JOIN kpi.finding f ON f.id = a.finding_id AND f.alert_id = a.id
ORDER BY a.id;
-- what the member sees under row-level security (granted here too: a
-- data-only restore brings no grants; all rolled back)
BEGIN;
GRANT USAGE ON SCHEMA kpi TO $member;
GRANT SELECT ON kpi.review, kpi.finding, kpi.action, kpi.alert, kpi.review_history TO $member;
SET LOCAL ROLE $member;
SELECT 'member sees', kpi.visible_scopes(), (SELECT count(*) FROM kpi.review), (SELECT count(*) FROM kpi.finding),
       (SELECT count(*) FROM kpi.action), (SELECT count(*) FROM kpi.alert), (SELECT count(*) FROM kpi.review_history);
ROLLBACK;
SELECT 'verify', count(*) FROM kpi.verify();
-- a refresh of the computed indicators changes nothing (rolled back)
BEGIN;
SELECT 'refresh', count(*), sum(inserted), sum(deleted) FROM kpi.refresh();
ROLLBACK;
-- the next evaluation cycle changes nothing, here as in the source (rolled back)
BEGIN;
SELECT 'evaluate', judged, changed FROM kpi.evaluate();
SELECT 'verify after evaluate', count(*) FROM kpi.verify();
ROLLBACK;
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
dump rootcust -Fc --load-via-partition-root -f "$work/root.custom"

snapshot $src >"$work/src.txt"
src_verify=$(sed -n 's/^verify after evaluate|//p' "$work/src.txt")
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
# the review loop is there: an alert and the finding it prompted point at
# each other, both lessons searches find something, the member sees the
# reviews of hq.north and no other, a done action, history of every kind
grep -q '^cycle|' "$work/src.txt" || { echo "no alert resolved with the finding it prompted"; exit 1; }
grep -q '^lessons 供应商|' "$work/src.txt" && grep -q '^lessons supplier|' "$work/src.txt" ||
    { echo "kpi.lessons() found nothing in the source"; exit 1; }
psql_q -At -d $src >"$work/src.review.txt" <<'SQL'
SELECT 'member should see', (SELECT count(*) FROM kpi.review r JOIN kpi.scope_tree t ON t.scope_id = r.scope_id
                             WHERE t.ancestor_id = kpi.scope_id('hq.north')),
       (SELECT count(*) FROM kpi.review);
SELECT 'done actions', count(*) FROM kpi.action WHERE state = 'done';
SELECT 'history', entity, op, count(*) FROM kpi.review_history GROUP BY entity, op ORDER BY 2, 3;
SQL
grep -q '^done actions|[1-9]' "$work/src.review.txt" || { echo "no done action in the source"; exit 1; }
IFS='|' read -r _ should total < <(grep '^member should see|' "$work/src.review.txt") || true
seen=$(sed -n 's/^member sees|[^|]*|\([0-9]*\)|.*/\1/p' "$work/src.txt")
[ "$seen" = "$should" ] && [ "$seen" -gt 0 ] && [ "$seen" -lt "$total" ] ||
    { echo "the member sees ${seen:-no} reviews, not the $should of hq.north out of $total"; exit 1; }
for h in 'review|INSERT' 'review|UPDATE' 'finding|INSERT' 'finding|UPDATE' 'action|INSERT' 'action|UPDATE' 'action|DELETE'; do
    grep -q "^history|$h|" "$work/src.review.txt" || { echo "the source has no $h history"; exit 1; }
done
n_tables=$(grep -c '^table ' "$work/src.txt")
n_seq=$(grep -c '^sequence ' "$work/src.txt")
n_rollup=$(grep -c '^rollup ' "$work/src.txt")
n_queue=$(grep -c '^queue claim|' "$work/src.txt")
n_history=$(sed -n 's/^table review_history|\([0-9]*\)|.*/\1/p' "$work/src.txt")
echo "source: $n_tables tables, $n_seq sequences, $n_rollup rollup rows, $n_queue claimable alerts," \
     "$n_history review_history rows, verify 0"

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
    if [ "$data_only" = 1 ]; then
        # the extension, and the demo's business tables (schema shop) the
        # computed indicators read: a data-only dump brings neither
        psql_q -d $db -c "CREATE EXTENSION kpi" -c "$partitions" >/dev/null
        "$BINDIR/pg_dump" --schema-only -n shop $src | psql_q -d $db >/dev/null
    fi
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
    # what differs: table, sequence and verify lines in full, rollup, queue
    # and review loop lines counted, then the differing rows of each table
    diff "$work/src.txt" "$work/$db.txt" >"$work/diff" || true
    echo "    diff of the snapshots (< original, > restored):"
    grep -E '^[<>] (table|sequence|verify)' "$work/diff" | sed 's/^/    /' || true
    local group
    for group in rollup 'queue claim' 'queue escalate' followup lessons cycle 'member sees'; do
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
restore "custom -j 2, --load-via-partition-root" 0 \
    "$BINDIR/pg_restore" -j 2 -d DB "$work/root.custom"
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
echo "dump/restore: every mode restores every table, sequence, rollup, the alert queue and the review loop identically"
