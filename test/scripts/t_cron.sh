#!/usr/bin/env bash
# pg_cron test: kpi.evaluate() scheduled every minute from pg_cron judges
# the company's key (queued by a branch's writer) and escalates the
# unacknowledged incident whose step is due; kpi.refresh() scheduled the
# same way computes an indicator from a business table (release 0.10).
# Runs against the cluster test.sh started (pg_cron preloaded, background
# workers).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
if [ "${KPI_HAVE_CRON:-1}" != 1 ]; then
    echo "pg_cron is not installed for this server: skipped"
    exit 77
fi
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

psql_q -d postgres -c "DROP DATABASE IF EXISTS kpi_cron" -c "CREATE DATABASE kpi_cron"
psql_q -d postgres -c "CREATE EXTENSION IF NOT EXISTS pg_cron"
psql_q -d kpi_cron >/dev/null <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.scope (code, name) VALUES ('hq', '集团');
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('hq.east', '华东', kpi.scope_id('hq'));
INSERT INTO kpi.indicator (code, name, owner) VALUES ('sales.revenue', '销售收入', 'alice');
SELECT kpi.set_target('sales.revenue', 'hq', '2026-07', '>= 100');
INSERT INTO kpi.alert_rule (indicator_id, escalate_to, escalate_after)
VALUES (kpi.indicator_id('sales.revenue'), '{bob}', '{0 seconds}');   -- due as soon as raised
SELECT kpi.record('sales.revenue', 'hq.east', 10, '2026-07-01');
-- orders, counted by a definition
INSERT INTO kpi.indicator (code, name) VALUES ('sales.orders', '订单量');
CREATE TABLE public.orders (id int, branch text, at timestamptz);
INSERT INTO public.orders SELECT g, 'hq.east', '2026-07-01 10:00+08'::timestamptz + g * interval '1 hour' FROM generate_series(1, 30) g;
SELECT kpi.set_source('sales.orders', 'public.orders', 'at', 'branch', '1');
SQL
job=$(psql_q -At -d postgres -c "SELECT cron.schedule_in_database('kpi-evaluate', '* * * * *',
                                  'SELECT kpi.evaluate()', 'kpi_cron')")
job2=$(psql_q -At -d postgres -c "SELECT cron.schedule_in_database('kpi-refresh', '* * * * *',
                                   'SELECT count(*) FROM kpi.refresh()', 'kpi_cron')")
trap 'psql_q -d postgres -c "SELECT cron.unschedule($job), cron.unschedule($job2)" >/dev/null 2>&1 || true' EXIT
# pg_cron 1.4 schedules by the minute: wait for the next one (at most ~70 s)
for _ in $(seq 1 75); do
    level=$(psql_q -At -d kpi_cron -c "SELECT escalation_level || ' ' || assignee FROM kpi.alert WHERE scope_id = kpi.scope_id('hq')")
    orders=$(psql_q -At -d kpi_cron -c "SELECT value FROM kpi.actual WHERE indicator_id = kpi.indicator_id('sales.orders')
                                        AND scope_id = kpi.scope_id('hq.east') AND period OPERATOR(kpi.=) '2026-07'::kpi.period")
    [ "$level" = "1 bob" ] && [ "$orders" = 30 ] && break
    sleep 1
done
runs=$(psql_q -At -d postgres -c "SELECT count(*) FROM cron.job_run_details WHERE jobid = $job AND status = 'succeeded'")
runs2=$(psql_q -At -d postgres -c "SELECT count(*) FROM cron.job_run_details WHERE jobid = $job2 AND status = 'succeeded'")
psql_q -d postgres -c "SELECT cron.unschedule($job), cron.unschedule($job2)" >/dev/null
trap - EXIT
psql_q -d postgres -c "DROP DATABASE kpi_cron WITH (FORCE)"
if [ "$level" != "1 bob" ]; then
    echo "pg_cron did not raise and escalate the company's alert (escalation: '$level', successful runs: $runs)"
    exit 1
fi
if [ "$orders" != 30 ]; then
    echo "pg_cron did not refresh the computed indicator (2026-07 orders: '$orders', successful runs: $runs2)"
    exit 1
fi
echo "pg_cron ran kpi.evaluate() ($runs successful runs): the company's alert was raised and went to bob"
echo "pg_cron ran kpi.refresh() ($runs2 successful runs): 30 orders computed from public.orders"
