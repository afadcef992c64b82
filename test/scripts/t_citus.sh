#!/usr/bin/env bash
# Citus test: computed indicators over a distributed fact table.  Starts a
# coordinator and a worker of its own on 127.0.0.1 (Citus preloaded),
# distributes an orders table by id, and checks that kpi.refresh computes a
# sum with a filter, an average and a ratio whose monthly actuals equal a
# direct GROUP BY over the distributed table, that kpi.verify() finds
# nothing, and that the tallies are aggregated on the workers (the summary
# query's plan has worker_partial_agg).  Citus is not packaged for Debian:
# skipped (77) when the server has no citus library, as on CI.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
if [ ! -f "$("$PG_CONFIG" --pkglibdir)/citus.so" ]; then
    echo "Citus is not installed for this server: skipped"
    exit 77
fi
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$@"; }

dirs=()
cleanup() {
    local rc=$? d
    for d in "${dirs[@]}"; do
        kpi_as_pg "$BINDIR/pg_ctl" -D "$d/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$d"
    done
    return $rc
}
trap cleanup EXIT
free_port() {
    local p
    for p in $(seq "$1" $(($1 + 100))); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
    done
    kpi_die "no free port on 127.0.0.1"
}
start_node() {   # start_node PORT: a cluster with Citus preloaded
    local d
    d=$(mktemp -d /tmp/kpi-citus.XXXXXX)
    chmod 755 "$d"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$d"
    dirs+=("$d")
    kpi_as_pg "$BINDIR/initdb" -D "$d/data" -U postgres --auth=trust --no-sync -E UTF8 --locale=C.UTF-8 \
        >"$d/initdb.log" 2>&1 || { cat "$d/initdb.log"; kpi_die "initdb failed"; }
    kpi_as_pg "$BINDIR/pg_ctl" -D "$d/data" -l "$d/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $1 -k $d -c fsync=off -c shared_preload_libraries=citus" start >/dev/null ||
        { cat "$d/server.log"; kpi_die "server did not start"; }
}
coord=$(free_port 56432)
start_node "$coord"
worker=$(free_port $((coord + 1)))
start_node "$worker"
for p in $coord $worker; do
    psql_q -p "$p" -d postgres -c "CREATE DATABASE kpi_citus"
    psql_q -p "$p" -d kpi_citus -c "CREATE EXTENSION citus"
done
out=$(psql_q -p "$coord" -d kpi_citus -At <<SQL
SELECT citus_set_coordinator_host('127.0.0.1', $coord);
SELECT 1 FROM citus_add_node('127.0.0.1', $worker);
CREATE EXTENSION kpi;
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai');
INSERT INTO kpi.scope (code, name) VALUES ('hq', 'Company');
INSERT INTO kpi.scope (code, name, parent_id) SELECT 'hq.b' || b, 'Branch ' || b, kpi.scope_id('hq') FROM generate_series(1, 10) b;
INSERT INTO kpi.indicator (code, name, agg) VALUES ('revenue', 'Revenue', 'sum'), ('avg_order', 'Average order', 'avg'),
                                                   ('complaint_rate', 'Complaint rate', 'ratio');
CREATE TABLE public.orders (id bigint, branch text NOT NULL, ordered_at timestamptz NOT NULL,
                            amount numeric(12, 2) NOT NULL, complaints int NOT NULL, status text NOT NULL);
SELECT create_distributed_table('public.orders', 'id');
INSERT INTO public.orders
SELECT g, 'hq.b' || (1 + g % 10), timestamptz '2026-01-01 00:00+08' + g * interval '13 minutes',
       (g % 997) / 10.0 + 5, (g % 97 = 0)::int, CASE WHEN g % 23 = 0 THEN 'cancelled' ELSE 'paid' END
FROM generate_series(1, 40000) g;
SELECT kpi.set_source('revenue', 'public.orders', 'ordered_at', 'branch', 'amount', filter => \$\$status <> 'cancelled'\$\$) IS NOT NULL;
SELECT kpi.set_source('avg_order', 'public.orders', 'ordered_at', 'branch', 'amount') IS NOT NULL;
SELECT kpi.set_source('complaint_rate', 'public.orders', 'ordered_at', 'branch', 'complaints', denominator => '1') IS NOT NULL;
SELECT 'refreshed', count(*), sum(inserted) FROM kpi.refresh();
SELECT 'again', sum(inserted), sum(deleted) FROM kpi.refresh();
WITH direct AS (
    SELECT branch, kpi.period(ordered_at, 'month', 'Asia/Shanghai') AS p,
           sum(amount) FILTER (WHERE status <> 'cancelled')::float8 AS revenue, avg(amount)::float8 AS avg_order,
           (sum(complaints)::numeric / count(*))::float8 AS complaint_rate
    FROM public.orders GROUP BY 1, 2)
SELECT 'compared', count(*),
       count(*) FILTER (WHERE abs(a1.value - d.revenue) > 1e-9 * d.revenue
                           OR abs(a2.value - d.avg_order) > 1e-9 * d.avg_order
                           OR abs(a3.value - d.complaint_rate) > 1e-12)
FROM direct d
JOIN kpi.actual a1 ON a1.indicator_id = kpi.indicator_id('revenue') AND a1.scope_id = kpi.scope_id(d.branch)
                  AND a1.period OPERATOR(kpi.=) d.p
JOIN kpi.actual a2 ON a2.indicator_id = kpi.indicator_id('avg_order') AND a2.scope_id = kpi.scope_id(d.branch)
                  AND a2.period OPERATOR(kpi.=) d.p
JOIN kpi.actual a3 ON a3.indicator_id = kpi.indicator_id('complaint_rate') AND a3.scope_id = kpi.scope_id(d.branch)
                  AND a3.period OPERATOR(kpi.=) d.p;
SELECT 'verify', count(*) FROM kpi.verify();
CREATE TEMP TABLE plan (line text);
DO \$\$
DECLARE l text; n int := 0;
BEGIN
    FOR l IN EXECUTE 'EXPLAIN (VERBOSE, COSTS OFF) ' || (SELECT kpi.source_query(sources -> 0, agg, 'Asia/Shanghai', '-infinity', 'infinity')
                                                          FROM kpi.indicator WHERE code = 'revenue') LOOP
        IF l LIKE '%worker_partial_agg%' THEN n := n + 1; END IF;
    END LOOP;
    INSERT INTO plan VALUES (n::text);
END
\$\$;
SELECT 'partial on workers', line FROM plan;
SQL
)
grep '|' <<<"$out" | sed 's/^/    /'
ok=1
grep -q '^refreshed|3|' <<<"$out" || ok=0
grep -q '^again|0|0$' <<<"$out" || ok=0
grep -Eq '^compared\|[1-9][0-9]*\|0$' <<<"$out" || ok=0
grep -q '^verify|0$' <<<"$out" || ok=0
grep -Eq '^partial on workers\|[1-9]' <<<"$out" || ok=0
[ $ok = 1 ] || { echo "kpi.refresh over a distributed table went wrong (above)"; exit 1; }
echo "Citus: three computed indicators over a distributed table equal a direct GROUP BY; tallies aggregated on the workers"
