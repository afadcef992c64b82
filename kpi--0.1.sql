/* kpi--0.1.sql: release 0.1 of kpi: the core types kpi.period, kpi.goal,
 * kpi.bands and kpi.status, with their functions, operators and opclasses. */

\echo Use "CREATE EXTENSION kpi" to load this file. \quit

-- ---------------------------------------------------------------------
-- kpi.period: a calendar period (year, half, quarter, month, ISO week, day)
-- ---------------------------------------------------------------------

CREATE TYPE kpi.period;

CREATE FUNCTION kpi.period_in(cstring) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.period_out(kpi.period) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_period_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.period_recv(internal) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.period_send(kpi.period) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_period_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE kpi.period (
    INPUT = kpi.period_in,
    OUTPUT = kpi.period_out,
    RECEIVE = kpi.period_recv,
    SEND = kpi.period_send,
    INTERNALLENGTH = 8,
    PASSEDBYVALUE,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE kpi.period IS
    'calendar period: year 2026, half 2026-H2, quarter 2026-Q3, month 2026-07, ISO week 2026-W05 or day 2026-07-15';
COMMENT ON FUNCTION kpi.period_in(cstring) IS 'text input of kpi.period';
COMMENT ON FUNCTION kpi.period_out(kpi.period) IS 'text output of kpi.period';
COMMENT ON FUNCTION kpi.period_recv(internal) IS 'binary input of kpi.period';
COMMENT ON FUNCTION kpi.period_send(kpi.period) IS 'binary output of kpi.period';

-- constructors and accessors

CREATE FUNCTION kpi.period(d date, grain text) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_from_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period(date, text) IS
    'the period of grain (year, half, quarter, month, week, day) that contains the date';

CREATE FUNCTION kpi.period(t timestamptz, grain text) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_from_timestamptz' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period(timestamptz, text) IS
    'the period of grain that contains the timestamp''s date in the session time zone';

CREATE FUNCTION kpi.grain(p kpi.period) RETURNS text
    AS 'MODULE_PATHNAME', 'kpi_period_grain_text' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.grain(kpi.period) IS 'the grain of a period: year, half, quarter, month, week or day';

CREATE FUNCTION kpi.start_date(p kpi.period) RETURNS date
    AS 'MODULE_PATHNAME', 'kpi_period_start_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.start_date(kpi.period) IS 'first day of the period';

CREATE FUNCTION kpi.end_date(p kpi.period) RETURNS date
    AS 'MODULE_PATHNAME', 'kpi_period_end_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.end_date(kpi.period) IS 'last day of the period (inclusive)';

CREATE FUNCTION kpi.to_daterange(p kpi.period) RETURNS daterange
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
    RETURN pg_catalog.daterange(kpi.start_date(p), kpi.end_date(p), '[]');
COMMENT ON FUNCTION kpi.to_daterange(kpi.period) IS 'the period as a daterange [start_date, end_date + 1)';

CREATE CAST (kpi.period AS daterange) WITH FUNCTION kpi.to_daterange(kpi.period);
COMMENT ON CAST (kpi.period AS daterange) IS 'the period''s days as [start_date, end_date + 1)';
CREATE CAST (kpi.period AS text) WITH INOUT;
COMMENT ON CAST (kpi.period AS text) IS 'canonical text form of the period';
CREATE CAST (text AS kpi.period) WITH INOUT;
COMMENT ON CAST (text AS kpi.period) IS 'parse a period from text';

CREATE FUNCTION kpi.progress(p kpi.period, at timestamptz DEFAULT pg_catalog.now()) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_period_progress' LANGUAGE C STABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.progress(kpi.period, timestamptz) IS
    'fraction of the period elapsed at a time, in [0, 1]; days begin at midnight in the session time zone';

CREATE FUNCTION kpi.periods(p kpi.period, grain text) RETURNS SETOF kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_periods' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 12;
COMMENT ON FUNCTION kpi.periods(kpi.period, text) IS
    'in order, every period of grain that overlaps the period';

-- arithmetic

CREATE FUNCTION kpi.period_pl_int(kpi.period, integer) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_pl_int' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period_pl_int(kpi.period, integer) IS 'the period n periods of the same grain later';
CREATE FUNCTION kpi.period_mi_int(kpi.period, integer) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_mi_int' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period_mi_int(kpi.period, integer) IS 'the period n periods of the same grain earlier';
CREATE FUNCTION kpi.period_mi(kpi.period, kpi.period) RETURNS integer
    AS 'MODULE_PATHNAME', 'kpi_period_mi' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period_mi(kpi.period, kpi.period) IS 'number of periods from the second to the first (same grain)';

CREATE OPERATOR kpi.+ (LEFTARG = kpi.period, RIGHTARG = integer, FUNCTION = kpi.period_pl_int);
COMMENT ON OPERATOR kpi.+ (kpi.period, integer) IS 'shift a period forward by n periods';
CREATE OPERATOR kpi.- (LEFTARG = kpi.period, RIGHTARG = integer, FUNCTION = kpi.period_mi_int);
COMMENT ON OPERATOR kpi.- (kpi.period, integer) IS 'shift a period back by n periods';
CREATE OPERATOR kpi.- (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_mi);
COMMENT ON OPERATOR kpi.- (kpi.period, kpi.period) IS 'number of periods between two periods of the same grain';

-- containment and overlap

CREATE FUNCTION kpi.period_contains(kpi.period, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_contains' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period_contains(kpi.period, kpi.period) IS 'does the first period cover every day of the second?';
CREATE FUNCTION kpi.period_contained(kpi.period, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_contained' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period_contained(kpi.period, kpi.period) IS 'is the first period within the second?';
CREATE FUNCTION kpi.period_contains_date(kpi.period, date) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_contains_date' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period_contains_date(kpi.period, date) IS 'does the period include the day?';
CREATE FUNCTION kpi.period_date_contained(date, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_date_contained' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period_date_contained(date, kpi.period) IS 'is the day within the period?';
CREATE FUNCTION kpi.period_overlaps(kpi.period, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_overlaps' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period_overlaps(kpi.period, kpi.period) IS 'do the two periods share a day?';

CREATE OPERATOR kpi.@> (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_contains,
    COMMUTATOR = OPERATOR(kpi.<@), RESTRICT = contsel, JOIN = contjoinsel);
COMMENT ON OPERATOR kpi.@> (kpi.period, kpi.period) IS 'contains';
CREATE OPERATOR kpi.<@ (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_contained,
    COMMUTATOR = OPERATOR(kpi.@>), RESTRICT = contsel, JOIN = contjoinsel);
COMMENT ON OPERATOR kpi.<@ (kpi.period, kpi.period) IS 'is contained by';
CREATE OPERATOR kpi.@> (LEFTARG = kpi.period, RIGHTARG = date, FUNCTION = kpi.period_contains_date,
    COMMUTATOR = OPERATOR(kpi.<@), RESTRICT = contsel, JOIN = contjoinsel);
COMMENT ON OPERATOR kpi.@> (kpi.period, date) IS 'period contains day';
CREATE OPERATOR kpi.<@ (LEFTARG = date, RIGHTARG = kpi.period, FUNCTION = kpi.period_date_contained,
    COMMUTATOR = OPERATOR(kpi.@>), RESTRICT = contsel, JOIN = contjoinsel);
COMMENT ON OPERATOR kpi.<@ (date, kpi.period) IS 'day is within period';
CREATE OPERATOR kpi.&& (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_overlaps,
    COMMUTATOR = OPERATOR(kpi.&&), RESTRICT = areasel, JOIN = areajoinsel);
COMMENT ON OPERATOR kpi.&& (kpi.period, kpi.period) IS 'overlaps';

-- ordering: by start date, then the longer period first

CREATE FUNCTION kpi.period_lt(kpi.period, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.period_le(kpi.period, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.period_eq(kpi.period, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.period_ne(kpi.period, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.period_ge(kpi.period, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.period_gt(kpi.period, kpi.period) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_period_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.period_cmp(kpi.period, kpi.period) RETURNS integer
    AS 'MODULE_PATHNAME', 'kpi_period_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.period_sortsupport(internal) RETURNS void
    AS 'MODULE_PATHNAME', 'kpi_period_sortsupport' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.period_hash(kpi.period) RETURNS integer
    AS 'MODULE_PATHNAME', 'kpi_period_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.period_hash_extended(kpi.period, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_period_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.period_larger(kpi.period, kpi.period) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_larger' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.period_smaller(kpi.period, kpi.period) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_smaller' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period_lt(kpi.period, kpi.period) IS 'implementation of < for kpi.period';
COMMENT ON FUNCTION kpi.period_le(kpi.period, kpi.period) IS 'implementation of <= for kpi.period';
COMMENT ON FUNCTION kpi.period_eq(kpi.period, kpi.period) IS 'implementation of = for kpi.period';
COMMENT ON FUNCTION kpi.period_ne(kpi.period, kpi.period) IS 'implementation of <> for kpi.period';
COMMENT ON FUNCTION kpi.period_ge(kpi.period, kpi.period) IS 'implementation of >= for kpi.period';
COMMENT ON FUNCTION kpi.period_gt(kpi.period, kpi.period) IS 'implementation of > for kpi.period';
COMMENT ON FUNCTION kpi.period_cmp(kpi.period, kpi.period) IS 'btree comparison of kpi.period: start date, then longer first';
COMMENT ON FUNCTION kpi.period_sortsupport(internal) IS 'btree sort support for kpi.period';
COMMENT ON FUNCTION kpi.period_hash(kpi.period) IS 'hash of a kpi.period';
COMMENT ON FUNCTION kpi.period_hash_extended(kpi.period, bigint) IS 'seeded 64-bit hash of a kpi.period';
COMMENT ON FUNCTION kpi.period_larger(kpi.period, kpi.period) IS 'the later of two periods';
COMMENT ON FUNCTION kpi.period_smaller(kpi.period, kpi.period) IS 'the earlier of two periods';

CREATE OPERATOR kpi.< (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_lt,
    COMMUTATOR = OPERATOR(kpi.>), NEGATOR = OPERATOR(kpi.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR kpi.<= (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_le,
    COMMUTATOR = OPERATOR(kpi.>=), NEGATOR = OPERATOR(kpi.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR kpi.= (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_eq,
    COMMUTATOR = OPERATOR(kpi.=), NEGATOR = OPERATOR(kpi.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR kpi.<> (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_ne,
    COMMUTATOR = OPERATOR(kpi.<>), NEGATOR = OPERATOR(kpi.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR kpi.>= (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_ge,
    COMMUTATOR = OPERATOR(kpi.<=), NEGATOR = OPERATOR(kpi.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR kpi.> (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_gt,
    COMMUTATOR = OPERATOR(kpi.<), NEGATOR = OPERATOR(kpi.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR kpi.< (kpi.period, kpi.period) IS 'earlier (start date, then longer first)';
COMMENT ON OPERATOR kpi.<= (kpi.period, kpi.period) IS 'earlier or equal';
COMMENT ON OPERATOR kpi.= (kpi.period, kpi.period) IS 'same grain and start date';
COMMENT ON OPERATOR kpi.<> (kpi.period, kpi.period) IS 'not equal';
COMMENT ON OPERATOR kpi.>= (kpi.period, kpi.period) IS 'later or equal';
COMMENT ON OPERATOR kpi.> (kpi.period, kpi.period) IS 'later (start date, then longer first)';

CREATE OPERATOR CLASS kpi.period_ops DEFAULT FOR TYPE kpi.period USING btree AS
    OPERATOR 1 kpi.< ,
    OPERATOR 2 kpi.<= ,
    OPERATOR 3 kpi.= ,
    OPERATOR 4 kpi.>= ,
    OPERATOR 5 kpi.> ,
    FUNCTION 1 kpi.period_cmp(kpi.period, kpi.period),
    FUNCTION 2 kpi.period_sortsupport(internal);
COMMENT ON OPERATOR CLASS kpi.period_ops USING btree IS 'default btree operator class for kpi.period';
COMMENT ON OPERATOR FAMILY kpi.period_ops USING btree IS 'btree operators for kpi.period';

CREATE OPERATOR CLASS kpi.period_hash_ops DEFAULT FOR TYPE kpi.period USING hash AS
    OPERATOR 1 kpi.= ,
    FUNCTION 1 kpi.period_hash(kpi.period),
    FUNCTION 2 kpi.period_hash_extended(kpi.period, bigint);
COMMENT ON OPERATOR CLASS kpi.period_hash_ops USING hash IS 'default hash operator class for kpi.period';
COMMENT ON OPERATOR FAMILY kpi.period_hash_ops USING hash IS 'hash operators for kpi.period';

CREATE AGGREGATE kpi.min(kpi.period) (
    SFUNC = kpi.period_smaller, STYPE = kpi.period, COMBINEFUNC = kpi.period_smaller,
    SORTOP = OPERATOR(kpi.<), PARALLEL = SAFE);
COMMENT ON AGGREGATE kpi.min(kpi.period) IS 'the earliest period';
CREATE AGGREGATE kpi.max(kpi.period) (
    SFUNC = kpi.period_larger, STYPE = kpi.period, COMBINEFUNC = kpi.period_larger,
    SORTOP = OPERATOR(kpi.>), PARALLEL = SAFE);
COMMENT ON AGGREGATE kpi.max(kpi.period) IS 'the latest period';


-- ---------------------------------------------------------------------
-- kpi.goal: a target with a direction (>= T, <= T, lo .. hi), optionally
-- measured from a baseline; attainment, meets and pace against it
-- ---------------------------------------------------------------------

CREATE TYPE kpi.goal;

CREATE FUNCTION kpi.goal_in(cstring) RETURNS kpi.goal
    AS 'MODULE_PATHNAME', 'kpi_goal_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.goal_out(kpi.goal) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_goal_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.goal_recv(internal) RETURNS kpi.goal
    AS 'MODULE_PATHNAME', 'kpi_goal_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.goal_send(kpi.goal) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_goal_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE kpi.goal (
    INPUT = kpi.goal_in,
    OUTPUT = kpi.goal_out,
    RECEIVE = kpi.goal_recv,
    SEND = kpi.goal_send,
    INTERNALLENGTH = 24,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE kpi.goal IS
    'target with a direction: ">= 1200" (higher is better), "<= 3.5" (lower is better), "95 .. 105" (within a range), optionally "from" a baseline: ">= 1200 from 1000"';
COMMENT ON FUNCTION kpi.goal_in(cstring) IS 'text input of kpi.goal';
COMMENT ON FUNCTION kpi.goal_out(kpi.goal) IS 'text output of kpi.goal';
COMMENT ON FUNCTION kpi.goal_recv(internal) IS 'binary input of kpi.goal';
COMMENT ON FUNCTION kpi.goal_send(kpi.goal) IS 'binary output of kpi.goal';

-- constructors and accessors

CREATE FUNCTION kpi.goal(target float8, direction text, baseline float8 DEFAULT NULL) RETURNS kpi.goal
    AS 'MODULE_PATHNAME', 'kpi_goal_make' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION kpi.goal(float8, text, float8) IS
    'goal with direction higher or lower and an optional baseline (NULL: none); NULL target or direction gives NULL';

CREATE FUNCTION kpi.goal_range(lo float8, hi float8) RETURNS kpi.goal
    AS 'MODULE_PATHNAME', 'kpi_goal_range' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.goal_range(float8, float8) IS 'goal met within the inclusive range [lo, hi], lo < hi';

CREATE FUNCTION kpi.direction(g kpi.goal) RETURNS text
    AS 'MODULE_PATHNAME', 'kpi_goal_direction' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.direction(kpi.goal) IS 'direction of a goal: higher, lower or range';

CREATE FUNCTION kpi.target(g kpi.goal) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_goal_target' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.target(kpi.goal) IS 'target of a goal; for a range, its midpoint';

CREATE FUNCTION kpi.baseline(g kpi.goal) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_goal_baseline' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.baseline(kpi.goal) IS 'baseline (start value) of a goal, NULL if it has none';

-- attainment, meets, pace

CREATE FUNCTION kpi.attainment(actual float8, g kpi.goal) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_attainment' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.attainment(float8, kpi.goal) IS
    'attainment (达成率) of an actual against a goal, 1 = on target, not clamped; NULL when undefined';

CREATE OPERATOR kpi./ (LEFTARG = float8, RIGHTARG = kpi.goal, FUNCTION = kpi.attainment);
COMMENT ON OPERATOR kpi./ (float8, kpi.goal) IS 'attainment of an actual against a goal';

CREATE FUNCTION kpi.meets(actual float8, g kpi.goal) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_goal_meets' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.meets(float8, kpi.goal) IS
    'does the actual meet the goal? higher: actual >= target, lower: actual <= target, range: lo <= actual <= hi';

CREATE FUNCTION kpi.goal_contains(g kpi.goal, actual float8) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_goal_contains' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.goal_contains(kpi.goal, float8) IS 'does the goal accept the actual? kpi.meets with the arguments swapped';

CREATE OPERATOR kpi.<@ (LEFTARG = float8, RIGHTARG = kpi.goal, FUNCTION = kpi.meets,
    COMMUTATOR = OPERATOR(kpi.@>), RESTRICT = contsel, JOIN = contjoinsel);
COMMENT ON OPERATOR kpi.<@ (float8, kpi.goal) IS 'actual meets goal';
CREATE OPERATOR kpi.@> (LEFTARG = kpi.goal, RIGHTARG = float8, FUNCTION = kpi.goal_contains,
    COMMUTATOR = OPERATOR(kpi.<@), RESTRICT = contsel, JOIN = contjoinsel);
COMMENT ON OPERATOR kpi.@> (kpi.goal, float8) IS 'goal is met by actual';

CREATE FUNCTION kpi.pace(actual float8, g kpi.goal, progress float8) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_pace' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.pace(float8, kpi.goal, float8) IS
    'attainment against the share of the goal due at progress in (0, 1] (时间过半, 任务过半); NULL outside';

-- equality and ordering (the order has no business meaning; it lets rows
-- holding goals be compared, sorted, grouped and indexed)

CREATE FUNCTION kpi.goal_lt(kpi.goal, kpi.goal) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_goal_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.goal_le(kpi.goal, kpi.goal) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_goal_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.goal_eq(kpi.goal, kpi.goal) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_goal_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.goal_ne(kpi.goal, kpi.goal) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_goal_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.goal_ge(kpi.goal, kpi.goal) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_goal_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.goal_gt(kpi.goal, kpi.goal) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_goal_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.goal_cmp(kpi.goal, kpi.goal) RETURNS integer
    AS 'MODULE_PATHNAME', 'kpi_goal_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.goal_hash(kpi.goal) RETURNS integer
    AS 'MODULE_PATHNAME', 'kpi_goal_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.goal_hash_extended(kpi.goal, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_goal_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION kpi.goal_lt(kpi.goal, kpi.goal) IS 'implementation of < for kpi.goal';
COMMENT ON FUNCTION kpi.goal_le(kpi.goal, kpi.goal) IS 'implementation of <= for kpi.goal';
COMMENT ON FUNCTION kpi.goal_eq(kpi.goal, kpi.goal) IS 'implementation of = for kpi.goal';
COMMENT ON FUNCTION kpi.goal_ne(kpi.goal, kpi.goal) IS 'implementation of <> for kpi.goal';
COMMENT ON FUNCTION kpi.goal_ge(kpi.goal, kpi.goal) IS 'implementation of >= for kpi.goal';
COMMENT ON FUNCTION kpi.goal_gt(kpi.goal, kpi.goal) IS 'implementation of > for kpi.goal';
COMMENT ON FUNCTION kpi.goal_cmp(kpi.goal, kpi.goal) IS
    'btree comparison of kpi.goal: direction, first number, no baseline before a baseline, second number';
COMMENT ON FUNCTION kpi.goal_hash(kpi.goal) IS 'hash of a kpi.goal';
COMMENT ON FUNCTION kpi.goal_hash_extended(kpi.goal, bigint) IS 'seeded 64-bit hash of a kpi.goal';

CREATE OPERATOR kpi.< (LEFTARG = kpi.goal, RIGHTARG = kpi.goal, FUNCTION = kpi.goal_lt,
    COMMUTATOR = OPERATOR(kpi.>), NEGATOR = OPERATOR(kpi.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR kpi.<= (LEFTARG = kpi.goal, RIGHTARG = kpi.goal, FUNCTION = kpi.goal_le,
    COMMUTATOR = OPERATOR(kpi.>=), NEGATOR = OPERATOR(kpi.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR kpi.= (LEFTARG = kpi.goal, RIGHTARG = kpi.goal, FUNCTION = kpi.goal_eq,
    COMMUTATOR = OPERATOR(kpi.=), NEGATOR = OPERATOR(kpi.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR kpi.<> (LEFTARG = kpi.goal, RIGHTARG = kpi.goal, FUNCTION = kpi.goal_ne,
    COMMUTATOR = OPERATOR(kpi.<>), NEGATOR = OPERATOR(kpi.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR kpi.>= (LEFTARG = kpi.goal, RIGHTARG = kpi.goal, FUNCTION = kpi.goal_ge,
    COMMUTATOR = OPERATOR(kpi.<=), NEGATOR = OPERATOR(kpi.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR kpi.> (LEFTARG = kpi.goal, RIGHTARG = kpi.goal, FUNCTION = kpi.goal_gt,
    COMMUTATOR = OPERATOR(kpi.<), NEGATOR = OPERATOR(kpi.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR kpi.< (kpi.goal, kpi.goal) IS 'sorts before (technical order, no business meaning)';
COMMENT ON OPERATOR kpi.<= (kpi.goal, kpi.goal) IS 'sorts before or equal';
COMMENT ON OPERATOR kpi.= (kpi.goal, kpi.goal) IS 'same direction, numbers and baseline';
COMMENT ON OPERATOR kpi.<> (kpi.goal, kpi.goal) IS 'not equal';
COMMENT ON OPERATOR kpi.>= (kpi.goal, kpi.goal) IS 'sorts after or equal';
COMMENT ON OPERATOR kpi.> (kpi.goal, kpi.goal) IS 'sorts after (technical order, no business meaning)';

CREATE OPERATOR CLASS kpi.goal_ops DEFAULT FOR TYPE kpi.goal USING btree AS
    OPERATOR 1 kpi.< ,
    OPERATOR 2 kpi.<= ,
    OPERATOR 3 kpi.= ,
    OPERATOR 4 kpi.>= ,
    OPERATOR 5 kpi.> ,
    FUNCTION 1 kpi.goal_cmp(kpi.goal, kpi.goal);
COMMENT ON OPERATOR CLASS kpi.goal_ops USING btree IS 'default btree operator class for kpi.goal';
COMMENT ON OPERATOR FAMILY kpi.goal_ops USING btree IS 'btree operators for kpi.goal';

CREATE OPERATOR CLASS kpi.goal_hash_ops DEFAULT FOR TYPE kpi.goal USING hash AS
    OPERATOR 1 kpi.= ,
    FUNCTION 1 kpi.goal_hash(kpi.goal),
    FUNCTION 2 kpi.goal_hash_extended(kpi.goal, bigint);
COMMENT ON OPERATOR CLASS kpi.goal_hash_ops USING hash IS 'default hash operator class for kpi.goal';
COMMENT ON OPERATOR FAMILY kpi.goal_hash_ops USING hash IS 'hash operators for kpi.goal';

-- ---------------------------------------------------------------------
-- kpi.status and kpi.bands: status levels from attainment
-- ---------------------------------------------------------------------

CREATE TYPE kpi.status AS ENUM ('red', 'amber', 'green', 'blue');
COMMENT ON TYPE kpi.status IS
    'status of an indicator, worst to best: red < amber < green < blue (blue = exceeding, as in BRAG reporting)';

CREATE TYPE kpi.bands;

CREATE FUNCTION kpi.bands_in(cstring) RETURNS kpi.bands
    AS 'MODULE_PATHNAME', 'kpi_bands_in' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.bands_out(kpi.bands) RETURNS cstring
    AS 'MODULE_PATHNAME', 'kpi_bands_out' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.bands_recv(internal) RETURNS kpi.bands
    AS 'MODULE_PATHNAME', 'kpi_bands_recv' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
CREATE FUNCTION kpi.bands_send(kpi.bands) RETURNS bytea
    AS 'MODULE_PATHNAME', 'kpi_bands_send' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TYPE kpi.bands (
    INPUT = kpi.bands_in,
    OUTPUT = kpi.bands_out,
    RECEIVE = kpi.bands_recv,
    SEND = kpi.bands_send,
    INTERNALLENGTH = 32,
    ALIGNMENT = double,
    STORAGE = plain
);
COMMENT ON TYPE kpi.bands IS
    'attainment at which each status level better than red starts, e.g. "amber 0.8, green 0.95, blue 1.2"; levels may be omitted';
COMMENT ON FUNCTION kpi.bands_in(cstring) IS 'text input of kpi.bands';
COMMENT ON FUNCTION kpi.bands_out(kpi.bands) IS 'text output of kpi.bands';
COMMENT ON FUNCTION kpi.bands_recv(internal) IS 'binary input of kpi.bands';
COMMENT ON FUNCTION kpi.bands_send(kpi.bands) IS 'binary output of kpi.bands';

CREATE FUNCTION kpi.bands(amber float8 DEFAULT NULL, green float8 DEFAULT NULL, blue float8 DEFAULT NULL)
    RETURNS kpi.bands
    AS 'MODULE_PATHNAME', 'kpi_bands_make' LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION kpi.bands(float8, float8, float8) IS
    'bands from the thresholds of amber, green and blue; NULL leaves a level out';

CREATE FUNCTION kpi.status(att float8, b kpi.bands) RETURNS kpi.status
    AS 'MODULE_PATHNAME', 'kpi_status' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.status(float8, kpi.bands) IS
    'status of an attainment: the best level whose threshold it reaches, red below them all; NULL for NaN';

CREATE OPERATOR kpi.@ (LEFTARG = float8, RIGHTARG = kpi.bands, FUNCTION = kpi.status);
COMMENT ON OPERATOR kpi.@ (float8, kpi.bands) IS 'status of an attainment under bands';

-- equality and ordering (technical order: the set of levels, then thresholds)

CREATE FUNCTION kpi.bands_lt(kpi.bands, kpi.bands) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_bands_lt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.bands_le(kpi.bands, kpi.bands) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_bands_le' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.bands_eq(kpi.bands, kpi.bands) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_bands_eq' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.bands_ne(kpi.bands, kpi.bands) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_bands_ne' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.bands_ge(kpi.bands, kpi.bands) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_bands_ge' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.bands_gt(kpi.bands, kpi.bands) RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_bands_gt' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.bands_cmp(kpi.bands, kpi.bands) RETURNS integer
    AS 'MODULE_PATHNAME', 'kpi_bands_cmp' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.bands_hash(kpi.bands) RETURNS integer
    AS 'MODULE_PATHNAME', 'kpi_bands_hash' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
CREATE FUNCTION kpi.bands_hash_extended(kpi.bands, bigint) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_bands_hash_extended' LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE LEAKPROOF;
COMMENT ON FUNCTION kpi.bands_lt(kpi.bands, kpi.bands) IS 'implementation of < for kpi.bands';
COMMENT ON FUNCTION kpi.bands_le(kpi.bands, kpi.bands) IS 'implementation of <= for kpi.bands';
COMMENT ON FUNCTION kpi.bands_eq(kpi.bands, kpi.bands) IS 'implementation of = for kpi.bands';
COMMENT ON FUNCTION kpi.bands_ne(kpi.bands, kpi.bands) IS 'implementation of <> for kpi.bands';
COMMENT ON FUNCTION kpi.bands_ge(kpi.bands, kpi.bands) IS 'implementation of >= for kpi.bands';
COMMENT ON FUNCTION kpi.bands_gt(kpi.bands, kpi.bands) IS 'implementation of > for kpi.bands';
COMMENT ON FUNCTION kpi.bands_cmp(kpi.bands, kpi.bands) IS
    'btree comparison of kpi.bands: the levels present, then the thresholds from amber up';
COMMENT ON FUNCTION kpi.bands_hash(kpi.bands) IS 'hash of a kpi.bands';
COMMENT ON FUNCTION kpi.bands_hash_extended(kpi.bands, bigint) IS 'seeded 64-bit hash of a kpi.bands';

CREATE OPERATOR kpi.< (LEFTARG = kpi.bands, RIGHTARG = kpi.bands, FUNCTION = kpi.bands_lt,
    COMMUTATOR = OPERATOR(kpi.>), NEGATOR = OPERATOR(kpi.>=), RESTRICT = scalarltsel, JOIN = scalarltjoinsel);
CREATE OPERATOR kpi.<= (LEFTARG = kpi.bands, RIGHTARG = kpi.bands, FUNCTION = kpi.bands_le,
    COMMUTATOR = OPERATOR(kpi.>=), NEGATOR = OPERATOR(kpi.>), RESTRICT = scalarlesel, JOIN = scalarlejoinsel);
CREATE OPERATOR kpi.= (LEFTARG = kpi.bands, RIGHTARG = kpi.bands, FUNCTION = kpi.bands_eq,
    COMMUTATOR = OPERATOR(kpi.=), NEGATOR = OPERATOR(kpi.<>), RESTRICT = eqsel, JOIN = eqjoinsel,
    HASHES, MERGES);
CREATE OPERATOR kpi.<> (LEFTARG = kpi.bands, RIGHTARG = kpi.bands, FUNCTION = kpi.bands_ne,
    COMMUTATOR = OPERATOR(kpi.<>), NEGATOR = OPERATOR(kpi.=), RESTRICT = neqsel, JOIN = neqjoinsel);
CREATE OPERATOR kpi.>= (LEFTARG = kpi.bands, RIGHTARG = kpi.bands, FUNCTION = kpi.bands_ge,
    COMMUTATOR = OPERATOR(kpi.<=), NEGATOR = OPERATOR(kpi.<), RESTRICT = scalargesel, JOIN = scalargejoinsel);
CREATE OPERATOR kpi.> (LEFTARG = kpi.bands, RIGHTARG = kpi.bands, FUNCTION = kpi.bands_gt,
    COMMUTATOR = OPERATOR(kpi.<), NEGATOR = OPERATOR(kpi.<=), RESTRICT = scalargtsel, JOIN = scalargtjoinsel);
COMMENT ON OPERATOR kpi.< (kpi.bands, kpi.bands) IS 'sorts before (technical order, no business meaning)';
COMMENT ON OPERATOR kpi.<= (kpi.bands, kpi.bands) IS 'sorts before or equal';
COMMENT ON OPERATOR kpi.= (kpi.bands, kpi.bands) IS 'same levels with the same thresholds';
COMMENT ON OPERATOR kpi.<> (kpi.bands, kpi.bands) IS 'not equal';
COMMENT ON OPERATOR kpi.>= (kpi.bands, kpi.bands) IS 'sorts after or equal';
COMMENT ON OPERATOR kpi.> (kpi.bands, kpi.bands) IS 'sorts after (technical order, no business meaning)';

CREATE OPERATOR CLASS kpi.bands_ops DEFAULT FOR TYPE kpi.bands USING btree AS
    OPERATOR 1 kpi.< ,
    OPERATOR 2 kpi.<= ,
    OPERATOR 3 kpi.= ,
    OPERATOR 4 kpi.>= ,
    OPERATOR 5 kpi.> ,
    FUNCTION 1 kpi.bands_cmp(kpi.bands, kpi.bands);
COMMENT ON OPERATOR CLASS kpi.bands_ops USING btree IS 'default btree operator class for kpi.bands';
COMMENT ON OPERATOR FAMILY kpi.bands_ops USING btree IS 'btree operators for kpi.bands';

CREATE OPERATOR CLASS kpi.bands_hash_ops DEFAULT FOR TYPE kpi.bands USING hash AS
    OPERATOR 1 kpi.= ,
    FUNCTION 1 kpi.bands_hash(kpi.bands),
    FUNCTION 2 kpi.bands_hash_extended(kpi.bands, bigint);
COMMENT ON OPERATOR CLASS kpi.bands_hash_ops USING hash IS 'default hash operator class for kpi.bands';
COMMENT ON OPERATOR FAMILY kpi.bands_hash_ops USING hash IS 'hash operators for kpi.bands';
