#!/usr/bin/env bash
# Roles test: the role recipes of docs/security.md, run as printed there
# (every ```sql block preceded by <!-- recipe: NAME -->, extracted from the
# file, so the page and the test cannot drift apart), on the demo company.
# Then, as each role, what it can and cannot do:
#   kpi_admin (BYPASSRLS)   manages indicators, links, scopes, targets,
#                           memberships, rules and silences, works the alert
#                           queue for every scope; sees everything;
#   analyst_li (kpi_analyst, member of hq)  reads every table, view,
#                           scorecard row and rollup; writes nothing;
#   north_wang (kpi_north_manager, kpi_manager)  sees hq.north rows only,
#                           records, corrects, sets targets, claims and acks
#                           alerts, holds reviews there; refused (42501)
#                           elsewhere and for kpi.rollup(p, 'hq');
#   kpi_loader (member of hq.east)  records in its subtree, reads nothing
#                           but the ids of its scopes' measurements;
#   kpi_bi (hq.east, hq.south)  reads the scorecard and rollups of its
#                           scopes; every write refused.
# Then that each recipe holds nothing more than its role needs: every
# privilege a recipe grants is revoked in turn (in a transaction that is
# rolled back) and at least one of that role's allowed actions must fail
# without it. Last, the page's removal of a role, and the hazards of
# memberships named by role name.
# One line per check; exits non-zero if any fails.
#
# Runs its own throwaway cluster (the recipes create roles, which belong to
# a cluster, not a database) and leaves the one test.sh started alone.
# On its own (bash test/scripts/t_roles.sh, as root) it also installs what
# is missing and builds and installs kpi first.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
if [ -z "${PG_BINDIR:-}" ]; then        # not run from test.sh
    kpi_ensure_packages
    kpi_build_install
fi
kpi_cluster_start

DOC="$KPI_ROOT/docs/security.md"
DB=kpi_roles
PSQL="$PG_BINDIR/psql"
ERRF="$KPI_TMP/t_roles.err"
n_ok=0
n_failed=0

pass() { printf 'ok   %s\n' "$1"; n_ok=$((n_ok + 1)); }
fail() { printf 'FAIL %s\n' "$1"; n_failed=$((n_failed + 1)); }
section() { printf '== %s\n' "$1"; }

# as the superuser, on the test database
su_sql() { PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

declare -A CAN_LOGIN=()
can_login() {
    [ -n "${CAN_LOGIN[$1]:-}" ] ||
        CAN_LOGIN[$1]=$(su_sql -c "SELECT coalesce((SELECT rolcanlogin FROM pg_roles WHERE rolname = '$1'), false)")
    [ "${CAN_LOGIN[$1]}" = t ]
}

# run WHO SQL [REVOKE]: run the psql script SQL as WHO: logged in as WHO
# when it is a login role, else through SET ROLE.  With REVOKE (a
# statement, or "-" for none), as the superuser in a transaction: REVOKE,
# SET ROLE WHO, SQL, ROLLBACK.  Sets OUT (stdout), MSG (the first error)
# and CODE: ok, the error's SQLSTATE, or "error".
run() {
    local who=$1 sql=$2 revoke=${3:-} user=postgres pre="" post="" rc=0
    if [ -n "$revoke" ]; then
        pre="BEGIN;"$'\n'
        [ "$revoke" != - ] && pre="$pre$revoke;"$'\n'
        pre="${pre}SET ROLE \"$who\";"$'\n'
        post=";"$'\n'"ROLLBACK;"
    elif [ "$who" = postgres ]; then
        :
    elif can_login "$who"; then
        user=$who
    else
        pre="SET ROLE \"$who\";"$'\n'
    fi
    OUT=$(printf '%s\n%s\n%s%s\n%s\n' '\set VERBOSITY verbose' 'SET search_path = public, kpi;' \
              "$pre" "$sql" "$post" |
          PGOPTIONS="-c client_min_messages=warning" "$PSQL" -X -q -At -v ON_ERROR_STOP=1 \
              -U "$user" -d "$DB" 2>"$ERRF") || rc=$?
    MSG=$(grep -m1 -E 'ERROR|FATAL' "$ERRF" | sed -E 's/^psql:[^ ]* //' || true)
    if [ "$rc" -eq 0 ]; then
        CODE=ok
    else
        CODE=$(printf '%s' "$MSG" | grep -oE '^(ERROR|FATAL):  [0-9A-Z]{5}' | sed -E 's/.* //' || true)
        [ -n "$CODE" ] || CODE=error
    fi
}

# The checks, kept for the privilege pass: who, what, expected outcome, SQL.
CK_WHO=()
CK_LABEL=()
CK_WANT=()
CK_SQL=()

# judge I [REVOKE]: run check I; true when the outcome is the expected one.
# WANT is one of
#   ok            no error
#   = TEXT        no error, and the output is TEXT
#   ~ SQL         no error, and the output is that of SQL run by the superuser
#   SQLSTATE      that error (5 characters)
#   SQLSTATE/TXT  that error, its message containing TXT
# Sets WHY to what happened when it is not.
judge() {
    local i=$1 want=${CK_WANT[$1]} ref
    run "${CK_WHO[$i]}" "${CK_SQL[$i]}" "${2:-}"
    WHY=""
    case $want in
        ok)
            [ "$CODE" = ok ] || WHY="failed: $MSG" ;;
        "= "*)
            if [ "$CODE" != ok ]; then WHY="failed: $MSG"
            elif [ "$OUT" != "${want#= }" ]; then WHY="got '$OUT', expected '${want#= }'"; fi ;;
        "~ "*)
            if [ "$CODE" != ok ]; then WHY="failed: $MSG"
            else
                ref=$(su_sql <<<"SET search_path = public, kpi;"$'\n'"${want#\~ }" 2>&1) || ref="(reference failed: $ref)"
                [ "$OUT" = "$ref" ] || WHY="got '$OUT', the superuser gets '$ref'"
            fi ;;
        */*)
            if [ "$CODE" != "${want%%/*}" ]; then
                WHY="expected ${want%%/*}, got $CODE${MSG:+: $MSG}"
            elif [[ "$MSG" != *"${want#*/}"* ]]; then
                WHY="expected ${want%%/*} saying '${want#*/}', got: $MSG"
            fi ;;
        *)
            [ "$CODE" = "$want" ] || WHY="expected $want, got $CODE${MSG:+: $MSG}" ;;
    esac
    [ -z "$WHY" ]
}

# check WHO LABEL WANT SQL: register a check and run it now.
check() {
    local i=${#CK_WHO[@]}
    CK_WHO[i]=$1
    CK_LABEL[i]=$2
    CK_WANT[i]=$3
    CK_SQL[i]=$4
    if judge "$i"; then pass "$1: $2"; else fail "$1: $2: $WHY"; fi
}

# ---------------------------------------------------------------------
# The database: kpi and the demo company
# ---------------------------------------------------------------------
su_sql -d postgres -c "CREATE DATABASE $DB"
su_sql -c "CREATE EXTENSION kpi"
(cd "$KPI_ROOT/test/demo" && su_sql -f company.sql >/dev/null)

# ---------------------------------------------------------------------
# The recipes, extracted from docs/security.md
# ---------------------------------------------------------------------
section "recipes from docs/security.md"
blocks="$KPI_TMP/blocks"
mkdir -p "$blocks"
# kind<TAB>name<TAB>file per marked block; BAD<TAB>...<TAB>why for a marker
# without a block, or an unmarked sql block among the recipes
index=$(awk -v dir="$blocks" '
    /^## / { recipes = ($0 == "## Role recipes") }
    state == 2 {
        if ($0 ~ /^[ \t]*```[ \t]*$/) { close(file); state = 0; next }
        l = $0
        if (substr(l, 1, length(ind)) == ind) l = substr(l, length(ind) + 1)
        print l > file
        next
    }
    /^[ \t]*<!-- (recipe|teardown): .+ -->[ \t]*$/ {
        s = $0
        sub(/^[ \t]*<!-- /, "", s); sub(/ -->[ \t]*$/, "", s)
        kind = s; sub(/:.*$/, "", kind)
        name = s; sub(/^[a-z]+: /, "", name)
        state = 1
        next
    }
    state == 1 {
        if ($0 ~ /^[ \t]*$/) next
        if ($0 ~ /^[ \t]*```sql[ \t]*$/) {
            n++
            file = sprintf("%s/%02d.sql", dir, n)
            ind = $0; sub(/```sql.*$/, "", ind)
            printf "" > file
            printf "%s\t%s\t%s\n", kind, name, file
            state = 2
            next
        }
        printf "BAD\t%s\tline %d: the marker is not followed by a sql block\n", name, NR
        state = 0
    }
    /^[ \t]*```sql/ && recipes {
        printf "BAD\tunmarked\tline %d: a sql block among the recipes without a recipe marker\n", NR
    }
' "$DOC")
recipes_found=" "
teardowns=()
while IFS=$'\t' read -r kind name file; do
    case $kind in
        BAD) fail "docs/security.md: $file" ;;
        teardown) teardowns+=("$name"$'\t'"$file") ;;
        recipe)
            recipes_found="$recipes_found$name "
            run postgres "$(cat "$file")"
            if [ "$CODE" = ok ]; then pass "recipe $name runs"; else fail "recipe $name: $MSG"; fi ;;
    esac
done <<<"$index"
for r in kpi_admin kpi_analyst kpi_manager kpi_north_manager kpi_loader kpi_bi "kpi_bi rollup"; do
    [[ "$recipes_found" == *" $r "* ]] || fail "docs/security.md has no recipe marked '<!-- recipe: $r -->'"
done
[ "${#teardowns[@]}" -ge 1 ] || fail "docs/security.md has no block marked '<!-- teardown: ... -->'"

# ids the roles cannot look up themselves
SOUTH_ALERT=$(su_sql -c "SELECT min(id) FROM kpi.alert WHERE scope_id = kpi.scope_id('hq.south') AND state = 'open'")
EAST_SUBTREE="(SELECT scope_id FROM kpi.scope_tree WHERE ancestor_id = kpi.scope_id('hq.east'))"
READ_ALL='DO $$
DECLARE r record;
BEGIN
    FOR r IN SELECT c.relname FROM pg_class c
             WHERE c.relnamespace = '"'kpi'"'::regnamespace AND c.relkind IN ('"'r'"', '"'v'"', '"'p'"', '"'m'"')
             ORDER BY 1 LOOP
        EXECUTE format('"'SELECT FROM kpi.%I LIMIT 1'"', r.relname);
    END LOOP;
END
$$;'
SCORECARD_MD5="SELECT count(*) || ' ' || md5(string_agg(concat_ws('|', indicator, scope, period, actual, target, attainment, status), ';' ORDER BY indicator, scope, period)) FROM kpi.scorecard"
ROLLUP_MD5="SELECT md5(string_agg(concat_ws('|', code, depth, actual, target, attainment, score, status, coverage), ';' ORDER BY code)) FROM kpi.rollup"
NORTH_KEY="indicator_id = kpi.indicator_id('sales.revenue') AND scope_id = kpi.scope_id('hq.north')"

# ---------------------------------------------------------------------
# The administrator
# ---------------------------------------------------------------------
section "kpi_admin: administrator (BYPASSRLS)"
check kpi_admin "sees everything (kpi.visible_scopes() is NULL)" "= t" \
    "SELECT kpi.visible_scopes() IS NULL"
check kpi_admin "reads every table and view of schema kpi" ok "$READ_ALL"
check kpi_admin "sees every alert" "~ SELECT count(*) FROM kpi.alert" \
    "SELECT count(*) FROM kpi.alert"
check kpi_admin "adds an indicator, links, revises and removes it (history kept)" "= 3" "
SELECT coalesce(max(id), 0) AS h0 FROM kpi.indicator_history \gset
INSERT INTO kpi.indicator (code, name, unit, owner) VALUES ('sales.t_roles', '测试指标', '万元', 'kpi_admin');
INSERT INTO kpi.link (parent_id, child_id) VALUES (kpi.indicator_id('strategy.profit'), kpi.indicator_id('sales.t_roles'));
UPDATE kpi.link SET weight = 2 WHERE child_id = kpi.indicator_id('sales.t_roles');
UPDATE kpi.indicator SET description = '只用于测试' WHERE code = 'sales.t_roles';
DELETE FROM kpi.link WHERE child_id = kpi.indicator_id('sales.t_roles');
DELETE FROM kpi.indicator WHERE code = 'sales.t_roles';
SELECT count(*) FROM kpi.indicator_history WHERE id > :h0;"
check kpi_admin "adds a scope below hq, renames and removes it" ok "
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('hq.t_roles', '测试区', kpi.scope_id('hq'));
UPDATE kpi.scope SET name = '测试大区' WHERE code = 'hq.t_roles';
DELETE FROM kpi.scope WHERE code = 'hq.t_roles';"
check kpi_admin "sets, revises and removes a target in any scope (history kept)" "= 3 kpi_admin" "
SELECT coalesce(max(id), 0) AS h0 FROM kpi.target_history \gset
SELECT kpi.set_target('sales.orders', 'hq.south', '2027-01', '>= 100') AS t \gset
SELECT kpi.set_target('sales.orders', 'hq.south', '2027-01', '>= 120', '上调') AS t \gset
DELETE FROM kpi.target WHERE indicator_id = kpi.indicator_id('sales.orders')
  AND scope_id = kpi.scope_id('hq.south') AND period = '2027-01';
SELECT count(*) || ' ' || string_agg(DISTINCT changed_by, ',') FROM kpi.target_history WHERE id > :h0;"
check kpi_admin "grants, moves and withdraws a membership" ok "
INSERT INTO kpi.scope_member (role, scope_id) VALUES ('kpi_bi', kpi.scope_id('hq.north'));
UPDATE kpi.scope_member SET scope_id = kpi.scope_id('hq.east.hangzhou')
WHERE role = 'kpi_bi' AND scope_id = kpi.scope_id('hq.north');
DELETE FROM kpi.scope_member WHERE role = 'kpi_bi' AND scope_id = kpi.scope_id('hq.east.hangzhou');"
check kpi_admin "a membership of a role that does not exist is refused" "42704/does not exist" \
    "INSERT INTO kpi.scope_member (role, scope_id) VALUES ('no_such_role', kpi.scope_id('hq'))"
check kpi_admin "adds, changes and removes an alert rule and a silence" ok "
INSERT INTO kpi.alert_rule (indicator_id, scope_id, raise_at) VALUES (kpi.indicator_id('sales.orders'), kpi.scope_id('hq.south'), 'red');
UPDATE kpi.alert_rule SET enabled = false WHERE indicator_id = kpi.indicator_id('sales.orders');
DELETE FROM kpi.alert_rule WHERE indicator_id = kpi.indicator_id('sales.orders');
INSERT INTO kpi.silence (indicator_id, scope_id, until, reason)
VALUES (kpi.indicator_id('sales.orders'), kpi.scope_id('hq.south'), now() + interval '1 day', 't_roles');
UPDATE kpi.silence SET until = now() + interval '2 days' WHERE reason = 't_roles';
DELETE FROM kpi.silence WHERE reason = 't_roles';"
check kpi_admin "claims alerts of every scope (the leads of their incidents)" "~ SELECT count(DISTINCT scope_id) FROM kpi.alert WHERE state = 'open' AND coalesce(incident_id, id) = id" \
    "SELECT count(DISTINCT scope_id) FROM kpi.alert_claim('t_roles-admin', 1000, '1 millisecond')"
check kpi_admin "acknowledges and resolves a hq.south alert" "= resolved" "
SELECT min(id) AS a FROM kpi.alert WHERE state = 'open' AND scope_id = kpi.scope_id('hq.south') \gset
SELECT (kpi.alert_ack(:a, 'kpi_admin', '在查')).state AS s \gset
SELECT (kpi.alert_resolve(:a, 'kpi_admin', '已处理')).state;"
check kpi_admin "escalates the due alerts of every scope" "= t" \
    "SELECT kpi.alert_escalate(now() + interval '30 days') >= 0"
check kpi_admin "an unknown alert id is 22023 for a role that sees everything" "22023/unknown alert id" \
    "SELECT kpi.alert_ack(987654321, 'kpi_admin')"
check kpi_admin "cannot record measurements" "42501/permission denied" \
    "SELECT kpi.record('sales.revenue', 'hq.north', 1, '2026-12-01')"
check kpi_admin "cannot write kpi.actual" "42501/permission denied" \
    "DELETE FROM kpi.actual WHERE period = '2026-12'"

# ---------------------------------------------------------------------
# The analyst
# ---------------------------------------------------------------------
section "analyst_li: analyst (kpi_analyst, member of hq)"
check analyst_li "sees every scope through its group's membership of hq (visible_scopes() NULL: all)" "= t" \
    "SELECT kpi.visible_scopes() IS NULL"
check analyst_li "reads every table and view of schema kpi" ok "$READ_ALL"
check analyst_li "reads every scorecard row" "~ $SCORECARD_MD5" "$SCORECARD_MD5"
check analyst_li "kpi.rollup('2026-07') equals the superuser's" "~ $ROLLUP_MD5('2026-07')" "$ROLLUP_MD5('2026-07')"
check analyst_li "kpi.rollup('2026-Q2', 'hq') equals the superuser's" "~ $ROLLUP_MD5('2026-Q2', 'hq')" \
    "$ROLLUP_MD5('2026-Q2', 'hq')"
check analyst_li "sees every alert and alert event" \
    "~ SELECT count(*) FROM kpi.alert a JOIN kpi.alert_event e ON e.alert_id = a.id" \
    "SELECT count(*) FROM kpi.alert a JOIN kpi.alert_event e ON e.alert_id = a.id"
check analyst_li "cannot record a measurement" "42501/permission denied" \
    "SELECT kpi.record('sales.revenue', 'hq.north', 1, '2026-12-01')"
check analyst_li "cannot insert a measurement" "42501/permission denied" \
    "INSERT INTO kpi.measurement (indicator_id, scope_id, value) VALUES (kpi.indicator_id('sales.revenue'), kpi.scope_id('hq'), 1)"
check analyst_li "cannot set a target" "42501/permission denied" \
    "SELECT kpi.set_target('sales.revenue', 'hq', '2027-01', '>= 1')"
check analyst_li "cannot claim alerts" "42501/permission denied" \
    "SELECT count(*) FROM kpi.alert_claim('analyst', 1)"
check analyst_li "cannot change the dictionary" "42501/permission denied" \
    "UPDATE kpi.indicator SET owner = 'x' WHERE code = 'sales.revenue'"
check analyst_li "cannot change memberships" "42501/permission denied" \
    "DELETE FROM kpi.scope_member WHERE role = 'kpi_analyst'"

# ---------------------------------------------------------------------
# The scope manager
# ---------------------------------------------------------------------
section "north_wang: manager of hq.north (kpi_north_manager, kpi_manager)"
check kpi_north_manager "the scope role sees hq.north" "= hq.north" \
    "SELECT string_agg(code, ',' ORDER BY code) FROM kpi.scope WHERE id = ANY (kpi.visible_scopes())"
check north_wang "its login sees hq.north too (membership inherited)" "= hq.north" \
    "SELECT string_agg(code, ',' ORDER BY code) FROM kpi.scope WHERE id = ANY (kpi.visible_scopes())"
for t in measurement actual target target_history alert; do
    check north_wang "kpi.$t: hq.north rows only, all of them" \
        "~ SELECT 'hq.north ' || count(*) FROM kpi.$t WHERE scope_id = kpi.scope_id('hq.north')" \
        "SELECT string_agg(DISTINCT s.code, ',') || ' ' || count(*) FROM kpi.$t x JOIN kpi.scope s ON s.id = x.scope_id"
done
check north_wang "kpi.alert_event: the events of hq.north alerts only" \
    "~ SELECT count(*) FROM kpi.alert_event e JOIN kpi.alert a ON a.id = e.alert_id WHERE a.scope_id = kpi.scope_id('hq.north')" \
    "SELECT count(*) FROM kpi.alert_event"
check north_wang "kpi.scorecard: hq.north only" "= hq.north" \
    "SELECT string_agg(DISTINCT scope, ',') FROM kpi.scorecard"
check north_wang "kpi.scorecard: the hq.north rows, every column" \
    "~ $SCORECARD_MD5 WHERE scope = 'hq.north'" "$SCORECARD_MD5 WHERE pace IS NULL OR pace IS NOT NULL"
check north_wang "records in hq.north, and the trigger updates kpi.actual" "= 100.000" "
SELECT coalesce(sum(value), 0) AS v0 FROM kpi.actual WHERE $NORTH_KEY AND period = '2026-12' \gset
SELECT kpi.record('sales.revenue', 'hq.north', 100, '2026-12-15 10:00+08', '补录') AS id \gset
SELECT round((value - :v0)::numeric, 3) FROM kpi.actual WHERE $NORTH_KEY AND period = '2026-12';"
check north_wang "a bad value it records raises an alert (the trigger runs as the owner)" "= open red" "
SELECT kpi.set_target('sales.revenue', 'hq.north', '2025-12', '>= 100000') AS t \gset
SELECT kpi.record('sales.revenue', 'hq.north', 10, '2025-12-10 10:00+08') AS id \gset
SELECT state || ' ' || severity FROM kpi.alert WHERE $NORTH_KEY AND period = '2025-12' AND state <> 'resolved';"
check north_wang "corrects and deletes its measurement; kpi.actual follows" "= 0.000" "
SELECT coalesce(sum(value), 0) AS v0 FROM kpi.actual WHERE $NORTH_KEY AND period = '2026-11' \gset
SELECT kpi.record('sales.revenue', 'hq.north', 50, '2026-11-20 10:00+08') AS id \gset
UPDATE kpi.measurement SET value = 70, note = '更正' WHERE id = :id;
DELETE FROM kpi.measurement WHERE id = :id;
SELECT round((value - :v0)::numeric, 3) FROM kpi.actual WHERE $NORTH_KEY AND period = '2026-11';"
check north_wang "sets, revises and removes a target in hq.north (history kept, by it)" "= 3 north_wang" "
SELECT coalesce(max(id), 0) AS h0 FROM kpi.target_history \gset
SELECT kpi.set_target('sales.orders', 'hq.north', '2027-02', '>= 100') AS t \gset
SELECT kpi.set_target('sales.orders', 'hq.north', '2027-02', '>= 90', '下调') AS t \gset
DELETE FROM kpi.target WHERE indicator_id = kpi.indicator_id('sales.orders')
  AND scope_id = kpi.scope_id('hq.north') AND period = '2027-02';
SELECT count(*) || ' ' || string_agg(DISTINCT changed_by, ',') FROM kpi.target_history WHERE id > :h0;"
check north_wang "recording in hq.south is refused" "42501/row-level security" \
    "SELECT kpi.record('sales.revenue', 'hq.south', 100, '2026-12-15 10:00+08')"
check north_wang "inserting a hq.south measurement is refused" "42501/row-level security" \
    "INSERT INTO kpi.measurement (indicator_id, scope_id, at, value) VALUES (kpi.indicator_id('sales.revenue'), kpi.scope_id('hq.south'), '2026-12-15 10:00+08', 1)"
check north_wang "setting a hq.south target is refused" "42501/row-level security" \
    "SELECT kpi.set_target('sales.revenue', 'hq.south', '2027-01', '>= 1')"
check north_wang "a review of hq.south is refused" "42501/row-level security" \
    "INSERT INTO kpi.review (title, period, scope_id) VALUES ('华南复盘', '2026-Q2', kpi.scope_id('hq.south'))"
check north_wang "updates and deletes reach no hq.south row" "= 0 0" "
WITH u AS (UPDATE kpi.measurement SET note = 'x' WHERE scope_id = kpi.scope_id('hq.south') RETURNING 1),
     d AS (DELETE FROM kpi.target WHERE scope_id = kpi.scope_id('hq.south') RETURNING 1)
SELECT (SELECT count(*) FROM u) || ' ' || (SELECT count(*) FROM d);"
check north_wang "moving a measurement to another scope is refused" "42501/permission denied" \
    "UPDATE kpi.measurement SET scope_id = kpi.scope_id('hq.south') WHERE id = (SELECT max(id) FROM kpi.measurement)"
check north_wang "claims hq.north alerts only" "= hq.north" \
    "SELECT string_agg(DISTINCT s.code, ',') FROM kpi.alert_claim('t_roles-north', 1000, '1 millisecond') c JOIN kpi.scope s ON s.id = c.scope_id"
check north_wang "acknowledges a hq.north alert" "= acked" \
    "SELECT (kpi.alert_ack((SELECT min(id) FROM kpi.alert WHERE state = 'open' AND scope_id = kpi.scope_id('hq.north')), '王磊', '在查')).state"
check north_wang "acknowledging a hq.south alert is refused" "42501/not visible" \
    "SELECT kpi.alert_ack($SOUTH_ALERT, '王磊')"
check north_wang "resolving a hq.south alert is refused" "42501/not visible" \
    "SELECT kpi.alert_resolve($SOUTH_ALERT, '王磊')"
check north_wang "an alert id that does not exist gets the same 42501" "42501/not visible" \
    "SELECT kpi.alert_ack(987654321, '王磊')"
check north_wang "a finding from a hq.south alert is refused" "42501/not visible" "
INSERT INTO kpi.review (title, period, scope_id) VALUES ('华北月度复盘', '2026-Q4', kpi.scope_id('hq.north')) RETURNING id AS review \gset
SELECT kpi.finding_from_alert($SOUTH_ALERT, :review, '不可见');"
check north_wang "holds a review: a finding from an alert, an action, the alert resolved with it" "= resolved 6" "
INSERT INTO kpi.review (title, period, scope_id, state, held_at, facilitator)
VALUES ('2026-Q2 华北大区复盘', '2026-Q2', kpi.scope_id('hq.north'), 'held', '2026-07-06 14:00+08', '王磊')
RETURNING id AS review \gset
SELECT min(id) AS alert FROM kpi.alert WHERE state <> 'resolved' AND scope_id = kpi.scope_id('hq.north') \gset
SELECT kpi.finding_from_alert(:alert, :review, '核心供应商断供', '关键物料引入第二供应商') AS finding \gset
INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (:finding, '引入第二供应商', '王磊', '2026-09-30')
RETURNING id AS action \gset
UPDATE kpi.action SET state = 'in_progress' WHERE id = :action;
UPDATE kpi.finding SET cause_category = 'supplier' WHERE id = :finding;
SELECT (kpi.alert_resolve(:alert, '王磊', '已复盘', :finding)).state AS st \gset
UPDATE kpi.review SET state = 'closed', summary = '供应链风险' WHERE id = :review;
SELECT :'st' || ' ' || count(*) FROM kpi.review_history WHERE review_id = :review;"
check north_wang "deletes a review with its finding and action" "= 0" "
INSERT INTO kpi.review (title, period, scope_id) VALUES ('临时', '2026-Q3', kpi.scope_id('hq.north')) RETURNING id AS review \gset
INSERT INTO kpi.finding (review_id, indicator_id, kind, lesson)
VALUES (:review, kpi.indicator_id('sales.revenue'), 'success', '渠道下沉有效') RETURNING id AS finding \gset
INSERT INTO kpi.action (finding_id, title, owner, due) VALUES (:finding, '推广', '王磊', '2026-12-31') RETURNING id AS action \gset
DELETE FROM kpi.action WHERE id = :action;
DELETE FROM kpi.finding WHERE id = :finding;
DELETE FROM kpi.review WHERE id = :review;
SELECT count(*) FROM kpi.review WHERE id = :review;"
check north_wang "overdue actions, alert follow-up and lessons: hq.north only" "= hq.north" "
SELECT string_agg(DISTINCT scope, ',') FROM (
    SELECT scope FROM kpi.overdue_action UNION ALL
    SELECT scope FROM kpi.alert_followup UNION ALL
    SELECT scope FROM kpi.lessons('供应商')) x;"
check north_wang "kpi.rollup('2026-07') scores hq.north against its targets" \
    "~ $ROLLUP_MD5('2026-07', 'hq.north')" "$ROLLUP_MD5('2026-07')"
check north_wang "kpi.rollup of a week in hq.north" "~ $ROLLUP_MD5('2026-W20', 'hq.north')" \
    "$ROLLUP_MD5('2026-W20', 'hq.north')"
check north_wang "kpi.rollup('2026-07', 'hq') is refused" "42501/permission denied for scope" \
    "SELECT count(*) FROM kpi.rollup('2026-07', 'hq')"
check north_wang "cannot change the dictionary" "42501/permission denied" \
    "UPDATE kpi.indicator SET owner = 'x' WHERE code = 'sales.revenue'"
check north_wang "cannot give itself a membership" "42501/permission denied" \
    "INSERT INTO kpi.scope_member (role, scope_id) VALUES ('north_wang', kpi.scope_id('hq'))"

# ---------------------------------------------------------------------
# The loader
# ---------------------------------------------------------------------
section "kpi_loader: data loader (member of hq.east)"
check kpi_loader "records in hq.east.shanghai (its subtree) with kpi.record" "= t" \
    "SELECT kpi.record('sales.revenue', 'hq.east.shanghai', 88, '2026-12-20 10:00+08') > 0"
check kpi_loader "records a ratio with kpi.record_ratio" "= t" \
    "SELECT kpi.record_ratio('finance.gross_margin', 'hq.east', 30, 100, '2026-12-20 10:00+08') > 0"
check kpi_loader "loads several rows with one INSERT ... SELECT" ok "
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, source)
SELECT i.id, s.id, v.at, v.value, 'erp'
FROM (VALUES ('sales.orders', 'hq.east.hangzhou', timestamptz '2026-12-21 10:00+08', 12),
             ('sales.orders', 'hq.east.shanghai', timestamptz '2026-12-21 10:00+08', 15)) v(code, scope, at, value)
JOIN kpi.indicator i ON i.code = v.code
JOIN kpi.scope s ON s.code = v.scope;"
check kpi_loader "bulk load: COPY into a temporary table, then INSERT ... SELECT" "= 2" "
CREATE TEMP TABLE batch (code text, scope text, at timestamptz, value float8);
COPY batch FROM STDIN (FORMAT csv);
sales.orders,hq.east.hangzhou,2026-12-22 10:00+08,7
sales.orders,hq.east.shanghai,2026-12-22 10:00+08,9
\.
WITH ins AS (
    INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, source)
    SELECT i.id, s.id, b.at, b.value, 'batch'
    FROM batch b JOIN kpi.indicator i ON i.code = b.code JOIN kpi.scope s ON s.code = b.scope
    RETURNING id)
SELECT count(*) FROM ins;"
check kpi_loader "sees the ids of its scopes' measurements only" \
    "~ SELECT count(*) FROM kpi.measurement WHERE scope_id IN $EAST_SUBTREE" \
    "SELECT count(*) FROM kpi.measurement"
check kpi_loader "COPY straight into kpi.measurement is refused (row-level security)" "0A000/row-level security" "
COPY kpi.measurement (indicator_id, scope_id, at, value) FROM STDIN (FORMAT csv);
1,1,2026-12-22 10:00+08,1
\."
check kpi_loader "recording in hq.north is refused" "42501/row-level security" \
    "SELECT kpi.record('sales.revenue', 'hq.north', 1, '2026-12-20 10:00+08')"
check kpi_loader "setting recorded_by is refused" "42501/permission denied" \
    "INSERT INTO kpi.measurement (indicator_id, scope_id, value, recorded_by) SELECT i.id, s.id, 1, 'ceo' FROM kpi.indicator i, kpi.scope s WHERE i.code = 'sales.orders' AND s.code = 'hq.east'"
for q in "value FROM kpi.measurement" "* FROM kpi.actual" "* FROM kpi.target" "* FROM kpi.scorecard" \
         "* FROM kpi.alert" "name FROM kpi.indicator"; do
    check kpi_loader "cannot read: SELECT $q" "42501/permission denied" "SELECT $q LIMIT 1"
done
check kpi_loader "cannot update measurements" "42501/permission denied" \
    "UPDATE kpi.measurement SET value = 0 WHERE id = 1"
check kpi_loader "cannot delete measurements" "42501/permission denied" \
    "DELETE FROM kpi.measurement WHERE id = 1"

# ---------------------------------------------------------------------
# The BI login
# ---------------------------------------------------------------------
section "kpi_bi: read-only BI login (member of hq.east and hq.south)"
check kpi_bi "kpi.scorecard: hq.east, its branches and hq.south only" \
    "= hq.east,hq.east.hangzhou,hq.east.shanghai,hq.south" \
    "SELECT string_agg(DISTINCT scope, ',' ORDER BY scope) FROM kpi.scorecard"
check kpi_bi "kpi.scorecard: the rows of those scopes, every column" \
    "~ $SCORECARD_MD5 WHERE scope IN ('hq.east', 'hq.east.hangzhou', 'hq.east.shanghai', 'hq.south')" \
    "$SCORECARD_MD5 WHERE pace IS NULL OR pace IS NOT NULL"
check kpi_bi "kpi.rollup('2026-07', 'hq.east') equals the superuser's" "~ $ROLLUP_MD5('2026-07', 'hq.east')" \
    "$ROLLUP_MD5('2026-07', 'hq.east')"
check kpi_bi "kpi.rollup of a week reads the measurements" "~ $ROLLUP_MD5('2026-W20', 'hq.south')" \
    "$ROLLUP_MD5('2026-W20', 'hq.south')"
check kpi_bi "kpi.rollup('2026-07'): two top visible scopes, so no targets" "= t" \
    "SELECT count(*) > 0 AND count(target) = 0 FROM kpi.rollup('2026-07')"
check kpi_bi "kpi.rollup('2026-07', 'hq') is refused" "42501/permission denied for scope" \
    "SELECT count(*) FROM kpi.rollup('2026-07', 'hq')"
check kpi_bi "kpi.rollup('2026-07', 'hq.north') is refused" "42501/permission denied for scope" \
    "SELECT count(*) FROM kpi.rollup('2026-07', 'hq.north')"
check kpi_bi "inserting is refused by the read-only default" "25006" \
    "INSERT INTO kpi.measurement (indicator_id, scope_id, value) VALUES (1, 1, 1)"
check kpi_bi "kpi.record is refused by the read-only default" "25006" \
    "SELECT kpi.record('sales.revenue', 'hq.east', 1)"
for q in "INSERT INTO kpi.measurement (indicator_id, scope_id, value) VALUES (kpi.indicator_id('sales.revenue'), kpi.scope_id('hq.east'), 1)" \
         "SELECT kpi.record('sales.revenue', 'hq.east', 1)" \
         "SELECT kpi.set_target('sales.revenue', 'hq.east', '2027-01', '>= 1')" \
         "SELECT count(*) FROM kpi.alert_claim('bi', 1)" \
         "UPDATE kpi.indicator SET owner = 'x' WHERE code = 'sales.revenue'" \
         "DELETE FROM kpi.scope_member WHERE role = 'kpi_bi'"; do
    check kpi_bi "read-only off, still refused: ${q:0:60}" "42501/permission denied" \
        "SET default_transaction_read_only = off;"$'\n'"$q"
done
check kpi_bi "cannot read alerts" "42501/permission denied" "SELECT count(*) FROM kpi.alert"

# ---------------------------------------------------------------------
# Nothing more than needed: without any one privilege a recipe grants,
# one of its role's allowed actions above fails.
# ---------------------------------------------------------------------
section "every privilege a recipe grants is needed"
declare -A HOLDER=([kpi_admin]=kpi_admin [analyst_li]=kpi_analyst [north_wang]=kpi_manager
                   [kpi_north_manager]=kpi_manager [kpi_loader]=kpi_loader [kpi_bi]=kpi_bi)
PRIVS_SQL="
WITH r AS (SELECT oid FROM pg_roles WHERE rolname = :'holder')
SELECT format('USAGE ON SCHEMA %I', n.nspname), format('REVOKE USAGE ON SCHEMA %I FROM %I', n.nspname, :'holder')
FROM pg_namespace n, aclexplode(n.nspacl) a, r
WHERE n.nspname = 'kpi' AND a.grantee = r.oid
UNION ALL
SELECT format('%s ON %s', a.privilege_type, c.oid::regclass),
       format('REVOKE %s ON %s %s FROM %I', a.privilege_type,
              CASE c.relkind WHEN 'S' THEN 'SEQUENCE' ELSE 'TABLE' END, c.oid::regclass, :'holder')
FROM pg_class c, aclexplode(c.relacl) a, r
WHERE c.relnamespace = 'kpi'::regnamespace AND a.grantee = r.oid
UNION ALL
SELECT format('%s (%s) ON %s', a.privilege_type, string_agg(t.attname, ', ' ORDER BY t.attnum), c.oid::regclass),
       format('REVOKE %s (%s) ON %s FROM %I', a.privilege_type,
              string_agg(quote_ident(t.attname), ', ' ORDER BY t.attnum), c.oid::regclass, :'holder')
FROM pg_class c JOIN pg_attribute t ON t.attrelid = c.oid, aclexplode(t.attacl) a, r
WHERE c.relnamespace = 'kpi'::regnamespace AND a.grantee = r.oid
GROUP BY c.oid, a.privilege_type
ORDER BY 1"
for holder in kpi_admin kpi_analyst kpi_manager kpi_loader kpi_bi; do
    # the allowed actions of the role's users
    uses=()
    for i in "${!CK_WHO[@]}"; do
        [ "${HOLDER[${CK_WHO[i]}]:-}" = "$holder" ] || continue
        case ${CK_WANT[i]} in ok|"= "*|"~ "*) uses+=("$i") ;; esac
    done
    # with every privilege, in a rolled-back transaction as below, they pass
    baseline=ok
    for i in "${uses[@]}"; do
        judge "$i" - || { baseline="${CK_WHO[i]}: ${CK_LABEL[i]}: $WHY"; break; }
    done
    if [ "$baseline" != ok ]; then
        fail "$holder: its allowed actions fail even with every privilege, in a transaction: $baseline"
        continue
    fi
    privs=$(su_sql -F $'\t' -v holder="$holder" <<<"$PRIVS_SQL")
    [ -n "$privs" ] || { fail "$holder: holds no privilege in schema kpi"; continue; }
    while IFS=$'\t' read -r what revoke; do
        # try first the actions that name the object (only to be faster)
        rel=${what##* kpi.}
        rel=${rel%_id_seq}
        first=()
        rest=()
        for i in "${uses[@]}"; do
            if [[ "${CK_SQL[i]}" =~ kpi\.${rel}([^a-z_]|$) ]]; then first+=("$i"); else rest+=("$i"); fi
        done
        needed=""
        for i in "${first[@]}" "${rest[@]}"; do
            judge "$i" "$revoke" || { needed="${CK_WHO[i]}: ${CK_LABEL[i]}"; break; }
        done
        if [ -n "$needed" ]; then
            pass "$holder needs $what (without it fails: $needed)"
        else
            fail "$holder is granted $what, which none of its allowed actions needs"
        fi
    done <<<"$privs"
done

# ---------------------------------------------------------------------
# Memberships name roles by name
# ---------------------------------------------------------------------
section "memberships and role names"
check postgres "a role with SELECT but no membership sees no rows" "= 0 0 0" "
BEGIN;
CREATE ROLE t_roles_none;
GRANT USAGE ON SCHEMA kpi TO t_roles_none;
GRANT SELECT ON kpi.measurement, kpi.actual, kpi.alert TO t_roles_none;
SET ROLE t_roles_none;
SELECT (SELECT count(*) FROM kpi.measurement) || ' ' || (SELECT count(*) FROM kpi.actual)
       || ' ' || (SELECT count(*) FROM kpi.alert);
ROLLBACK;"
check postgres "a NOINHERIT member of kpi_north_manager sees its scopes only after SET ROLE" "= {} {$(su_sql -c "SELECT kpi.scope_id('hq.north')")}" "
BEGIN;
CREATE ROLE t_roles_noinherit NOINHERIT IN ROLE kpi_north_manager;
GRANT USAGE ON SCHEMA kpi TO t_roles_noinherit;
SET ROLE t_roles_noinherit;
SELECT kpi.visible_scopes() AS own \gset
SET ROLE kpi_north_manager;
SELECT :'own' || ' ' || kpi.visible_scopes()::text;
ROLLBACK;"
check postgres "kpi.alert_escalate run by a member escalates the alerts of its scopes only" "= hq.north" "
BEGIN;
UPDATE kpi.alert SET escalation_level = 0 WHERE state = 'open';
CREATE ROLE t_roles_esc;
GRANT USAGE ON SCHEMA kpi TO t_roles_esc;
GRANT SELECT, UPDATE ON kpi.alert TO t_roles_esc;
GRANT SELECT ON kpi.alert_rule TO t_roles_esc;
GRANT INSERT ON kpi.alert_event TO t_roles_esc;
GRANT USAGE ON SEQUENCE kpi.alert_event_id_seq TO t_roles_esc;
INSERT INTO kpi.scope_member (role, scope_id) VALUES ('t_roles_esc', kpi.scope_id('hq.north'));
SET ROLE t_roles_esc;
SELECT kpi.alert_escalate(now() + interval '60 days') AS n \gset
RESET ROLE;
SELECT string_agg(DISTINCT s.code, ',') FROM kpi.alert_event e
JOIN kpi.alert a ON a.id = e.alert_id JOIN kpi.scope s ON s.id = a.scope_id
WHERE e.kind = 'escalate' AND e.actor = 't_roles_esc';
ROLLBACK;"
check postgres "a role created with a dropped role's name inherits its memberships" "= {$(su_sql -c "SELECT kpi.scope_id('hq.south')")}" "
CREATE ROLE t_roles_temp;
GRANT USAGE ON SCHEMA kpi TO t_roles_temp;
INSERT INTO kpi.scope_member (role, scope_id) VALUES ('t_roles_temp', kpi.scope_id('hq.south'));
DROP OWNED BY t_roles_temp;
DROP ROLE t_roles_temp;
CREATE ROLE t_roles_temp;
GRANT USAGE ON SCHEMA kpi TO t_roles_temp;
SET ROLE t_roles_temp;
SELECT kpi.visible_scopes();"
check postgres "deleting its memberships first, as the page says, leaves nothing to inherit" "= {}" "
DELETE FROM kpi.scope_member WHERE role = 't_roles_temp';
SET ROLE t_roles_temp;
SELECT kpi.visible_scopes();"
check postgres "a renamed role loses its memberships" "= {}" "
INSERT INTO kpi.scope_member (role, scope_id) VALUES ('t_roles_temp', kpi.scope_id('hq.south'));
ALTER ROLE t_roles_temp RENAME TO t_roles_renamed;
SET ROLE t_roles_renamed;
SELECT kpi.visible_scopes();"
su_sql -c "DELETE FROM kpi.scope_member WHERE role IN ('t_roles_temp', 't_roles_renamed')" \
       -c "DROP OWNED BY t_roles_renamed" -c "DROP ROLE t_roles_renamed"

for td in "${teardowns[@]}"; do
    name=${td%%$'\t'*}
    run postgres "$(cat "${td#*$'\t'}")"
    if [ "$CODE" = ok ]; then pass "teardown $name runs"; else fail "teardown $name: $MSG"; fi
done
check postgres "a new kpi_north_manager after the page's removal inherits nothing" "= {}" "
CREATE ROLE kpi_north_manager;
GRANT USAGE ON SCHEMA kpi TO kpi_north_manager;
SET ROLE kpi_north_manager;
SELECT kpi.visible_scopes();"

echo "t_roles: $((n_ok + n_failed)) checks, $n_ok passed, $n_failed failed"
[ "$n_failed" -eq 0 ]
