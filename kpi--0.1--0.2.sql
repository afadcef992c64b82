/* kpi--0.1--0.2.sql: release 0.2 of kpi: kpi.tally, mergeable summaries, and its aggregates. */

\echo Use "ALTER EXTENSION kpi UPDATE TO '0.2'" to load this file. \quit


-- ---------------------------------------------------------------------
-- kpi.agg_kind: how an indicator's values roll up
-- ---------------------------------------------------------------------

CREATE TYPE kpi.agg_kind AS ENUM ('sum', 'avg', 'min', 'max', 'first', 'last', 'count', 'ratio');
COMMENT ON TYPE kpi.agg_kind IS
    'how an indicator''s values roll up: sum, avg, min, max, first, last (by time), count or ratio (sum of numerators / sum of denominators)';

-- ---------------------------------------------------------------------
-- kpi.tally: a mergeable summary of values (count, compensated sums, min,
-- max, first and last by time, numerator and denominator sums)
-- ---------------------------------------------------------------------

CREATE TYPE kpi.tally;

CREATE FUNCTION kpi.tally_in(cstring) RETURNS kpi.tally
    AS 'MODULE_PATHNAME', 'kpi_tally_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.tally_out(kpi.tally) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_tally_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.tally_recv(internal) RETURNS kpi.tally
    AS 'MODULE_PATHNAME', 'kpi_tally_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.tally_send(kpi.tally) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_tally_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE kpi.tally (
    INPUT = kpi.tally_in,
    OUTPUT = kpi.tally_out,
    RECEIVE = kpi.tally_recv,
    SEND = kpi.tally_send,
    INTERNALLENGTH = 112,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE kpi.tally IS
    'mergeable summary of values: count, compensated sum, min, max, first and last by time, numerator and denominator sums; read with kpi.value(tally, kind)';
COMMENT ON FUNCTION kpi.tally_in(cstring) IS 'text input of kpi.tally';
COMMENT ON FUNCTION kpi.tally_out(kpi.tally) IS 'text output of kpi.tally (exact, times in UTC)';
COMMENT ON FUNCTION kpi.tally_recv(internal) IS 'binary input of kpi.tally';
COMMENT ON FUNCTION kpi.tally_send(kpi.tally) IS 'binary output of kpi.tally';

-- transition functions (update the state in place only inside an aggregate)

CREATE FUNCTION kpi.tally_add(t kpi.tally, value float8) RETURNS kpi.tally
    AS 'MODULE_PATHNAME', 'kpi_tally_step' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.tally_add(kpi.tally, float8) IS
    'the tally with one more value without a time (transition of kpi.tally(value))';

CREATE FUNCTION kpi.tally_add(t kpi.tally, value float8, at timestamptz) RETURNS kpi.tally
    AS 'MODULE_PATHNAME', 'kpi_tally_step_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.tally_add(kpi.tally, float8, timestamptz) IS
    'the tally with one more value taken at a time (transition of kpi.tally(value, at))';

CREATE FUNCTION kpi.tally_add(t kpi.tally, num float8, den float8, at timestamptz) RETURNS kpi.tally
    AS 'MODULE_PATHNAME', 'kpi_tally_step_ratio' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.tally_add(kpi.tally, float8, float8, timestamptz) IS
    'the tally with one more ratio row: num is the value, num and den add to the ratio sums (transition of kpi.tally(num, den, at))';

-- merging

CREATE FUNCTION kpi.merge(a kpi.tally, b kpi.tally) RETURNS kpi.tally
    AS 'MODULE_PATHNAME', 'kpi_tally_pl' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.merge(kpi.tally, kpi.tally) IS
    'two tallies merged into one, as if their rows had been tallied together';

CREATE OPERATOR kpi.+ (
    LEFTARG = kpi.tally,
    RIGHTARG = kpi.tally,
    FUNCTION = kpi.merge,
    COMMUTATOR = OPERATOR(kpi.+)
);
COMMENT ON OPERATOR kpi.+ (kpi.tally, kpi.tally) IS 'merge two tallies';

-- aggregates: the state is a kpi.tally, so no serial/deserial functions are
-- needed for parallel query, and Citus can push them down

CREATE AGGREGATE kpi.tally(value float8) (
    SFUNC = kpi.tally_add,
    STYPE = kpi.tally,
    COMBINEFUNC = kpi.merge,
    INITCOND = 'count=0',
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE kpi.tally(float8) IS
    'tally of values without times (first and last unknown); NULL values are skipped';

CREATE AGGREGATE kpi.tally(value float8, at timestamptz) (
    SFUNC = kpi.tally_add,
    STYPE = kpi.tally,
    COMBINEFUNC = kpi.merge,
    INITCOND = 'count=0',
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE kpi.tally(float8, timestamptz) IS
    'tally of values taken at times; rows with a NULL value or time are skipped; ties in time: first takes the smaller value, last the larger';

CREATE AGGREGATE kpi.tally(num float8, den float8, at timestamptz) (
    SFUNC = kpi.tally_add,
    STYPE = kpi.tally,
    COMBINEFUNC = kpi.merge,
    INITCOND = 'count=0',
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE kpi.tally(float8, float8, timestamptz) IS
    'tally of ratio rows: the ratio is sum(num) / sum(den); num is also tallied as the value; rows with a NULL are skipped';

CREATE AGGREGATE kpi.merge(kpi.tally) (
    SFUNC = kpi.merge,
    STYPE = kpi.tally,
    COMBINEFUNC = kpi.merge,
    INITCOND = 'count=0',
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE kpi.merge(kpi.tally) IS
    'tallies merged into one (daily into monthly, branches into regions); NULL tallies are skipped';

-- reading a tally

CREATE FUNCTION kpi.value(t kpi.tally, k kpi.agg_kind) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_value' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.value(kpi.tally, kpi.agg_kind) IS
    'the tally read as sum, avg, min, max, first, last, count or ratio; NULL when empty (count: 0) and for a ratio whose denominator sum is 0';

CREATE FUNCTION kpi.first_at(t kpi.tally) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'kpi_tally_first_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.first_at(kpi.tally) IS
    'time of the first value; NULL when empty or when some value had no time';

CREATE FUNCTION kpi.last_at(t kpi.tally) RETURNS timestamptz
    AS 'MODULE_PATHNAME', 'kpi_tally_last_at' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.last_at(kpi.tally) IS
    'time of the last value; NULL when empty or when some value had no time';
