# Shared by the shell benchmarks (sourced; bench.sh skips files named _*).
# bench_timed DB JIT SQL [BEFORE]: the median of 5 runs of SQL (counted, so
# that every row is produced) after a warm-up, in ms, with JIT on or off;
# with BEFORE, in one transaction that runs BEFORE first and is rolled back.
bench_timed() {
    "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d "$1" -At <<SQL | grep -v '^$' | sort -n | sed -n 3p
${4:+BEGIN; $4;}
SET jit = $2;
SET jit_above_cost = 100000;
DO \$\$ BEGIN PERFORM count(*) FROM ($3) q; END \$\$;
CREATE TEMP TABLE t (ms float8);
DO \$\$
DECLARE t0 timestamptz;
BEGIN
    FOR k IN 1..5 LOOP
        t0 := clock_timestamp();
        PERFORM count(*) FROM ($3) q;
        INSERT INTO t VALUES (extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
END \$\$;
SELECT round(ms::numeric, 1) FROM t;
${4:+ROLLBACK;}
SQL
}
# sample_locks DB SECONDS: every 20 ms, which heavyweight locks backends of
# DB wait for; prints "waiting samples/samples" and the samples per lock
# type (transactionid or tuple: a row another writer holds; advisory: the
# raisers' turn per indicator; extend: a table growing)
sample_locks() {
    "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -d postgres -At <<SQL
CREATE TEMP TABLE s (n int, kind text);
DO \$\$
DECLARE
    stop timestamptz := clock_timestamp() + interval '$2 seconds';
    i int := 0;
BEGIN
    WHILE clock_timestamp() < stop LOOP
        i := i + 1;
        PERFORM pg_stat_clear_snapshot();
        INSERT INTO s SELECT i, l.locktype
        FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE NOT l.granted AND a.datname = '$1'
        UNION ALL SELECT i, NULL;
        PERFORM pg_sleep(0.02);
    END LOOP;
END \$\$;
SELECT count(DISTINCT n) FILTER (WHERE kind IS NOT NULL) || '/' || count(*) FILTER (WHERE kind IS NULL) ||
       coalesce(' (' || (SELECT string_agg(kind || ' ' || c, ', ' ORDER BY kind)
                         FROM (SELECT kind, count(DISTINCT n) AS c FROM s WHERE kind IS NOT NULL GROUP BY kind) k) || ')', '')
FROM s;
SQL
}
# The branch writers' company (alert_levels.sh, subtree.sh): a company, 2
# regions, 8 branches (4 per region), 4 sum indicators lv.i1..lv.i4; as
# SQL on stdout.
branch_company_sql() {
    cat <<'SQL'
INSERT INTO kpi.scope (code, name) VALUES ('co', 'Company');
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'co.r' || r, 'Region ' || r, kpi.scope_id('co') FROM generate_series(1, 2) r;
INSERT INTO kpi.scope (code, name, parent_id)
SELECT 'co.r' || ((b - 1) / 4 + 1) || '.b' || b, 'Branch ' || b, kpi.scope_id('co.r' || ((b - 1) / 4 + 1))
FROM generate_series(1, 8) b;
INSERT INTO kpi.indicator (code, name, owner) SELECT 'lv.i' || i, 'Indicator ' || i, 'owner' FROM generate_series(1, 4) i;
SQL
}
# The branch writers' pgbench script, on stdout: one kpi.record at a
# random indicator and day of July 2026 (3 keys: the month, its quarter
# and year) at a random one of the client's own two branches (clients 1
# and 2 under one region, 3 and 4 under the other), so that two writers
# never share a branch's key.
branch_writer_script() {
    cat <<'SQL'
\set b (:client_id % 4) * 2 + random(1, 2)
\set r (:b - 1) / 4 + 1
\set i random(1, 4)
\set d random(0, 30)
SELECT kpi.record('lv.i' || :i, 'co.r' || :r || '.b' || :b, random() * 100, timestamptz '2026-07-01 12:00+00' + :d * interval '1 day');
SQL
}
