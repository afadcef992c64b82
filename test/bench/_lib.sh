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
