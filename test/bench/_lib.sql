-- Shared benchmark helpers (included with \ir _lib.sql).  Benchmarks print
-- figures and ratios; they never fail on speed.

-- bench(label, query, runs): run the query `runs` times, return the best
-- wall time in milliseconds (EXECUTE, so nothing is cached between runs but
-- the plan's parse).
CREATE OR REPLACE FUNCTION pg_temp.bench(query text, runs int DEFAULT 3)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    best float8 := 'Infinity';
    t0 timestamptz;
    i int;
BEGIN
    FOR i IN 1 .. runs LOOP
        t0 := clock_timestamp();
        EXECUTE query;
        best := least(best, extract(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
    RETURN round(best::numeric, 1)::float8;
END $$;
