#!/usr/bin/env bash
# Replay test: the demo company's year as it would have happened.  The
# dictionary, targets and rules of test/demo/company.sql are loaded with
# alert_in_writer off (every key waits for kpi.evaluate()); its
# measurements are then fed back one month at a time: 2025 at once, then
# each month of 2026, each load followed by kpi.evaluate() a few hours into
# the next month, company time.  Per load it prints the alerts raised, the
# notifications (incidents notified: raised as a new incident's lead,
# promoted while open, repeated, escalated, dead-lettered, or told of a
# worse alert that joined; one NOTIFY each, however many steps an
# escalation passed; the NOTIFYs a listener got are shown beside them),
# open incidents, unresolved alerts, and two counts of problems: the
# distinct (indicator, owner) among the alerts raised, and the distinct
# (indicator, person told) among the incidents notified (an escalation
# tells the person it goes to).  It proves:
#   * one problem reaches each assignee once: no incident is notified
#     twice in one load (escalations go to the next person, a worse alert
#     joining an incident is news), no load tells one person twice of one
#     indicator, and no load sends more notifications, escalations aside,
#     than the distinct (indicator, owner) problems it raised;
#   * no false alarm: no status alert of a cumulative (sum, count)
#     indicator raised on attainment while its period ran (the quarter's
#     first month against the whole quarter's goal), for a period whose
#     final attainment is green or blue;
#   * the demo's incidents (华北 supplier outage 2026-04..05, 杭州
#     compressor defect 2026-05, 华南 typhoon 2026-08) raise, in the load of
#     their month, an alert on the month of every affected indicator that
#     has a rule;
#   * kpi.verify() is empty after a final kpi.evaluate().
# For comparison (not checked) the same replay with every rule on basis
# attainment (the old default), and the whole of both years loaded at once
# with one evaluation at the end.  Runs against the cluster test.sh started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
src=kpi_replay_src
db=kpi_replay
old=kpi_replay_attainment
bulk=kpi_replay_bulk
work=$(mktemp -d)
cleanup() {
    local rc=$? d
    for d in $db $old $bulk $src; do
        psql_q -d postgres -c "DROP DATABASE IF EXISTS $d" >/dev/null 2>&1 || true
    done
    rm -rf "$work"
    return $rc
}
trap cleanup EXIT
started=$(date +%s)

# ---------------------------------------------------------------------
# The source: the demo's dictionary, targets and rules, no alerts (the
# demo's own evaluation and review are removed), its measurements set
# aside in public.stash.  The replays are copies of it.
# ---------------------------------------------------------------------
for d in $db $old $bulk $src; do psql_q -d postgres -c "DROP DATABASE IF EXISTS $d"; done
psql_q -d postgres -c "CREATE DATABASE $src"
(cd "$KPI_ROOT/test/demo" &&
 psql_q -d $src -c "CREATE EXTENSION kpi" \
     -c "INSERT INTO kpi.setting (name, value) VALUES ('alert_in_writer', 'off')" \
     -f company.sql >/dev/null)
psql_q -d $src >/dev/null <<'SQL'
CREATE TABLE public.stash AS SELECT * FROM kpi.measurement;
DELETE FROM kpi.measurement;        -- kpi.actual keeps the targets' keys only
-- the demo's own evaluation (at the load's now()) and its review go
TRUNCATE kpi.action, kpi.finding, kpi.review, kpi.review_history, kpi.alert_event, kpi.alert, kpi.alert_queue,
         kpi.alert_clock CASCADE;
DO $$ BEGIN
    IF NOT EXISTS (SELECT FROM public.stash) THEN
        RAISE EXCEPTION 'the demo loaded no measurements';
    END IF;
END $$;
INSERT INTO kpi.alert_clock (id, evaluated_at) VALUES (true, '2025-12-31 00:00+08');

-- per load: the event and alert ids before and after, what it did
CREATE TABLE public.load (
    k int PRIMARY KEY, label text, ev0 bigint, ev1 bigint, al0 bigint, al1 bigint,
    evaluated timestamptz, raised int, notified int, escalated int, problems int, told int, incidents int,
    unresolved int, listened int, opened int, twice int);
-- each alert as it was judged when raised
CREATE TABLE public.raised (id bigint PRIMARY KEY, k int, basis text, score float8, severity kpi.status, note text);

-- load k: 0 = the whole of 2025, k = 1..12 the month k of 2026; then
-- evaluate a few hours after the month ended, company time
CREATE PROCEDURE public.replay_load(k int) LANGUAGE plpgsql AS $$
DECLARE
    z text := kpi.time_zone();
    t0 timestamptz := CASE WHEN k = 0 THEN '-infinity'
                           ELSE (date '2026-01-01' + (k - 1) * interval '1 month')::timestamp AT TIME ZONE z END;
    t1 timestamptz := (date '2026-01-01' + k * interval '1 month')::timestamp AT TIME ZONE z;
    e0 bigint := (SELECT coalesce(max(id), 0) FROM kpi.alert_event);
    a0 bigint := (SELECT coalesce(max(id), 0) FROM kpi.alert);
BEGIN
    INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator, note, source)
    SELECT s.indicator_id, s.scope_id, s.at, s.value, s.denominator, s.note, s.source
    FROM public.stash s WHERE s.at >= t0 AND s.at < t1 ORDER BY s.id;
    PERFORM kpi.evaluate(t1 + interval '6 hours');
    INSERT INTO public.raised
    SELECT a.id, k, a.basis, a.score, a.severity, e.note
    FROM kpi.alert a JOIN kpi.alert_event e ON e.alert_id = a.id AND e.kind = 'raise'
    WHERE a.id > a0;
    -- the incidents notified in the load (one NOTIFY each: a transaction
    -- sends one payload once) and, per incident, who was told
    CREATE TEMP TABLE told ON COMMIT DROP AS
    SELECT DISTINCT e.alert_id, a.indicator_id, a.assignee
    FROM kpi.alert_event e JOIN kpi.alert a ON a.id = e.alert_id
    WHERE e.id > e0
      AND ((e.kind = 'raise' AND coalesce(e.note, '') NOT LIKE 'in incident%')
           OR (e.kind = 'promote' AND e.state = 'open')
           OR (e.kind = 'worsen' AND e.note LIKE 'alert % joined%')
           OR e.kind IN ('repeat', 'escalate', 'dead_letter'));
    INSERT INTO public.load (k, label, ev0, ev1, al0, al1, evaluated, raised, notified, escalated, problems,
                             told, incidents, unresolved, opened, twice)
    SELECT k, CASE WHEN k = 0 THEN '2025' ELSE to_char(t0 AT TIME ZONE z, 'YYYY-MM') END,
           e0, (SELECT coalesce(max(id), 0) FROM kpi.alert_event),
           a0, (SELECT coalesce(max(id), 0) FROM kpi.alert), t1 + interval '6 hours',
           (SELECT count(*) FROM kpi.alert a WHERE a.id > a0),
           (SELECT count(*) FROM told),
           (SELECT count(DISTINCT e.alert_id) FROM kpi.alert_event e WHERE e.id > e0 AND e.kind = 'escalate'),
           (SELECT count(DISTINCT (a.indicator_id, a.assignee)) FROM kpi.alert a WHERE a.id > a0),
           (SELECT count(DISTINCT (t.indicator_id, t.assignee)) FROM told t),
           (SELECT count(*) FROM kpi.incident),
           (SELECT count(*) FROM kpi.alert a WHERE a.state <> 'resolved'),
           (SELECT count(*) FROM kpi.alert_event e
            WHERE e.id > e0 AND e.kind = 'raise' AND coalesce(e.note, '') NOT LIKE 'in incident%'),
           -- incidents told the same thing twice in the load
           (SELECT count(*) FROM (SELECT e.alert_id FROM kpi.alert_event e
                                  WHERE e.id > e0
                                    AND ((e.kind = 'raise' AND coalesce(e.note, '') NOT LIKE 'in incident%')
                                         OR (e.kind = 'promote' AND e.state = 'open') OR e.kind = 'repeat')
                                  GROUP BY e.alert_id HAVING count(*) > 1) x);
END $$;
SQL

# replay DB: the thirteen loads in one session that listens, so that the
# NOTIFYs each load sent are counted too
replay() {
    local d=$1 k
    { echo "LISTEN kpi_alert;"
      for k in $(seq 0 12); do printf '\\echo load %s\nCALL public.replay_load(%s);\n' "$k" "$k"; done
      printf '\\echo load end\n'; } | psql_q -At -d "$d" > "$work/$d.out"
    awk '/^load [0-9]+$/ { k = $2; n[k] = 0; next }
         /^Asynchronous notification "kpi_alert"/ { n[k]++ }
         END { for (k in n) printf "UPDATE public.load SET listened = %d WHERE k = %d;\n", n[k], k }' \
        "$work/$d.out" | psql_q -d "$d"
}

psql_q -d postgres -c "CREATE DATABASE $db TEMPLATE $src" -c "CREATE DATABASE $old TEMPLATE $src" \
    -c "CREATE DATABASE $bulk TEMPLATE $src"
replay $db
psql_q -d $old -c "UPDATE kpi.alert_rule SET basis = 'attainment'" -c "DELETE FROM kpi.alert_queue"
replay $old
psql_q -d $bulk >/dev/null <<'SQL'
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator, note, source)
SELECT s.indicator_id, s.scope_id, s.at, s.value, s.denominator, s.note, s.source FROM public.stash s ORDER BY s.id;
SELECT kpi.evaluate('2027-01-01 06:00+08');
SQL

# ---------------------------------------------------------------------
# Figures
# ---------------------------------------------------------------------
# the false alarms of a replay: status alerts of sum and count indicators
# raised before their period ended, for a period that ended green or blue
false_alarms_sql="
CREATE TEMP VIEW false_alarm AS
SELECT a.id, i.code AS indicator, s.code AS scope, a.period::text AS period, a.raised_at, r.basis, r.score,
       r.severity AS raised_as, r.note, f.attainment AS final_attainment, f.status AS final_status
FROM kpi.alert a
JOIN public.raised r ON r.id = a.id
JOIN kpi.indicator i ON i.id = a.indicator_id
JOIN kpi.scope s ON s.id = a.scope_id
LEFT JOIN kpi.scope_actual sa ON sa.indicator_id = a.indicator_id AND sa.scope_id = a.scope_id
                             AND sa.period OPERATOR(kpi.=) a.period
CROSS JOIN LATERAL (SELECT kpi.attainment(sa.value, sa.goal) AS attainment,
                           kpi.status(kpi.attainment(sa.value, sa.goal), i.bands) AS status) f
WHERE a.kind = 'status' AND i.agg IN ('sum', 'count')
  AND a.raised_at < (kpi.end_date(a.period) + 1)::timestamp AT TIME ZONE kpi.time_zone()
  AND f.status >= 'green';
-- the false alarms proper: raised on attainment while the period ran
CREATE TEMP VIEW false_alarm_attainment AS SELECT * FROM false_alarm WHERE basis = 'attainment';"
summary_sql="
SELECT format('%s alerts, %s notifications (%s NOTIFYs) for %s incidents opened, %s false alarms (raised on attainment while the period ran, ended green), %s more raised behind pace that ended green, %s of 12 loads notify more than the (indicator, owner) problems they raised (%s escalations aside), %s tell one person twice of one indicator, %s incidents told twice in one load',
              (SELECT count(*) FROM kpi.alert), (SELECT sum(notified) FROM public.load),
              (SELECT sum(listened) FROM public.load), (SELECT sum(opened) FROM public.load),
              (SELECT count(*) FROM false_alarm_attainment),
              (SELECT count(*) FROM false_alarm WHERE basis = 'pace'),
              (SELECT count(*) FROM public.load WHERE notified > problems),
              (SELECT count(*) FROM public.load WHERE notified - escalated > problems),
              (SELECT count(*) FROM public.load WHERE notified > told),
              (SELECT sum(twice) FROM public.load));"

echo "== month-by-month replay, rules as in the demo (basis auto)"
psql_q -d $db -P footer=off <<SQL
SET timezone = 'Asia/Shanghai';
SELECT label AS load, raised, opened AS incidents_opened, notified, escalated AS "of them escalations", listened AS "NOTIFYs",
       problems AS "(indicator, owner) raised", told AS "(indicator, person) told", incidents AS open_incidents,
       unresolved, twice AS told_twice,
       CASE WHEN notified > told THEN '<- a person told twice of one indicator'
            WHEN notified > problems THEN '<- more notifications than problems raised' ELSE '' END AS " "
FROM public.load ORDER BY k;
\\echo what the loads that notify more than the problems they raised notified:
SELECT l.label AS load,
       string_agg(e.kind || ' ' || i.code || ' ' || s.code || ' ' || a.period::text
                  || CASE WHEN e.kind = 'escalate' THEN ' (' || e.note || ')' ELSE '' END, E'\n' ORDER BY e.id) AS notifications
FROM public.load l
JOIN kpi.alert_event e ON e.id > l.ev0 AND e.id <= l.ev1
JOIN kpi.alert a ON a.id = e.alert_id
JOIN kpi.indicator i ON i.id = a.indicator_id JOIN kpi.scope s ON s.id = a.scope_id
WHERE l.notified > l.problems
  AND ((e.kind = 'raise' AND coalesce(e.note, '') NOT LIKE 'in incident%')
       OR (e.kind = 'promote' AND e.state = 'open') OR (e.kind = 'worsen' AND e.note LIKE 'alert % joined%')
       OR e.kind IN ('repeat', 'escalate', 'dead_letter'))
GROUP BY l.k, l.label ORDER BY l.k;
SQL

echo "== the demo's incidents: the month's alert of each affected indicator with a rule, and its incident"
psql_q -d $db -At -F ' ' <<'SQL' | tee "$work/incidents"
SET timezone = 'Asia/Shanghai';
WITH incident(scope, patterns, month, what) AS (VALUES
    ('hq.north', '{supply.%,mfg.%,sales.%,logistics.cost_per_order}'::text[], '2026-04', '华北 supplier outage'),
    ('hq.north', '{supply.%,mfg.%,sales.%,logistics.cost_per_order}'::text[], '2026-05', '华北 supplier outage'),
    ('hq.east.hangzhou', '{quality.defect_rate,service.complaint_rate,service.csat}'::text[], '2026-05', '杭州 compressor defect'),
    -- sales.revenue: the sum of the channels, store sales among them
    ('hq.south', '{logistics.%,supply.%,sales.store_revenue,sales.revenue}'::text[], '2026-08', '华南 typhoon')),
affected AS (
    SELECT n.*, i.id AS indicator_id, i.code,
           EXISTS (SELECT FROM kpi.alert_rule r WHERE r.indicator_id = i.id AND r.enabled AND r.basis <> 'anomaly'
                     AND (r.scope_id IS NULL OR r.scope_id = kpi.scope_id(n.scope))) AS ruled
    FROM incident n JOIN kpi.indicator i ON i.code LIKE ANY (n.patterns)),
caught AS (
    SELECT f.*, a.id AS alert_id, a.severity, rl.label AS raised_in,
           a.incident_id, ls.code || ' ' || lead.period::text AS lead_key, ll.label AS lead_raised_in
    FROM affected f
    LEFT JOIN kpi.alert a ON a.indicator_id = f.indicator_id AND a.scope_id = kpi.scope_id(f.scope)
                         AND a.period OPERATOR(kpi.=) f.month::kpi.period
    LEFT JOIN public.raised r ON r.id = a.id
    LEFT JOIN public.load rl ON rl.k = r.k
    LEFT JOIN kpi.alert lead ON lead.id = a.incident_id
    LEFT JOIN kpi.scope ls ON ls.id = lead.scope_id
    LEFT JOIN public.raised lr ON lr.id = lead.id
    LEFT JOIN public.load ll ON ll.k = lr.k)
SELECT CASE WHEN bool_and(NOT ruled OR raised_in = month) THEN 'caught' ELSE 'MISSED' END,
       month, scope, what || ':',
       coalesce(string_agg(code || ' ' ||
                   CASE WHEN raised_in = month THEN
                            severity::text || ', incident ' || incident_id || ' (lead ' || lead_key || ', '
                            || CASE WHEN lead_raised_in = month THEN 'notified now)'
                                    ELSE 'opened in load ' || lead_raised_in || ': no notification)' END
                        WHEN alert_id IS NOT NULL THEN 'alert raised in load ' || raised_in
                        ELSE 'NO ALERT' END, '; ' ORDER BY code) FILTER (WHERE ruled),
                'no indicator with a rule'),
       '| no rule: ' || CASE WHEN count(*) FILTER (WHERE NOT ruled) <= 3
                             THEN string_agg(code, ', ' ORDER BY code) FILTER (WHERE NOT ruled)
                             ELSE count(*) FILTER (WHERE NOT ruled) || ' indicators' END
FROM caught GROUP BY month, scope, what ORDER BY month, scope;
SQL

echo "== the anomaly rule on line stops (no target): the outage's first month"
psql_q -d $db -At -F ' ' <<'SQL' | tee -a "$work/incidents"
SELECT CASE WHEN count(*) > 0 THEN 'caught' ELSE 'MISSED' END, 'mfg.line_stops hq.north 2026-04:',
       coalesce(string_agg(a.severity::text || ' robust z ' || round(a.score::numeric, 1) || ', raised in load ' || l.label, '; '),
                'no anomaly alert in the load of 2026-04')
FROM kpi.alert a JOIN public.raised r ON r.id = a.id JOIN public.load l ON l.k = r.k
WHERE a.indicator_id = kpi.indicator_id('mfg.line_stops') AND a.scope_id = kpi.scope_id('hq.north')
  AND a.period::text = '2026-04' AND a.kind = 'anomaly' AND l.label = '2026-04';
SQL

echo "== false alarms (status alert of a sum or count indicator raised while its period ran, period ended green or blue)"
psql_q -d $db -P footer=off <<SQL
SET timezone = 'Asia/Shanghai';
$false_alarms_sql
SELECT id, indicator, scope, period, to_char(raised_at, 'YYYY-MM-DD') AS raised, basis AS raised_on,
       round(score::numeric, 3) AS score, raised_as::text, coalesce(note, 'notified') AS delivery,
       round(final_attainment::numeric, 3) AS final_attainment, final_status::text
FROM false_alarm ORDER BY id;
SQL

# a final evaluation (nothing is queued), then the consistency check
psql_q -d $db -c "SELECT count(*) FROM kpi.evaluate()" >/dev/null
psql_q -d $db -At -F ' | ' -c "SELECT * FROM kpi.verify()" > "$work/verify"
verify=$(wc -l < "$work/verify")
echo "== kpi.verify() after the final kpi.evaluate(): $verify problems"
cat "$work/verify"
if [ "$verify" != 0 ]; then
    # kpi.verify()'s comparison of alerts with a fresh judgement, made at
    # the alert clock instead of now(): tells a time mismatch from a real
    # disagreement
    psql_q -d $db -At <<'SQL'
SET timezone = 'Asia/Shanghai';
SELECT 'the same comparison judged at the alert clock (' || (SELECT evaluated_at FROM kpi.alert_clock)
       || ') instead of now() (' || date_trunc('second', now()) || '): ' || count(*) || ' disagreements'
FROM (SELECT array_agg(k.indicator_id) AS i, array_agg(k.scope_id) AS s, array_agg(k.period) AS p
      FROM kpi.alert_keys(NULL, NULL, NULL) k) ks
CROSS JOIN LATERAL kpi.judgement(ks.i, ks.s, ks.p, (SELECT evaluated_at FROM kpi.alert_clock)) g
LEFT JOIN kpi.alert a ON a.indicator_id = g.indicator_id AND a.scope_id = g.scope_id
                     AND a.period OPERATOR(kpi.=) g.period AND a.state <> 'resolved'
WHERE (a.id IS NULL AND g.raise AND NOT g.silenced AND NOT g.dismissed)
   OR (a.id IS NOT NULL AND NOT (g.hold AND g.kind IS NOT DISTINCT FROM a.kind));
SQL
fi

echo "== totals"
new=$(psql_q -d $db -At -c "$false_alarms_sql" -c "$summary_sql" | tail -1)
old_s=$(psql_q -d $old -At -c "$false_alarms_sql" -c "$summary_sql" | tail -1)
bulk_s=$(psql_q -d $bulk -At -c "SELECT format('%s alerts, %s unresolved', count(*), count(*) FILTER (WHERE state <> 'resolved')) FROM kpi.alert")
echo "month by month, basis auto:       $new"
echo "month by month, basis attainment: $old_s"
echo "both years at once, one evaluation at 2027-01-01 06:00+08: $bulk_s"
echo "took $(( $(date +%s) - started )) s"

twice=$(psql_q -d $db -At -c "SELECT sum(twice) FROM public.load")
unheard=$(psql_q -d $db -At -c "SELECT count(*) FROM public.load WHERE notified <> listened")
false_alarms=$(psql_q -d $db -At -c "$false_alarms_sql" -c "SELECT count(*) FROM false_alarm_attainment" | tail -1)
missed=$(grep -c '^MISSED' "$work/incidents" || true)
told_twice=$(psql_q -d $db -At -c "SELECT count(*) FROM public.load WHERE notified > told")
# escalations tell the next person of a problem already raised: the other
# notifications of a load are at most its (indicator, owner) problems
over=$(psql_q -d $db -At -c "SELECT count(*) FROM public.load WHERE notified - escalated > problems")

rc=0
[ "$twice" = 0 ] || { echo "FAIL: $twice incidents were told the same thing twice in one load"; rc=1; }
[ "$unheard" = 0 ] || { echo "FAIL: in $unheard loads the incidents notified differ from the NOTIFYs a listener got"; rc=1; }
[ "$false_alarms" = 0 ] || { echo "FAIL: $false_alarms false alarms (raised on attainment while the period ran)"; rc=1; }
[ "$told_twice" = 0 ] || { echo "FAIL: in $told_twice loads a person was told twice of one indicator"; rc=1; }
[ "$over" = 0 ] || { echo "FAIL: in $over loads the notifications other than escalations outnumber the (indicator, owner) problems raised"; rc=1; }
[ "$missed" = 0 ] || { echo "FAIL: $missed incident months without an alert in their own load"; rc=1; }
[ "$verify" = 0 ] || { echo "FAIL: kpi.verify() reports $verify problems after the final kpi.evaluate()"; rc=1; }
exit $rc
