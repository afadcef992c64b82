/* kpi--0.6.sql: the base script of release 0.6 of kpi.  It creates what
 * kpi--0.1.sql upgraded through every migration (kpi--0.1--0.2.sql ...
 * kpi--0.5--0.6.sql) creates, object for object, so a reader finds the
 * current data model in one file; test/scripts/t_upgrade.sh proves the two
 * agree.  Where the chain replaced a function or a view, only its last
 * definition is here.  Contents:
 *
 *   1. types: kpi.period, kpi.goal, kpi.status and kpi.bands, kpi.agg_kind
 *      and kpi.tally
 *   2. the dictionary and the scopes: indicators and their history, the
 *      organisation tree, the indicator tree, who sees which scopes
 *   3. targets, measurements and actuals, the triggers that keep kpi.actual,
 *      the rollup
 *   4. alerts: rules, silences, the queue and its events
 *   5. settings and restore handling
 *   6. views for people and BI tools; kpi.verify() and kpi.repair()
 *   7. reviews (复盘): reviews, findings, actions, their history, the alerts
 *      they close, the lessons search
 *   8. security: row-level security by scope
 *   9. dumps and restores: what pg_dump keeps, how a restore loads it
 */

\echo Use "CREATE EXTENSION kpi" to load this file. \quit

-- =====================================================================
-- 1. Types
-- =====================================================================

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

CREATE FUNCTION kpi.period(t timestamptz, grain text, zone text) RETURNS kpi.period
    AS 'MODULE_PATHNAME', 'kpi_period_from_timestamptz_zone'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.period(timestamptz, text, text) IS
    'the period of grain that contains the date of t in zone (kpi.period(at, grain, kpi.time_zone()) is the period kpi.actual puts a measurement in)';

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

CREATE FUNCTION kpi.progress(p kpi.period, at timestamptz, zone text) RETURNS float8
    AS 'MODULE_PATHNAME', 'kpi_progress_zone'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.progress(kpi.period, timestamptz, text) IS
    'fraction of the period elapsed at a time, clamped to [0,1], day boundaries in the given zone';

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

-- ordering: by start date, then the longer period first.  Period
-- comparisons never fail and reveal nothing but their answer: marked
-- LEAKPROOF, a period condition can use an index under row-level security.

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


-- =====================================================================
-- 2. The dictionary and the scopes
-- =====================================================================

-- ---------------------------------------------------------------------
-- Validation helpers used by CHECK constraints: they raise a clear error
-- (SQLSTATE 23514) naming the bad value instead of returning false.
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.check_code(code text, what text) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF code IS NULL OR code ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' THEN
        RETURN true;
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'check_violation',
        MESSAGE = format('invalid %s code: "%s"', what, code),
        HINT = 'Codes are lower-case words of a-z, 0-9 and _ joined by dots, for example sales.revenue.';
END
$$;
COMMENT ON FUNCTION kpi.check_code(text, text) IS
    'true for a valid lower-case dotted code (e.g. sales.revenue); raises 23514 naming the code otherwise';

CREATE FUNCTION kpi.check_grains(grains text[]) RETURNS boolean
    LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF grains IS NULL THEN
        RETURN true;
    END IF;
    IF cardinality(grains) = 0
       OR EXISTS (SELECT FROM unnest(grains) g
                  WHERE g IS NULL OR g NOT IN ('year', 'half', 'quarter', 'month', 'week', 'day'))
       OR (SELECT count(DISTINCT g) FROM unnest(grains) g) <> cardinality(grains) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('invalid grains: %s', grains),
            HINT = 'Grains are a non-empty list without repeats of year, half, quarter, month, week and day.';
    END IF;
    RETURN true;
END
$$;
COMMENT ON FUNCTION kpi.check_grains(text[]) IS
    'true for a non-empty, repeat-free list of grain names; raises 23514 otherwise';

-- ---------------------------------------------------------------------
-- kpi.indicator: the dictionary, one agreed definition (口径) per code
-- ---------------------------------------------------------------------

CREATE TABLE kpi.indicator (
    id          bigserial PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (kpi.check_code(code, 'indicator')),
    name        text NOT NULL,
    description text,
    definition  text,
    unit        text,
    agg         kpi.agg_kind NOT NULL DEFAULT 'sum',
    bands       kpi.bands NOT NULL DEFAULT 'amber 0.8, green 1',
    score_cap   float8 DEFAULT 1.2 CHECK (score_cap > 0 AND score_cap < 'Infinity'),
    grains      text[] NOT NULL DEFAULT '{month,quarter,year}' CHECK (kpi.check_grains(grains)),
    owner       text,
    lifecycle   text NOT NULL DEFAULT 'active' CHECK (lifecycle IN ('draft', 'active', 'retired')),
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE kpi.indicator IS 'the indicator dictionary (指标库): one agreed, versioned definition (口径) per code';
COMMENT ON COLUMN kpi.indicator.code IS 'unique lower-case dotted code, e.g. sales.revenue';
COMMENT ON COLUMN kpi.indicator.name IS 'display name, any language';
COMMENT ON COLUMN kpi.indicator.definition IS 'the agreed calculation (口径)';
COMMENT ON COLUMN kpi.indicator.agg IS 'how values roll up over time and scopes: sum, avg, min, max, first, last, count or ratio';
COMMENT ON COLUMN kpi.indicator.bands IS 'attainment at which amber, green and blue begin';
COMMENT ON COLUMN kpi.indicator.score_cap IS 'upper clamp of the score in tree rollups; NULL = no cap';
COMMENT ON COLUMN kpi.indicator.grains IS 'period grains kpi.actual keeps for this indicator';
COMMENT ON COLUMN kpi.indicator.lifecycle IS 'draft, active or retired; retired indicators take no new measurements';
COMMENT ON SEQUENCE kpi.indicator_id_seq IS 'ids of kpi.indicator';

CREATE TABLE kpi.indicator_history (
    id           bigserial NOT NULL,
    indicator_id bigint NOT NULL,
    op           text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    changed_by   name NOT NULL DEFAULT CURRENT_USER,
    changed_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    old_row      jsonb,
    new_row      jsonb
);
CREATE INDEX indicator_history_indicator_at ON kpi.indicator_history (indicator_id, changed_at);
COMMENT ON TABLE kpi.indicator_history IS 'every change to kpi.indicator: who, when, the old and the new row';
COMMENT ON SEQUENCE kpi.indicator_history_id_seq IS 'ids of kpi.indicator_history';

CREATE FUNCTION kpi.indicator_touch() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW IS DISTINCT FROM OLD THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.indicator_touch() IS 'trigger: move kpi.indicator.updated_at when a row really changes';

-- History is written with the owner's rights, so that no writer needs (or
-- has) the right to write history of its own; kpi.actor() names the role
-- that made the change.  The history keeps numbers exactly: to_jsonb
-- follows extra_float_digits, which a session may have lowered.  A dump
-- restore brings the history with it, so nothing is logged then
-- (kpi.in_restore(), section 5).
CREATE FUNCTION kpi.actor() RETURNS name
    AS 'MODULE_PATHNAME', 'kpi_actor'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION kpi.actor() IS
    'the role a change is made by: the session''s role as SET ROLE leaves it, also inside owner-rights functions (where CURRENT_USER is the owner)';

CREATE FUNCTION kpi.indicator_log() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1
AS $$
BEGIN
    IF TG_TABLE_SCHEMA <> 'kpi' OR TG_TABLE_NAME <> 'indicator' OR TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.indicator_log() fires only AFTER ... FOR EACH ROW on kpi.indicator';
    END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.indicator_history (indicator_id, op, changed_by, old_row, new_row)
    VALUES (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END, TG_OP, kpi.actor(),
            CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.indicator_log() IS 'trigger: record every change of kpi.indicator in kpi.indicator_history';
REVOKE EXECUTE ON FUNCTION kpi.indicator_log() FROM PUBLIC;

CREATE TRIGGER indicator_touch BEFORE UPDATE ON kpi.indicator
    FOR EACH ROW EXECUTE FUNCTION kpi.indicator_touch();
CREATE TRIGGER indicator_log AFTER INSERT OR UPDATE OR DELETE ON kpi.indicator
    FOR EACH ROW EXECUTE FUNCTION kpi.indicator_log();

CREATE FUNCTION kpi.indicator_as_of(at timestamptz) RETURNS SETOF kpi.indicator
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT r.*
    FROM (SELECT DISTINCT ON (h.indicator_id) h.op, h.new_row
          FROM kpi.indicator_history h
          WHERE h.changed_at OPERATOR(pg_catalog.<=) at
          ORDER BY h.indicator_id, h.changed_at DESC, h.id DESC) last_change,
         LATERAL pg_catalog.jsonb_populate_record(NULL::kpi.indicator, last_change.new_row) r
    WHERE last_change.op OPERATOR(pg_catalog.<>) 'DELETE'
    ORDER BY r.code;
END;
COMMENT ON FUNCTION kpi.indicator_as_of(timestamptz) IS
    'the dictionary as it was at a time: each indicator''s row after its last change up to then';

-- ---------------------------------------------------------------------
-- kpi.scope: the organisation tree (company > region > branch ...)
-- Subtrees and ancestors are walked through the parent_id index; no path is
-- stored, so moving a branch is one UPDATE and a restore in any row order
-- stays right.
-- ---------------------------------------------------------------------

CREATE TABLE kpi.scope (
    id         bigserial PRIMARY KEY,
    code       text NOT NULL UNIQUE CHECK (kpi.check_code(code, 'scope')),
    name       text NOT NULL,
    parent_id  bigint REFERENCES kpi.scope (id),
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX scope_parent ON kpi.scope (parent_id);
COMMENT ON TABLE kpi.scope IS 'the organisation tree: company, regions, branches, teams';
COMMENT ON COLUMN kpi.scope.parent_id IS 'the scope above; NULL for a top-level scope';
COMMENT ON SEQUENCE kpi.scope_id_seq IS 'ids of kpi.scope';

CREATE FUNCTION kpi.scope_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.parent_id IS NULL THEN
        RETURN NEW;
    END IF;
    -- one writer at a time, so two concurrent moves cannot close a cycle
    LOCK TABLE kpi.scope IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (
        WITH RECURSIVE up(id) AS (
            SELECT NEW.parent_id
            UNION
            SELECT s.parent_id FROM kpi.scope s JOIN up ON s.id OPERATOR(pg_catalog.=) up.id
            WHERE s.parent_id IS NOT NULL
        )
        SELECT FROM up WHERE up.id OPERATOR(pg_catalog.=) NEW.id)
    THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('scope "%s" cannot be placed below itself', NEW.code),
            DETAIL = 'Its new parent lies in its own subtree.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.scope_check() IS 'trigger: refuse a scope parent that would make a cycle';

CREATE TRIGGER scope_check BEFORE INSERT OR UPDATE OF parent_id ON kpi.scope
    FOR EACH ROW EXECUTE FUNCTION kpi.scope_check();

-- kpi.scope_tree: every (ancestor, descendant) pair, a scope being its own
-- ancestor at distance 0.
CREATE VIEW kpi.scope_tree AS
WITH RECURSIVE tree(ancestor_id, scope_id, distance) AS (
    SELECT s.id, s.id, 0 FROM kpi.scope s
    UNION ALL
    SELECT t.ancestor_id, s.id, t.distance OPERATOR(pg_catalog.+) 1
    FROM tree t JOIN kpi.scope s ON s.parent_id OPERATOR(pg_catalog.=) t.scope_id
)
SELECT ancestor_id, scope_id, distance FROM tree;
COMMENT ON VIEW kpi.scope_tree IS 'every (ancestor, descendant) pair of scopes, each scope its own ancestor at distance 0';

CREATE FUNCTION kpi.scope_id(scope_code text) RETURNS bigint
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result bigint;
BEGIN
    SELECT s.id INTO result FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) scope_code;
    IF result IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown scope code: "%s"', scope_code),
            HINT = 'The scopes are listed in kpi.scope.';
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION kpi.scope_id(text) IS 'the id of a scope code; unknown codes raise 22023 naming the code';

CREATE FUNCTION kpi.indicator_id(indicator_code text) RETURNS bigint
    LANGUAGE plpgsql STABLE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    result bigint;
BEGIN
    SELECT i.id INTO result FROM kpi.indicator i WHERE i.code OPERATOR(pg_catalog.=) indicator_code;
    IF result IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown indicator code: "%s"', indicator_code),
            HINT = 'The indicators are listed in kpi.indicator.';
    END IF;
    RETURN result;
END
$$;
COMMENT ON FUNCTION kpi.indicator_id(text) IS 'the id of an indicator code; unknown codes raise 22023 naming the code';

CREATE FUNCTION kpi.scope_subtree(scope_code text)
    RETURNS TABLE (id bigint, code text, name text, parent_id bigint, depth integer)
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE down(id, depth) AS (
        SELECT kpi.scope_id(scope_code), 0
        UNION ALL
        SELECT s.id, d.depth OPERATOR(pg_catalog.+) 1
        FROM down d JOIN kpi.scope s ON s.parent_id OPERATOR(pg_catalog.=) d.id
    )
    SELECT s.id, s.code, s.name, s.parent_id, d.depth
    FROM down d JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) d.id
    ORDER BY d.depth, s.code;
END;
COMMENT ON FUNCTION kpi.scope_subtree(text) IS 'a scope and every scope below it, with the depth below it (walks the parent_id index)';

CREATE FUNCTION kpi.scope_ancestors(scope_code text)
    RETURNS TABLE (id bigint, code text, name text, parent_id bigint, distance integer)
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    WITH RECURSIVE up(id, distance) AS (
        SELECT kpi.scope_id(scope_code), 0
        UNION ALL
        SELECT s.parent_id, u.distance OPERATOR(pg_catalog.+) 1
        FROM up u JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) u.id
        WHERE s.parent_id IS NOT NULL
    )
    SELECT s.id, s.code, s.name, s.parent_id, u.distance
    FROM up u JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) u.id
    ORDER BY u.distance DESC;
END;
COMMENT ON FUNCTION kpi.scope_ancestors(text) IS 'a scope and every scope above it, from the top down, with the distance up to each';

-- ---------------------------------------------------------------------
-- kpi.link: the indicator tree (指标树), a weighted DAG
-- ---------------------------------------------------------------------

CREATE TABLE kpi.link (
    parent_id bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    child_id  bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    weight    float8 NOT NULL DEFAULT 1,
    PRIMARY KEY (parent_id, child_id)
);
CREATE INDEX link_child ON kpi.link (child_id);
COMMENT ON TABLE kpi.link IS 'indicator tree edges: the parent is decomposed into weighted children; a child may have several parents';
COMMENT ON COLUMN kpi.link.weight IS 'weight of the child in its parent''s score, > 0';

CREATE FUNCTION kpi.link_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    parent_code text;
    child_code text;
BEGIN
    SELECT i.code INTO parent_code FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) NEW.parent_id;
    SELECT i.code INTO child_code FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) NEW.child_id;
    IF NEW.weight IS NULL OR NOT (NEW.weight OPERATOR(pg_catalog.>) 0
                                  AND NEW.weight OPERATOR(pg_catalog.<) 'Infinity'::float8) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('link weight must be a positive number, not %s', NEW.weight),
            DETAIL = format('Link %s -> %s.', parent_code, child_code);
    END IF;
    IF NEW.parent_id OPERATOR(pg_catalog.=) NEW.child_id THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('indicator "%s" cannot be its own child', parent_code);
    END IF;
    -- one writer at a time, so two concurrent links cannot close a cycle
    LOCK TABLE kpi.link IN SHARE ROW EXCLUSIVE MODE;
    IF EXISTS (
        WITH RECURSIVE below(id) AS (
            SELECT NEW.child_id
            UNION
            SELECT l.child_id FROM kpi.link l JOIN below b ON l.parent_id OPERATOR(pg_catalog.=) b.id
        )
        SELECT FROM below WHERE below.id OPERATOR(pg_catalog.=) NEW.parent_id)
    THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('link %s -> %s would create a cycle', parent_code, child_code),
            DETAIL = format('"%s" already lies below "%s" in the indicator tree.', parent_code, child_code);
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.link_check() IS 'trigger: refuse self-links, cycles and non-positive weights in kpi.link';

CREATE TRIGGER link_check BEFORE INSERT OR UPDATE ON kpi.link
    FOR EACH ROW EXECUTE FUNCTION kpi.link_check();

-- ---------------------------------------------------------------------
-- Who sees which scopes.  kpi.scope_member says which roles are members of
-- which scopes; a member sees the scope and its whole subtree.  No role is
-- created by the extension: the administrator grants membership.
-- ---------------------------------------------------------------------

CREATE TABLE kpi.scope_member (
    role       name NOT NULL,
    scope_id   bigint NOT NULL REFERENCES kpi.scope (id) ON DELETE CASCADE,
    granted_by name NOT NULL DEFAULT CURRENT_USER,
    granted_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (role, scope_id)
);
CREATE INDEX scope_member_scope ON kpi.scope_member (scope_id);
COMMENT ON TABLE kpi.scope_member IS
    'row-level security: a role (or any role that inherits from it) sees and writes the rows of these scopes and of every scope below them';
COMMENT ON COLUMN kpi.scope_member.role IS 'the role, by name; roles that inherit its privileges are members too';
COMMENT ON COLUMN kpi.scope_member.scope_id IS 'the scope; membership covers its whole subtree';
COMMENT ON COLUMN kpi.scope_member.granted_by IS 'who granted the membership';
COMMENT ON COLUMN kpi.scope_member.granted_at IS 'when the membership was granted';

-- a membership names a role that exists (a typo would silently grant nothing)
CREATE FUNCTION kpi.scope_member_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles r WHERE r.rolname OPERATOR(pg_catalog.=) NEW.role) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'undefined_object',
            MESSAGE = format('role "%s" does not exist', NEW.role),
            HINT = 'Create the role first; kpi.scope_member names existing roles.';
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.scope_member_check() IS 'trigger: refuse a membership for a role that does not exist';
CREATE TRIGGER scope_member_check BEFORE INSERT OR UPDATE OF role ON kpi.scope_member
    FOR EACH ROW EXECUTE FUNCTION kpi.scope_member_check();

CREATE FUNCTION kpi.visible_scopes() RETURNS bigint[]
    AS 'MODULE_PATHNAME', 'kpi_visible_scopes'
    LANGUAGE C STABLE PARALLEL RESTRICTED;
COMMENT ON FUNCTION kpi.visible_scopes() IS
    'ids of the scopes the current role sees (its memberships and their subtrees), or NULL when it sees everything (superuser, BYPASSRLS, the extension''s owner, or a member of every scope)';


-- =====================================================================
-- 3. Targets, measurements and actuals
-- =====================================================================

-- ---------------------------------------------------------------------
-- kpi.target: one goal per (indicator, scope, period), history kept
-- ---------------------------------------------------------------------

CREATE TABLE kpi.target (
    id           bigserial PRIMARY KEY,
    indicator_id bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id     bigint NOT NULL REFERENCES kpi.scope (id) ON DELETE CASCADE,
    period       kpi.period NOT NULL,
    goal         kpi.goal NOT NULL,
    note         text,
    set_by       name NOT NULL DEFAULT CURRENT_USER,
    set_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    UNIQUE (indicator_id, scope_id, period)
);
CREATE INDEX target_scope_period ON kpi.target (scope_id, period);
COMMENT ON TABLE kpi.target IS 'targets: one goal per indicator, scope and period';
COMMENT ON SEQUENCE kpi.target_id_seq IS 'ids of kpi.target';

CREATE TABLE kpi.target_history (
    id           bigserial NOT NULL,
    target_id    bigint NOT NULL,
    indicator_id bigint NOT NULL,
    scope_id     bigint NOT NULL,
    period       kpi.period NOT NULL,
    op           text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    old_goal     kpi.goal,
    new_goal     kpi.goal,
    note         text,
    changed_by   name NOT NULL DEFAULT CURRENT_USER,
    changed_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX target_history_key ON kpi.target_history (indicator_id, scope_id, period, changed_at);
COMMENT ON TABLE kpi.target_history IS 'every change to kpi.target: who, when, the old and the new goal (retargeting stays visible)';
COMMENT ON SEQUENCE kpi.target_history_id_seq IS 'ids of kpi.target_history';

-- Written with the owner's rights, as the indicators' history (section 2).
CREATE FUNCTION kpi.target_log() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    r kpi.target;
BEGIN
    IF TG_TABLE_SCHEMA <> 'kpi' OR TG_TABLE_NAME <> 'target' OR TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.target_log() fires only AFTER ... FOR EACH ROW on kpi.target';
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op, old_goal, new_goal, note, changed_by)
    VALUES (r.id, r.indicator_id, r.scope_id, r.period, TG_OP,
            CASE WHEN TG_OP <> 'INSERT' THEN OLD.goal END,
            CASE WHEN TG_OP <> 'DELETE' THEN NEW.goal END, r.note, kpi.actor());
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.target_log() IS 'trigger: record every change of kpi.target in kpi.target_history';
REVOKE EXECUTE ON FUNCTION kpi.target_log() FROM PUBLIC;

CREATE TRIGGER target_log AFTER INSERT OR UPDATE OR DELETE ON kpi.target
    FOR EACH ROW EXECUTE FUNCTION kpi.target_log();

-- ---------------------------------------------------------------------
-- kpi.measurement: actuals and check-ins as they are recorded
-- ---------------------------------------------------------------------

CREATE TABLE kpi.measurement (
    id           bigserial PRIMARY KEY,
    indicator_id bigint NOT NULL REFERENCES kpi.indicator (id),
    scope_id     bigint NOT NULL REFERENCES kpi.scope (id),
    at           timestamptz NOT NULL DEFAULT pg_catalog.now(),
    value        float8 NOT NULL CHECK (value > '-Infinity' AND value < 'Infinity'),
    denominator  float8 CHECK (denominator > '-Infinity' AND denominator < 'Infinity'),
    note         text,
    source       text,
    recorded_by  name NOT NULL DEFAULT CURRENT_USER,
    recorded_at  timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX measurement_key_at ON kpi.measurement (indicator_id, scope_id, at);
COMMENT ON TABLE kpi.measurement IS 'recorded values (actuals and check-ins); kpi.actual follows it by trigger';
COMMENT ON COLUMN kpi.measurement.at IS 'when the value happened (decides its periods), not when it was recorded';
COMMENT ON COLUMN kpi.measurement.value IS 'the value; for ratio indicators the numerator';
COMMENT ON COLUMN kpi.measurement.denominator IS 'the denominator, for ratio indicators (required there)';
COMMENT ON SEQUENCE kpi.measurement_id_seq IS 'ids of kpi.measurement';

-- ---------------------------------------------------------------------
-- kpi.actual: per (indicator, scope, period) for each of the indicator's
-- grains, the tally of its measurements and the last evaluation.
-- Kept by the trigger on kpi.measurement; never write it directly.
-- ---------------------------------------------------------------------

CREATE TABLE kpi.actual (
    indicator_id bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id     bigint NOT NULL REFERENCES kpi.scope (id) ON DELETE CASCADE,
    period       kpi.period NOT NULL,
    tally        kpi.tally NOT NULL,
    value        float8,
    target       float8,
    attainment   float8,
    status       kpi.status,
    updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
    PRIMARY KEY (indicator_id, scope_id, period)
);
CREATE INDEX actual_period ON kpi.actual (period);
COMMENT ON TABLE kpi.actual IS
    'live actuals: one row per indicator, scope and period of each of the indicator''s grains that has measurements or a target (kept by trigger; kpi.verify() checks it)';
COMMENT ON COLUMN kpi.actual.tally IS 'mergeable summary of the measurements of this scope in this period';
COMMENT ON COLUMN kpi.actual.value IS 'kpi.value(tally, indicator.agg)';
COMMENT ON COLUMN kpi.actual.target IS 'the target''s number (midpoint for a range), if a target is set';
COMMENT ON COLUMN kpi.actual.attainment IS 'value against the target (达成率), if a target is set';
COMMENT ON COLUMN kpi.actual.status IS 'attainment through the indicator''s bands';

-- TRUNCATE removes rows without row triggers: log their deletion first, so
-- the history's last record of every target and indicator stays its state.
-- History is kept in ids order: a change made under a row lock gets a
-- larger id than the change it waited for (verify() reads it that way).
CREATE FUNCTION kpi.history_truncate() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_history_truncate'
    LANGUAGE C SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.history_truncate() IS
    'trigger: before TRUNCATE of kpi.target or kpi.indicator, log the deletion of every row in its history';
CREATE TRIGGER history_truncate BEFORE TRUNCATE ON kpi.target
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.history_truncate();
CREATE TRIGGER history_truncate BEFORE TRUNCATE ON kpi.indicator
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.history_truncate();

-- kpi.set_target: set (insert or replace) the goal of an indicator, scope and period by codes.
CREATE FUNCTION kpi.set_target(indicator_code text, scope_code text, period kpi.period,
                               goal kpi.goal, note text DEFAULT NULL) RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO kpi.target AS t (indicator_id, scope_id, period, goal, note)
    VALUES (kpi.indicator_id(indicator_code), kpi.scope_id(scope_code), period, goal, note)
    ON CONFLICT (indicator_id, scope_id, period)
    DO UPDATE SET goal = excluded.goal, note = excluded.note,
                  set_by = CURRENT_USER, set_at = pg_catalog.now()
    RETURNING t.id;
END;
COMMENT ON FUNCTION kpi.set_target(text, text, kpi.period, kpi.goal, text) IS
    'set the goal of an indicator for a scope and period (by codes); replaces an existing one, history kept';

-- kpi.record: record a value by codes; returns the new measurement's id.
CREATE FUNCTION kpi.record(indicator_code text, scope_code text, value float8,
                           at timestamptz DEFAULT pg_catalog.now(), note text DEFAULT NULL) RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, note)
    VALUES (kpi.indicator_id(indicator_code), kpi.scope_id(scope_code), at, value, note)
    RETURNING id;
END;
COMMENT ON FUNCTION kpi.record(text, text, float8, timestamptz, text) IS
    'record a measurement by indicator and scope code; returns its id';

-- kpi.record_ratio: record the numerator and denominator of a ratio indicator.
CREATE FUNCTION kpi.record_ratio(indicator_code text, scope_code text, numerator float8, denominator float8,
                                 at timestamptz DEFAULT pg_catalog.now(), note text DEFAULT NULL) RETURNS bigint
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator, note)
    VALUES (kpi.indicator_id(indicator_code), kpi.scope_id(scope_code), at, numerator, denominator, note)
    RETURNING id;
END;
COMMENT ON FUNCTION kpi.record_ratio(text, text, float8, float8, timestamptz, text) IS
    'record the numerator and denominator of a ratio indicator by codes; returns the measurement id';

-- ---------------------------------------------------------------------
-- The triggers that keep kpi.actual: statement-level, with transition
-- tables, so a bulk load is summarised in C and each (indicator, scope,
-- period) is written once per statement, all through one routine that
-- locks the keys and then reads (src/actual.c).  SECURITY DEFINER: writers
-- of measurements need no privileges on kpi.actual.  Trigger functions are
-- the owner's: no one else may attach them to a table.
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.measurement_sync() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_measurement_sync'
    LANGUAGE C SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.measurement_sync() IS
    'trigger: keep kpi.actual in step with kpi.measurement (insert, update, delete, truncate)';
REVOKE EXECUTE ON FUNCTION kpi.measurement_sync() FROM PUBLIC;

CREATE TRIGGER measurement_sync_insert AFTER INSERT ON kpi.measurement
    REFERENCING NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();
CREATE TRIGGER measurement_sync_update AFTER UPDATE ON kpi.measurement
    REFERENCING OLD TABLE AS kpi_old_rows NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();
CREATE TRIGGER measurement_sync_delete AFTER DELETE ON kpi.measurement
    REFERENCING OLD TABLE AS kpi_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();
CREATE TRIGGER measurement_sync_truncate AFTER TRUNCATE ON kpi.measurement
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.measurement_sync();
-- Derived state is kept in a restore too, in replica mode (see section 5).
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_insert;
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_update;
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_delete;
ALTER TABLE kpi.measurement ENABLE ALWAYS TRIGGER measurement_sync_truncate;

CREATE FUNCTION kpi.target_sync() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_target_sync'
    LANGUAGE C SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.target_sync() IS
    'trigger: evaluate again the kpi.actual keys whose target changed, and judge their alerts';
REVOKE EXECUTE ON FUNCTION kpi.target_sync() FROM PUBLIC;
CREATE TRIGGER target_sync_insert AFTER INSERT ON kpi.target
    REFERENCING NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.target_sync();
CREATE TRIGGER target_sync_update AFTER UPDATE ON kpi.target
    REFERENCING OLD TABLE AS kpi_old_rows NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.target_sync();
CREATE TRIGGER target_sync_delete AFTER DELETE ON kpi.target
    REFERENCING OLD TABLE AS kpi_old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.target_sync();
CREATE TRIGGER target_sync_truncate AFTER TRUNCATE ON kpi.target
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.target_sync();
ALTER TABLE kpi.target ENABLE ALWAYS TRIGGER target_sync_insert;
ALTER TABLE kpi.target ENABLE ALWAYS TRIGGER target_sync_update;
ALTER TABLE kpi.target ENABLE ALWAYS TRIGGER target_sync_delete;
ALTER TABLE kpi.target ENABLE ALWAYS TRIGGER target_sync_truncate;

CREATE FUNCTION kpi.indicator_sync() RETURNS trigger
    AS 'MODULE_PATHNAME', 'kpi_indicator_sync'
    LANGUAGE C SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.indicator_sync() IS
    'trigger: rebuild kpi.actual for indicators whose grains changed, evaluate again those whose agg or bands changed';
REVOKE EXECUTE ON FUNCTION kpi.indicator_sync() FROM PUBLIC;
CREATE TRIGGER indicator_sync AFTER UPDATE ON kpi.indicator
    REFERENCING OLD TABLE AS kpi_old_rows NEW TABLE AS kpi_new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.indicator_sync();

-- kpi.actual_rebuild: recompute kpi.actual for one indicator (or all) from
-- its measurements and targets; used when an indicator's grains or the
-- company's time zone change, and for repair.  In C, in the company's
-- zone, under the same locks as every writer (see src/actual.c).  It runs
-- as the extension owner (it writes kpi.actual for the triggers); only the
-- owner and those it grants may call it directly.
CREATE FUNCTION kpi.actual_rebuild(p_indicator bigint DEFAULT NULL) RETURNS bigint
    AS 'MODULE_PATHNAME', 'kpi_actual_rebuild'
    LANGUAGE C VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION kpi.actual_rebuild(bigint) IS
    'recompute kpi.actual from the measurements and targets of one indicator, or of all when NULL (locks out measurement writers meanwhile); returns the keys written or removed';
REVOKE EXECUTE ON FUNCTION kpi.actual_rebuild(bigint) FROM PUBLIC;

-- Table locks before key locks.  Inserting measurements locks only the
-- keys it writes, in key order, so inserts run side by side.  Every other
-- write path first takes SHARE ROW EXCLUSIVE on kpi.actual (and, where it
-- rebuilds, on kpi.measurement and kpi.target: always in the order
-- measurement, target, actual), at the start of its statement, before any
-- key: a statement that writes keys in two batches (an upsert's INSERT and
-- UPDATE parts, a CTE that deletes and inserts) then holds them alone, and
-- changes that decide which keys exist see every measurement.
CREATE FUNCTION kpi.lock_for_change() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_WHEN OPERATOR(pg_catalog.<>) 'BEFORE'
       OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.lock_for_change() fires only BEFORE ... FOR EACH STATEMENT on kpi''s tables';
    END IF;
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) ANY ('{indicator,setting}') THEN
        LOCK TABLE kpi.measurement, kpi.target, kpi.actual IN SHARE ROW EXCLUSIVE MODE;
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'measurement' AND TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        LOCK TABLE kpi.target, kpi.actual IN SHARE ROW EXCLUSIVE MODE;
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) ANY ('{measurement,target}') THEN
        LOCK TABLE kpi.target IN ACCESS SHARE MODE;     -- read by the batch: before kpi.actual
        LOCK TABLE kpi.actual IN SHARE ROW EXCLUSIVE MODE;
    ELSE
        RAISE EXCEPTION USING ERRCODE = 'E0001',
            MESSAGE = format('kpi.lock_for_change() does not fire on kpi.%s', TG_TABLE_NAME);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.lock_for_change() IS
    'trigger: before a change other than inserting measurements, lock kpi.actual (and what a rebuild reads) so that no two writers can deadlock on its keys';
REVOKE EXECUTE ON FUNCTION kpi.lock_for_change() FROM PUBLIC;
CREATE TRIGGER lock_for_change BEFORE UPDATE OR DELETE OR TRUNCATE ON kpi.measurement
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.lock_for_change();
CREATE TRIGGER lock_for_change BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON kpi.target
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.lock_for_change();
CREATE TRIGGER lock_for_change BEFORE UPDATE OF grains, agg, bands ON kpi.indicator
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.lock_for_change();
-- (and on kpi.setting: see section 5)

-- ---------------------------------------------------------------------
-- kpi.rollup: the whole indicator tree scored for a period and scope
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.rollup(p kpi.period, scope text DEFAULT NULL)
    RETURNS TABLE (indicator_id bigint, code text, depth integer, actual float8, target float8,
                   attainment float8, score float8, status kpi.status, coverage float8)
    AS 'MODULE_PATHNAME', 'kpi_rollup'
    LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100;
COMMENT ON FUNCTION kpi.rollup(kpi.period, text) IS
    'score the whole indicator tree for a period and a scope (NULL = whole organisation): actual, target, attainment, weighted score, status, coverage';


-- =====================================================================
-- 4. Alerts (预警): raised by the measurement trigger in the same
--    transaction, and a queue consumers claim, acknowledge, escalate and
--    resolve
-- =====================================================================

-- ---------------------------------------------------------------------
-- kpi.alert_rule: which indicators and scopes raise alerts, and how
-- ---------------------------------------------------------------------

CREATE TABLE kpi.alert_rule (
    id              bigserial PRIMARY KEY,
    indicator_id    bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id        bigint REFERENCES kpi.scope (id) ON DELETE CASCADE,
    basis           text NOT NULL DEFAULT 'attainment' CHECK (basis IN ('attainment', 'pace')),
    raise_at        kpi.status NOT NULL DEFAULT 'amber' CHECK (raise_at < 'blue'),
    min_breaches    integer NOT NULL DEFAULT 1 CHECK (min_breaches >= 1),
    recovery_margin float8 NOT NULL DEFAULT 0 CHECK (recovery_margin >= 0 AND recovery_margin < 'Infinity'),
    repeat_after    interval CHECK (repeat_after > '0'),
    escalate_to     text[] NOT NULL DEFAULT '{}',
    escalate_after  interval[] NOT NULL DEFAULT '{}',
    enabled         boolean NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CHECK (pg_catalog.cardinality(escalate_to) OPERATOR(pg_catalog.=) pg_catalog.cardinality(escalate_after))
);
CREATE UNIQUE INDEX alert_rule_key ON kpi.alert_rule (indicator_id, coalesce(scope_id, 0));
COMMENT ON TABLE kpi.alert_rule IS 'alert rules: which indicator (and scope, NULL = all) raises alerts, on what basis, with hysteresis and escalation';
COMMENT ON COLUMN kpi.alert_rule.basis IS 'attainment (the period so far against the whole goal) or pace (against the share of the goal due by now)';
COMMENT ON COLUMN kpi.alert_rule.raise_at IS 'raise when the status is at or below this level';
COMMENT ON COLUMN kpi.alert_rule.min_breaches IS 'consecutive bad evaluations before an alert is raised';
COMMENT ON COLUMN kpi.alert_rule.recovery_margin IS 'hysteresis: to resolve, attainment must pass the band edge above raise_at by this much';
COMMENT ON COLUMN kpi.alert_rule.repeat_after IS 're-notify an alert still open after this long';
COMMENT ON COLUMN kpi.alert_rule.escalate_to IS 'escalation chain: step k hands the alert to escalate_to[k]';
COMMENT ON COLUMN kpi.alert_rule.escalate_after IS 'escalation chain: step k is due escalate_after[k] after the alert was raised';
COMMENT ON SEQUENCE kpi.alert_rule_id_seq IS 'ids of kpi.alert_rule';

-- ---------------------------------------------------------------------
-- kpi.silence: suppress raising for an indicator (and scope) until a time
-- ---------------------------------------------------------------------

CREATE TABLE kpi.silence (
    id           bigserial PRIMARY KEY,
    indicator_id bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id     bigint REFERENCES kpi.scope (id) ON DELETE CASCADE,
    until        timestamptz NOT NULL,
    reason       text,
    created_by   name NOT NULL DEFAULT CURRENT_USER,
    created_at   timestamptz NOT NULL DEFAULT pg_catalog.now()
);
CREATE INDEX silence_indicator ON kpi.silence (indicator_id, until);
COMMENT ON TABLE kpi.silence IS 'silences: no alert is raised for the indicator (and scope, NULL = all) until the given time';
COMMENT ON SEQUENCE kpi.silence_id_seq IS 'ids of kpi.silence';

-- ---------------------------------------------------------------------
-- kpi.alert: the queue; kpi.alert_event: every transition
-- ---------------------------------------------------------------------

CREATE TABLE kpi.alert (
    id               bigserial PRIMARY KEY,
    indicator_id     bigint NOT NULL REFERENCES kpi.indicator (id) ON DELETE CASCADE,
    scope_id         bigint NOT NULL REFERENCES kpi.scope (id) ON DELETE CASCADE,
    period           kpi.period NOT NULL,
    rule_id          bigint REFERENCES kpi.alert_rule (id) ON DELETE SET NULL,
    state            text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acked', 'resolved')),
    severity         kpi.status NOT NULL,
    value            float8,
    attainment       float8,
    assignee         text,
    escalation_level integer NOT NULL DEFAULT 0,
    lease_until      timestamptz,
    claimed_by       text,
    delivery_count   integer NOT NULL DEFAULT 0,
    raised_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    notified_at      timestamptz NOT NULL DEFAULT pg_catalog.now(),
    acked_at         timestamptz,
    acked_by         text,
    resolved_at      timestamptz,
    resolved_by      text,
    updated_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- the column added last (release 0.6) stays last; its foreign key to
    -- kpi.finding is added with that table (section 7)
    finding_id       bigint
);
-- at most one alert that is not resolved per (indicator, scope, period)
CREATE UNIQUE INDEX alert_one_unresolved ON kpi.alert (indicator_id, scope_id, period)
    WHERE state <> 'resolved';
CREATE INDEX alert_claimable ON kpi.alert (severity, raised_at) WHERE state = 'open';
CREATE INDEX alert_finding ON kpi.alert (finding_id) WHERE finding_id IS NOT NULL;
COMMENT ON TABLE kpi.alert IS 'the alert queue: at most one unresolved alert per indicator, scope and period';
COMMENT ON COLUMN kpi.alert.state IS 'open (unacknowledged), acked or resolved';
COMMENT ON COLUMN kpi.alert.severity IS 'the current status while the alert is open (red is worst)';
COMMENT ON COLUMN kpi.alert.lease_until IS 'a claimed alert is invisible to other consumers until then';
COMMENT ON COLUMN kpi.alert.delivery_count IS 'how many times the alert was claimed';
COMMENT ON COLUMN kpi.alert.escalation_level IS 'escalation steps taken (0 = none)';
COMMENT ON COLUMN kpi.alert.notified_at IS 'last raise, escalation or repeat notification';
COMMENT ON COLUMN kpi.alert.finding_id IS 'the finding the alert was resolved with (kpi.alert_resolve(..., finding))';
COMMENT ON SEQUENCE kpi.alert_id_seq IS 'ids of kpi.alert';

CREATE TABLE kpi.alert_event (
    id        bigserial PRIMARY KEY,
    alert_id  bigint NOT NULL REFERENCES kpi.alert (id) ON DELETE CASCADE,
    at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
    kind      text NOT NULL CHECK (kind IN ('raise', 'worsen', 'improve', 'repeat', 'escalate',
                                            'claim', 'ack', 'resolve', 'recover', 'repair')),
    actor     text NOT NULL DEFAULT CURRENT_USER,
    state     text NOT NULL,
    severity  kpi.status,
    value     float8,
    attainment float8,
    note      text
);
CREATE INDEX alert_event_alert ON kpi.alert_event (alert_id, id);
COMMENT ON TABLE kpi.alert_event IS 'every transition of every alert, with actor and time';
COMMENT ON SEQUENCE kpi.alert_event_id_seq IS 'ids of kpi.alert_event';

-- consecutive bad evaluations per rule and key (for min_breaches)
CREATE TABLE kpi.alert_streak (
    rule_id      bigint NOT NULL REFERENCES kpi.alert_rule (id) ON DELETE CASCADE,
    indicator_id bigint NOT NULL,
    scope_id     bigint NOT NULL,
    period       kpi.period NOT NULL,
    breaches     integer NOT NULL,
    PRIMARY KEY (rule_id, indicator_id, scope_id, period)
);
COMMENT ON TABLE kpi.alert_streak IS 'consecutive bad evaluations of a key under a rule, towards min_breaches';

-- ---------------------------------------------------------------------
-- The queue API (kpi.alert_ack and kpi.alert_resolve, which may name a
-- finding, are in section 7)
-- ---------------------------------------------------------------------

-- kpi.alert_claim: lease up to max open alerts to a consumer, worst first.
-- SKIP LOCKED lets many consumers claim at once without waiting on each
-- other; an alert whose lease ended is claimable again.
CREATE FUNCTION kpi.alert_claim(consumer text, max integer DEFAULT 1,
                                lease interval DEFAULT '30 seconds') RETURNS SETOF kpi.alert
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF consumer IS NULL OR max IS NULL OR max < 1 OR lease IS NULL OR lease <= interval '0' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'kpi.alert_claim needs a consumer, max >= 1 and a positive lease';
    END IF;
    RETURN QUERY
    WITH picked AS (
        SELECT a.id FROM kpi.alert a
        WHERE a.state OPERATOR(pg_catalog.=) 'open'
          AND (a.lease_until IS NULL OR a.lease_until OPERATOR(pg_catalog.<=) pg_catalog.now())
        ORDER BY a.severity, a.raised_at, a.id
        LIMIT max
        FOR UPDATE SKIP LOCKED
    ), claimed AS (
        UPDATE kpi.alert a
        SET lease_until = pg_catalog.now() OPERATOR(pg_catalog.+) lease,
            claimed_by = consumer,
            delivery_count = a.delivery_count OPERATOR(pg_catalog.+) 1,
            updated_at = pg_catalog.now()
        FROM picked WHERE a.id OPERATOR(pg_catalog.=) picked.id
        RETURNING a.*
    ), logged AS (
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment)
        SELECT c.id, 'claim', consumer, c.state, c.severity, c.value, c.attainment FROM claimed c
    )
    SELECT * FROM claimed ORDER BY severity, raised_at, id;
END
$$;
COMMENT ON FUNCTION kpi.alert_claim(text, integer, interval) IS
    'lease up to max open alerts to a consumer (SKIP LOCKED), worst first; expired leases are claimable again';

-- kpi.alert_escalate: hand open (unacknowledged) alerts to the next step of
-- their rule's chain once that step is due; returns how many moved.
CREATE FUNCTION kpi.alert_escalate(at timestamptz DEFAULT pg_catalog.now()) RETURNS integer
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    n integer := 0;
    r record;
BEGIN
    FOR r IN
        SELECT a.id, step.k, r2.escalate_to[step.k] AS assignee
        FROM kpi.alert a
        JOIN kpi.alert_rule r2 ON r2.id OPERATOR(pg_catalog.=) a.rule_id
        CROSS JOIN LATERAL (
            SELECT max(k) AS k
            FROM pg_catalog.generate_subscripts(r2.escalate_after, 1) k
            WHERE a.raised_at OPERATOR(pg_catalog.+) r2.escalate_after[k] OPERATOR(pg_catalog.<=) at) step
        WHERE a.state OPERATOR(pg_catalog.=) 'open'
          AND step.k OPERATOR(pg_catalog.>) a.escalation_level
        ORDER BY a.id
        FOR UPDATE OF a SKIP LOCKED
    LOOP
        UPDATE kpi.alert a SET escalation_level = r.k, assignee = r.assignee,
                               notified_at = pg_catalog.now(), lease_until = NULL,
                               updated_at = pg_catalog.now()
        WHERE a.id OPERATOR(pg_catalog.=) r.id;
        INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
        SELECT a.id, 'escalate', CURRENT_USER, a.state, a.severity, a.value, a.attainment,
               format('step %s: to %s', r.k, r.assignee)
        FROM kpi.alert a WHERE a.id OPERATOR(pg_catalog.=) r.id;
        PERFORM pg_catalog.pg_notify('kpi_alert', r.id::text);
        n := n + 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION kpi.alert_escalate(timestamptz) IS
    'escalate unacknowledged alerts whose next step is due (run it every minute, e.g. from pg_cron); returns the count';


-- =====================================================================
-- 5. Settings and restore handling
-- =====================================================================

-- ---------------------------------------------------------------------
-- kpi.setting: settings kept in the database, never in the session.
-- time_zone: the company's zone; a measurement belongs to the day, month
-- ... of its time in this zone (default UTC).
-- ---------------------------------------------------------------------

CREATE TABLE kpi.setting (
    name   text PRIMARY KEY,
    value  text NOT NULL,
    set_by name NOT NULL DEFAULT CURRENT_USER,
    set_at timestamptz NOT NULL DEFAULT pg_catalog.now()
);
COMMENT ON TABLE kpi.setting IS 'settings of the indicator system kept in the database (time_zone: the company''s zone, default UTC)';
COMMENT ON COLUMN kpi.setting.name IS 'the setting: time_zone';
COMMENT ON COLUMN kpi.setting.value IS 'its value (time_zone: a name from pg_timezone_names)';
COMMENT ON COLUMN kpi.setting.set_by IS 'who set it';
COMMENT ON COLUMN kpi.setting.set_at IS 'when it was set';

CREATE FUNCTION kpi.setting_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.name OPERATOR(pg_catalog.<>) 'time_zone' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'check_violation',
            MESSAGE = format('unknown kpi setting: "%s"', NEW.name),
            HINT = 'The settings are: time_zone.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_timezone_names z WHERE z.name OPERATOR(pg_catalog.=) NEW.value) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('time zone "%s" not recognized', NEW.value),
            HINT = 'Use a name from pg_timezone_names, e.g. Asia/Shanghai or UTC.';
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' AND NOT kpi.in_restore() THEN
        NEW.set_by := CURRENT_USER;
        NEW.set_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.setting_check() IS 'trigger: refuse unknown settings and unknown time zones';
CREATE TRIGGER setting_check BEFORE INSERT OR UPDATE ON kpi.setting
    FOR EACH ROW EXECUTE FUNCTION kpi.setting_check();

-- A new zone puts measurements into other days: rebuild every key.
CREATE FUNCTION kpi.setting_sync() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'setting'
       OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.setting_sync() fires only AFTER ... FOR EACH STATEMENT on kpi.setting';
    END IF;
    PERFORM kpi.actual_rebuild(NULL);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.setting_sync() IS 'trigger: rebuild kpi.actual when the company''s time zone changes';
REVOKE EXECUTE ON FUNCTION kpi.setting_sync() FROM PUBLIC;
CREATE TRIGGER setting_sync AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON kpi.setting
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.setting_sync();
-- It fires in a restore too: a company time zone restored after the
-- measurements rebuilds kpi.actual in it.
ALTER TABLE kpi.setting ENABLE ALWAYS TRIGGER setting_sync;

CREATE FUNCTION kpi.time_zone() RETURNS text
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT coalesce((SELECT s.value FROM kpi.setting s WHERE s.name OPERATOR(pg_catalog.=) 'time_zone'), 'UTC');
END;
COMMENT ON FUNCTION kpi.time_zone() IS 'the company''s time zone (kpi.setting time_zone, default UTC): the zone periods of measurements are taken in';

-- a change of zone rebuilds every key: locked as a change of grains is
-- (kpi.lock_for_change(), section 3)
CREATE TRIGGER lock_for_change BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON kpi.setting
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.lock_for_change();
ALTER TABLE kpi.setting ENABLE ALWAYS TRIGGER lock_for_change;   -- in a restore too

-- ---------------------------------------------------------------------
-- Dump restores.  A session restoring a dump made by pg_dump (plain,
-- custom or directory format, serial or pg_restore -j, full or
-- --data-only) runs with check_function_bodies and row_security off.  In
-- such a session the history and alert rows arrive with the dump, so the
-- triggers do not derive them again; kpi.actual, which is not dumped, is
-- derived as always.  A restore counts only when a superuser or the owner
-- runs it.
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.in_restore() RETURNS boolean
    AS 'MODULE_PATHNAME', 'kpi_in_restore'
    LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION kpi.in_restore() IS
    'true in a session that restores a pg_dump dump (check_function_bodies and row_security both off) run by a superuser or the extension''s owner: triggers then derive no history or alerts, which the dump brings';

-- Foreign keys bind the dumped tables to one another (measurements to
-- indicators and scopes, alert events to alerts ...), but pg_restore -j
-- loads tables in parallel workers in no particular order.  In a restore
-- session the first statement that loads one of the tables switches the
-- session to session_replication_role = replica, which skips the foreign
-- key checks (the dump was consistent when it was taken), and the end of
-- the statement switches it back.  kpi's own triggers that derive
-- kpi.actual fire ALWAYS, so they run in replica mode too.
CREATE FUNCTION kpi.restore_guard() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    -- BEFORE the statement: origin -> replica; AFTER it: back
    from_role text := CASE TG_WHEN WHEN 'BEFORE' THEN 'origin' ELSE 'replica' END;
    to_role text := CASE TG_WHEN WHEN 'BEFORE' THEN 'replica' ELSE 'origin' END;
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.restore_guard() fires only FOR EACH STATEMENT on kpi''s tables';
    END IF;
    IF kpi.in_restore()
       AND pg_catalog.current_setting('session_replication_role') OPERATOR(pg_catalog.=) from_role THEN
        PERFORM pg_catalog.set_config('session_replication_role', to_role, false);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.restore_guard() IS
    'trigger: in a dump-restore session, skip foreign key checks while a statement loads a kpi table (pg_restore -j loads tables in any order), and check them again after it';
REVOKE EXECUTE ON FUNCTION kpi.restore_guard() FROM PUBLIC;

-- The restore switches on every table with data in the dump: the triggers
-- restore_begin and zz_restore_end are created in section 9, once every
-- table exists.

-- In a restore, measurements and targets whose indicator has not arrived
-- yet are left out by their triggers; when the indicators arrive,
-- everything is rebuilt (after the measurement writers in flight commit).
CREATE FUNCTION kpi.indicator_restored() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_SCHEMA OPERATOR(pg_catalog.<>) 'kpi' OR TG_TABLE_NAME OPERATOR(pg_catalog.<>) 'indicator'
       OR TG_WHEN OPERATOR(pg_catalog.<>) 'AFTER' OR TG_LEVEL OPERATOR(pg_catalog.<>) 'STATEMENT' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.indicator_restored() fires only AFTER ... FOR EACH STATEMENT on kpi.indicator';
    END IF;
    IF kpi.in_restore() THEN
        PERFORM kpi.actual_rebuild(NULL);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.indicator_restored() IS
    'trigger: in a dump-restore session, rebuild kpi.actual once the indicators have arrived';
REVOKE EXECUTE ON FUNCTION kpi.indicator_restored() FROM PUBLIC;
CREATE TRIGGER indicator_restored AFTER INSERT ON kpi.indicator
    FOR EACH STATEMENT EXECUTE FUNCTION kpi.indicator_restored();
ALTER TABLE kpi.indicator ENABLE ALWAYS TRIGGER indicator_restored;


-- =====================================================================
-- 6. Views for people and BI tools; kpi.verify() and kpi.repair()
-- =====================================================================

-- kpi.scope_actual: actuals of every scope over its subtree, with the target
-- set for that scope.  Flows (sum, avg, min, max, count, ratio) merge the
-- tallies of the subtree: a region's margin is Σ profit / Σ revenue of its
-- branches, never an average of their margins.  Levels (first, last: stock,
-- headcount) are semi-additive: each scope's opening or closing value is
-- taken within the period, then added up across scopes.
--
-- kpi.scope_actual and kpi.scorecard run with the caller's rights (the
-- tables' row-level security applies), and show only scopes the caller
-- sees whole: a region's total built from the one branch a member sees
-- would be a wrong number.
CREATE VIEW kpi.scope_actual WITH (security_invoker = true) AS
SELECT m.indicator_id, m.scope_id, m.period, m.tally, m.value, t.goal
FROM (SELECT a.indicator_id, anc.ancestor_id AS scope_id, a.period,
             kpi.merge(a.tally) AS tally,
             CASE WHEN i.agg OPERATOR(pg_catalog.=) ANY ('{first,last}'::kpi.agg_kind[])
                  THEN pg_catalog.sum(kpi.value(a.tally, i.agg))
                  ELSE kpi.value(kpi.merge(a.tally), i.agg) END AS value
      FROM kpi.actual a
      JOIN kpi.scope_tree anc ON anc.scope_id OPERATOR(pg_catalog.=) a.scope_id
      JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
      WHERE (SELECT kpi.visible_scopes()) IS NULL
         OR anc.ancestor_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[])
      GROUP BY a.indicator_id, anc.ancestor_id, a.period, i.agg) m
LEFT JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) m.indicator_id
                      AND t.scope_id OPERATOR(pg_catalog.=) m.scope_id
                      AND t.period OPERATOR(kpi.=) m.period;
COMMENT ON VIEW kpi.scope_actual IS
    'actuals of every scope over its subtree (flows merged, levels summed across scopes), with that scope''s goal; a member sees the scopes of its subtrees';

-- kpi.scorecard: plain columns only (text, numeric, date, timestamptz);
-- readable whatever the data (a period in year 1 has no previous period),
-- pace with day boundaries in the company's zone.
CREATE VIEW kpi.scorecard WITH (security_invoker = true) AS
WITH sa AS (SELECT * FROM kpi.scope_actual)
SELECT i.code                                   AS indicator,
       i.name                                   AS indicator_name,
       i.unit,
       s.code                                   AS scope,
       s.name                                   AS scope_name,
       cur.period::text                         AS period,
       kpi.grain(cur.period)                    AS grain,
       kpi.start_date(cur.period)               AS period_start,
       kpi.end_date(cur.period)                 AS period_end,
       cur.value::numeric                       AS actual,
       kpi.target(cur.goal)::numeric            AS target,
       cur.goal::text                           AS goal,
       kpi.attainment(cur.value, cur.goal)::numeric AS attainment,
       CASE WHEN i.agg OPERATOR(pg_catalog.=) ANY ('{sum,count}'::kpi.agg_kind[])   -- cumulative only
            THEN kpi.pace(cur.value, cur.goal, kpi.progress(cur.period, pg_catalog.now(), kpi.time_zone()))::numeric END AS pace,
       kpi.status(kpi.attainment(cur.value, cur.goal), i.bands)::text AS status,
       i.owner,
       prev.value::numeric                      AS previous_actual,
       (cur.value - prev.value)::numeric        AS previous_change,
       ly.value::numeric                        AS last_year_actual,
       (cur.value - ly.value)::numeric          AS last_year_change
FROM sa cur
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) cur.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) cur.scope_id
LEFT JOIN sa prev ON prev.indicator_id OPERATOR(pg_catalog.=) cur.indicator_id
                 AND prev.scope_id OPERATOR(pg_catalog.=) cur.scope_id
                 AND prev.period OPERATOR(kpi.=) CASE WHEN kpi.start_date(cur.period) OPERATOR(pg_catalog.>) '0001-01-01'::date
                     THEN kpi.period((kpi.start_date(cur.period) OPERATOR(pg_catalog.-) 1), kpi.grain(cur.period)) END
LEFT JOIN sa ly ON ly.indicator_id OPERATOR(pg_catalog.=) cur.indicator_id
               AND ly.scope_id OPERATOR(pg_catalog.=) cur.scope_id
               AND ly.period OPERATOR(kpi.=) CASE WHEN kpi.start_date(cur.period) OPERATOR(pg_catalog.>=) '0002-01-01'::date
                   THEN kpi.period((kpi.start_date(cur.period) OPERATOR(pg_catalog.-) '1 year'::interval)::date, kpi.grain(cur.period)) END
WHERE i.lifecycle OPERATOR(pg_catalog.<>) 'retired';
COMMENT ON VIEW kpi.scorecard IS
    'the scorecard for BI tools: every indicator, scope (subtree merged) and period with actual, target, attainment, pace, status, previous period and same period last year; plain column types only';

-- ---------------------------------------------------------------------
-- kpi.verify(): every disagreement between derived and source state;
-- kpi.repair(): fix what it reports (it logs a 'repair' alert event).
-- See docs/operations.md.
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.verify()
    RETURNS TABLE (problem text, indicator text, scope text, period text, detail text)
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    WITH z AS (SELECT kpi.time_zone() AS zone),
    -- every measurement summarised afresh at its indicator's grains
    summed AS (
        SELECT m.indicator_id, m.scope_id, kpi.period(m.at, g.grain, z.zone) AS period,
               kpi.tally(m.value, m.at) FILTER (WHERE m.denominator IS NULL) AS t1,
               kpi.tally(m.value, m.denominator, m.at) FILTER (WHERE m.denominator IS NOT NULL) AS t2
        FROM kpi.measurement m
        JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
        CROSS JOIN LATERAL pg_catalog.unnest(i.grains) AS g(grain)
        CROSS JOIN z
        GROUP BY 1, 2, 3),
    fresh AS (
        SELECT coalesce(s.indicator_id, t.indicator_id) AS indicator_id,
               coalesce(s.scope_id, t.scope_id) AS scope_id,
               coalesce(s.period, t.period) AS period,
               coalesce(s.t1 OPERATOR(kpi.+) s.t2, s.t1, s.t2) AS tally
        FROM summed s
        FULL JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) s.indicator_id
                              AND t.scope_id OPERATOR(pg_catalog.=) s.scope_id
                              AND t.period OPERATOR(kpi.=) s.period),
    keys AS (
        SELECT coalesce(a.indicator_id, f.indicator_id) AS indicator_id,
               coalesce(a.scope_id, f.scope_id) AS scope_id,
               coalesce(a.period, f.period) AS period,
               a.indicator_id IS NOT NULL AS in_actual, f.indicator_id IS NOT NULL AS expected,
               a.tally AS kept, f.tally AS fresh,
               a.value, a.target, a.attainment, a.status
        FROM kpi.actual a
        FULL JOIN fresh f ON f.indicator_id OPERATOR(pg_catalog.=) a.indicator_id
                         AND f.scope_id OPERATOR(pg_catalog.=) a.scope_id
                         AND f.period OPERATOR(kpi.=) a.period),
    actual_problems AS (
        SELECT 'actual missing' AS problem, k.indicator_id, k.scope_id, k.period,
               'the key has measurements or a target but no kpi.actual row' AS detail
        FROM keys k WHERE NOT k.in_actual
        UNION ALL
        SELECT 'actual extra', k.indicator_id, k.scope_id, k.period,
               'kpi.actual has a row for a key with neither measurements nor a target'
        FROM keys k WHERE k.in_actual AND NOT k.expected
        UNION ALL
        SELECT 'actual tally', k.indicator_id, k.scope_id, k.period,
               format('kept %s, fresh %s', k.kept, coalesce(k.fresh::text, 'empty'))
        FROM keys k
        CROSS JOIN LATERAL (SELECT coalesce(k.fresh, kpi.tally(NULL::float8)) AS f) x
        WHERE k.in_actual AND k.expected
          AND (kpi.value(k.kept, 'count') IS DISTINCT FROM kpi.value(x.f, 'count')
               OR kpi.value(k.kept, 'min') IS DISTINCT FROM kpi.value(x.f, 'min')
               OR kpi.value(k.kept, 'max') IS DISTINCT FROM kpi.value(x.f, 'max')
               OR kpi.value(k.kept, 'first') IS DISTINCT FROM kpi.value(x.f, 'first')
               OR kpi.value(k.kept, 'last') IS DISTINCT FROM kpi.value(x.f, 'last')
               OR pg_catalog.abs(coalesce(kpi.value(k.kept, 'sum'), 0) OPERATOR(pg_catalog.-) coalesce(kpi.value(x.f, 'sum'), 0))
                  OPERATOR(pg_catalog.>) (1e-12 OPERATOR(pg_catalog.*) GREATEST(pg_catalog.abs(coalesce(kpi.value(x.f, 'sum'), 0)), 1))
               OR pg_catalog.abs(coalesce(kpi.value(k.kept, 'ratio'), 0) OPERATOR(pg_catalog.-) coalesce(kpi.value(x.f, 'ratio'), 0))
                  OPERATOR(pg_catalog.>) (1e-12 OPERATOR(pg_catalog.*) GREATEST(pg_catalog.abs(coalesce(kpi.value(x.f, 'ratio'), 0)), 1))
               OR (kpi.value(k.kept, 'ratio') IS NULL) OPERATOR(pg_catalog.<>) (kpi.value(x.f, 'ratio') IS NULL))
        UNION ALL
        SELECT 'actual evaluation', k.indicator_id, k.scope_id, k.period,
               format('kept value %s, target %s, attainment %s, status %s; fresh %s, %s, %s, %s',
                      k.value, k.target, k.attainment, k.status, e.value, e.target, e.attainment, e.status)
        FROM keys k
        JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) k.indicator_id
        LEFT JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) k.indicator_id
                              AND t.scope_id OPERATOR(pg_catalog.=) k.scope_id
                              AND t.period OPERATOR(kpi.=) k.period
        CROSS JOIN LATERAL (SELECT kpi.value(k.kept, i.agg) AS value, kpi.target(t.goal) AS target,
                                   kpi.attainment(kpi.value(k.kept, i.agg), t.goal) AS attainment,
                                   kpi.status(kpi.attainment(kpi.value(k.kept, i.agg), t.goal), i.bands) AS status) e
        WHERE k.in_actual
          AND (k.value IS DISTINCT FROM e.value OR k.target IS DISTINCT FROM e.target
               OR k.attainment IS DISTINCT FROM e.attainment OR k.status IS DISTINCT FROM e.status)),
    data_problems AS (
        SELECT 'target grain' AS problem, t.indicator_id, t.scope_id, t.period,
               format('a target at grain %s, which the indicator does not keep', kpi.grain(t.period)) AS detail
        FROM kpi.target t JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) t.indicator_id
        WHERE NOT kpi.grain(t.period) OPERATOR(pg_catalog.=) ANY (i.grains)
        UNION ALL
        SELECT 'ratio denominator', m.indicator_id, m.scope_id, NULL::kpi.period,
               format('measurement %s of a ratio indicator has no denominator', m.id)
        FROM kpi.measurement m JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) m.indicator_id
        WHERE i.agg OPERATOR(pg_catalog.=) 'ratio' AND m.denominator IS NULL),
    alert_problems AS (
        SELECT 'alert state' AS problem, a.indicator_id, a.scope_id, a.period,
               format('alert %s is %s with acked_at %s and resolved_at %s', a.id, a.state,
                      coalesce(a.acked_at::text, 'NULL'), coalesce(a.resolved_at::text, 'NULL')) AS detail
        FROM kpi.alert a
        WHERE (a.state OPERATOR(pg_catalog.=) 'resolved') OPERATOR(pg_catalog.<>) (a.resolved_at IS NOT NULL)
           OR (a.state OPERATOR(pg_catalog.=) 'acked' AND a.acked_at IS NULL)
        UNION ALL
        SELECT 'alert events', a.indicator_id, a.scope_id, a.period,
               format('alert %s is %s, its last event says %s; raise event: %s', a.id, a.state,
                      coalesce(last_event.state, 'nothing'), coalesce(raised.n, 0))
        FROM kpi.alert a
        LEFT JOIN LATERAL (SELECT e.state FROM kpi.alert_event e WHERE e.alert_id OPERATOR(pg_catalog.=) a.id
                           ORDER BY e.id DESC LIMIT 1) last_event ON true
        LEFT JOIN LATERAL (SELECT pg_catalog.count(*) AS n FROM kpi.alert_event e
                           WHERE e.alert_id OPERATOR(pg_catalog.=) a.id AND e.kind OPERATOR(pg_catalog.=) 'raise') raised ON true
        WHERE last_event.state IS DISTINCT FROM a.state OR raised.n OPERATOR(pg_catalog.<>) 1),
    history_problems AS (
        SELECT 'indicator history' AS problem, coalesce(i.id, h.indicator_id) AS indicator_id,
               NULL::bigint AS scope_id, NULL::kpi.period AS period,
               CASE WHEN h.indicator_id IS NULL THEN 'the indicator has no history'
                    WHEN i.id IS NULL THEN 'the history''s last change is not a DELETE, but the indicator is gone'
                    ELSE 'the history''s last state differs from the indicator' END AS detail
        FROM kpi.indicator i
        FULL JOIN (SELECT DISTINCT ON (x.indicator_id) x.indicator_id, x.op, x.new_row
                   FROM kpi.indicator_history x
                   ORDER BY x.indicator_id, x.id DESC) h
               ON h.indicator_id OPERATOR(pg_catalog.=) i.id
        WHERE (i.id IS NULL AND h.op OPERATOR(pg_catalog.<>) 'DELETE')
           OR (i.id IS NOT NULL AND (h.indicator_id IS NULL OR h.op OPERATOR(pg_catalog.=) 'DELETE'
               OR pg_catalog.jsonb_populate_record(NULL::kpi.indicator, h.new_row) IS DISTINCT FROM i))
        UNION ALL
        SELECT 'target history', coalesce(t.indicator_id, h.indicator_id), coalesce(t.scope_id, h.scope_id),
               coalesce(t.period, h.period),
               CASE WHEN h.target_id IS NULL THEN 'the target has no history'
                    WHEN t.id IS NULL THEN 'the history''s last change is not a DELETE, but the target is gone'
                    ELSE format('the history''s last goal %s differs from the target''s %s', h.new_goal, t.goal) END
        FROM kpi.target t
        FULL JOIN (SELECT DISTINCT ON (x.target_id) x.target_id, x.indicator_id, x.scope_id, x.period, x.op, x.new_goal
                   FROM kpi.target_history x
                   ORDER BY x.target_id, x.id DESC) h
               ON h.target_id OPERATOR(pg_catalog.=) t.id
        WHERE (t.id IS NULL AND h.op OPERATOR(pg_catalog.<>) 'DELETE')
           OR (t.id IS NOT NULL AND (h.target_id IS NULL OR h.op OPERATOR(pg_catalog.=) 'DELETE'
               OR h.new_goal IS DISTINCT FROM t.goal)))
    SELECT p.problem, i.code, s.code, p.period::text, p.detail
    FROM (SELECT * FROM actual_problems UNION ALL SELECT * FROM data_problems
          UNION ALL SELECT * FROM alert_problems UNION ALL SELECT * FROM history_problems) p
    LEFT JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) p.indicator_id
    LEFT JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) p.scope_id
    ORDER BY p.problem, i.code, s.code, p.period;
END;
COMMENT ON FUNCTION kpi.verify() IS
    'every disagreement between derived and source state (kpi.actual against a fresh computation, data rules, alert invariants, history against current rows); no rows when all is well';

CREATE FUNCTION kpi.repair()
    RETURNS TABLE (problem text, indicator text, scope text, period text, action text)
    LANGUAGE plpgsql VOLATILE SECURITY DEFINER
    SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1
AS $$
DECLARE
    v record;
    rebuilt bigint[] := '{}';
    ind bigint;
BEGIN
    FOR v IN SELECT * FROM kpi.verify() LOOP
        problem := v.problem; indicator := v.indicator; scope := v.scope; period := v.period;
        ind := (SELECT i.id FROM kpi.indicator i WHERE i.code OPERATOR(pg_catalog.=) v.indicator);
        IF v.problem LIKE 'actual %' THEN
            IF ind IS NULL OR ind OPERATOR(pg_catalog.=) ANY (rebuilt) THEN
                action := 'rebuilt with its indicator';
            ELSE
                PERFORM kpi.actual_rebuild(ind);
                rebuilt := rebuilt OPERATOR(pg_catalog.||) ind;
                action := format('rebuilt kpi.actual for indicator %s', v.indicator);
            END IF;
        ELSIF v.problem OPERATOR(pg_catalog.=) 'indicator history' THEN
            INSERT INTO kpi.indicator_history (indicator_id, op, old_row, new_row)
            SELECT coalesce(ind, h.indicator_id),
                   CASE WHEN ind IS NULL THEN 'DELETE' WHEN h.new_row IS NULL THEN 'INSERT' ELSE 'UPDATE' END,
                   h.new_row, (SELECT pg_catalog.to_jsonb(i) FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) ind)
            FROM (SELECT NULL::bigint AS indicator_id, NULL::jsonb AS new_row) d
            LEFT JOIN LATERAL (SELECT x.indicator_id, x.new_row FROM kpi.indicator_history x
                               WHERE x.indicator_id OPERATOR(pg_catalog.=) ind
                                  OR (ind IS NULL AND x.new_row OPERATOR(pg_catalog.->>) 'code' OPERATOR(pg_catalog.=) v.indicator)
                               ORDER BY x.id DESC LIMIT 1) h ON true;
            action := 'logged the indicator''s current state in kpi.indicator_history';
        ELSIF v.problem OPERATOR(pg_catalog.=) 'target history' THEN
            INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op, old_goal, new_goal, note)
            SELECT coalesce(t.id, h.target_id), coalesce(t.indicator_id, h.indicator_id),
                   coalesce(t.scope_id, h.scope_id), coalesce(t.period, h.period),
                   CASE WHEN t.id IS NULL THEN 'DELETE' WHEN h.target_id IS NULL THEN 'INSERT' ELSE 'UPDATE' END,
                   h.new_goal, t.goal, 'kpi.repair()'
            FROM (SELECT x.* FROM kpi.target x
                  WHERE x.indicator_id OPERATOR(pg_catalog.=) ind
                    AND x.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope)
                    AND x.period OPERATOR(kpi.=) v.period::kpi.period) t
            FULL JOIN (SELECT DISTINCT ON (x.target_id) x.* FROM kpi.target_history x
                       WHERE x.indicator_id OPERATOR(pg_catalog.=) ind
                         AND x.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope)
                         AND x.period OPERATOR(kpi.=) v.period::kpi.period
                       ORDER BY x.target_id, x.id DESC) h ON h.target_id OPERATOR(pg_catalog.=) t.id;
            action := 'logged the target''s current state in kpi.target_history';
        ELSIF v.problem OPERATOR(pg_catalog.=) 'alert state' THEN
            UPDATE kpi.alert a
            SET resolved_at = CASE WHEN a.state OPERATOR(pg_catalog.=) 'resolved' THEN coalesce(a.resolved_at, a.updated_at) END,
                acked_at = CASE WHEN a.state OPERATOR(pg_catalog.=) 'acked' THEN coalesce(a.acked_at, a.updated_at) ELSE a.acked_at END
            WHERE a.indicator_id OPERATOR(pg_catalog.=) ind AND a.period OPERATOR(kpi.=) v.period::kpi.period
              AND a.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope)
              AND ((a.state OPERATOR(pg_catalog.=) 'resolved') OPERATOR(pg_catalog.<>) (a.resolved_at IS NOT NULL)
                   OR (a.state OPERATOR(pg_catalog.=) 'acked' AND a.acked_at IS NULL));
            action := 'set the alert''s timestamps from its state';
        ELSIF v.problem OPERATOR(pg_catalog.=) 'alert events' THEN
            INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
            SELECT a.id, 'repair', CURRENT_USER, a.state, a.severity, a.value, a.attainment,
                   'kpi.repair(): the events did not end in the alert''s state'
            FROM kpi.alert a
            WHERE a.indicator_id OPERATOR(pg_catalog.=) ind AND a.period OPERATOR(kpi.=) v.period::kpi.period
              AND a.scope_id OPERATOR(pg_catalog.=) (SELECT s.id FROM kpi.scope s WHERE s.code OPERATOR(pg_catalog.=) v.scope);
            action := 'logged a repair event with the alert''s state';
        ELSE
            action := 'not repaired: ' || v.detail || ' (a decision for a person: fix the data, then run kpi.verify())';
        END IF;
        RETURN NEXT;
    END LOOP;
END
$$;
COMMENT ON FUNCTION kpi.repair() IS
    'owner only: fix what kpi.verify() reports (rebuild kpi.actual, log missing history, align alert bookkeeping) and return what was done';
REVOKE EXECUTE ON FUNCTION kpi.repair() FROM PUBLIC;


-- =====================================================================
-- 7. Reviews (复盘)
-- =====================================================================

-- ---------------------------------------------------------------------
-- Reviews (复盘): a meeting for a period and a scope, its findings, the
-- actions they lead to.  Every change is kept in kpi.review_history.
-- ---------------------------------------------------------------------

CREATE TABLE kpi.review (
    id          bigserial PRIMARY KEY,
    title       text NOT NULL,
    period      kpi.period NOT NULL,
    scope_id    bigint NOT NULL REFERENCES kpi.scope (id),
    held_at     timestamptz,
    facilitator text,
    summary     text,
    state       text NOT NULL DEFAULT 'planned',
    created_by  name NOT NULL DEFAULT CURRENT_USER,
    created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT review_state CHECK (state IN ('planned', 'held', 'closed')),
    CONSTRAINT review_held_at CHECK (state = 'planned' OR held_at IS NOT NULL),
    CONSTRAINT review_title CHECK (pg_catalog.btrim(title) <> '')
);
CREATE INDEX review_scope_period ON kpi.review (scope_id, period);
COMMENT ON TABLE kpi.review IS 'reviews (复盘): a meeting on one period of one scope; planned, then held, then closed';
COMMENT ON COLUMN kpi.review.id IS 'the review''s id';
COMMENT ON COLUMN kpi.review.title IS 'what the meeting is called, e.g. 2026-Q2 华北大区复盘';
COMMENT ON COLUMN kpi.review.period IS 'the period reviewed';
COMMENT ON COLUMN kpi.review.scope_id IS 'the scope reviewed (its whole subtree); members of it see the review';
COMMENT ON COLUMN kpi.review.held_at IS 'when the meeting is planned or was held; required once held, never before the period starts';
COMMENT ON COLUMN kpi.review.facilitator IS 'who runs the meeting';
COMMENT ON COLUMN kpi.review.summary IS 'the meeting''s conclusion';
COMMENT ON COLUMN kpi.review.state IS 'planned -> held -> closed (a closed review may be held again to correct it)';
COMMENT ON COLUMN kpi.review.created_by IS 'the role that created the review';
COMMENT ON COLUMN kpi.review.created_at IS 'when the review was created';
COMMENT ON COLUMN kpi.review.updated_at IS 'when the review last changed';
COMMENT ON SEQUENCE kpi.review_id_seq IS 'ids of kpi.review';

CREATE TABLE kpi.finding (
    id             bigserial PRIMARY KEY,
    review_id      bigint NOT NULL REFERENCES kpi.review (id) ON DELETE CASCADE,
    indicator_id   bigint NOT NULL REFERENCES kpi.indicator (id),
    scope_id       bigint NOT NULL REFERENCES kpi.scope (id),
    alert_id       bigint REFERENCES kpi.alert (id) ON DELETE SET NULL,
    kind           text NOT NULL DEFAULT 'gap',
    summary        text,
    cause_category text,
    root_cause     text,
    lesson         text,
    created_by     name NOT NULL DEFAULT CURRENT_USER,
    created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
    -- English text search: the lesson weighs more (A) than the root cause
    -- (B); stored, so matching and ranking parse no text
    search_vector  tsvector GENERATED ALWAYS AS
                   (pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.english'::regconfig, coalesce(lesson, '')), 'A')
                    OPERATOR(pg_catalog.||)
                    pg_catalog.setweight(pg_catalog.to_tsvector('pg_catalog.english'::regconfig, coalesce(root_cause, '')), 'B')) STORED,
    CONSTRAINT finding_kind CHECK (kind IN ('gap', 'success'))
);
CREATE INDEX finding_review ON kpi.finding (review_id);
CREATE INDEX finding_indicator ON kpi.finding (indicator_id);
CREATE INDEX finding_alert ON kpi.finding (alert_id) WHERE alert_id IS NOT NULL;
COMMENT ON TABLE kpi.finding IS 'findings of a review: a gap or a success on one indicator, its cause and the lesson drawn (经验沉淀)';
COMMENT ON COLUMN kpi.finding.id IS 'the finding''s id';
COMMENT ON COLUMN kpi.finding.review_id IS 'the review that made the finding';
COMMENT ON COLUMN kpi.finding.indicator_id IS 'the indicator it is about';
COMMENT ON COLUMN kpi.finding.scope_id IS 'the scope it is about: the review''s scope or one below it (default: the alert''s scope, else the review''s)';
COMMENT ON COLUMN kpi.finding.alert_id IS 'the alert that prompted it, if any; must be about the same indicator';
COMMENT ON COLUMN kpi.finding.kind IS 'gap (fell short) or success (worth repeating)';
COMMENT ON COLUMN kpi.finding.summary IS 'what was observed';
COMMENT ON COLUMN kpi.finding.cause_category IS 'a category of cause, free text (e.g. people, process, equipment, material, supplier, market, data)';
COMMENT ON COLUMN kpi.finding.root_cause IS 'the root cause (根因); searched by kpi.lessons()';
COMMENT ON COLUMN kpi.finding.lesson IS 'the lesson to keep (经验教训); searched by kpi.lessons()';
COMMENT ON COLUMN kpi.finding.created_by IS 'the role that recorded the finding';
COMMENT ON COLUMN kpi.finding.created_at IS 'when the finding was recorded';
COMMENT ON COLUMN kpi.finding.updated_at IS 'when the finding last changed';
COMMENT ON SEQUENCE kpi.finding_id_seq IS 'ids of kpi.finding';

CREATE TABLE kpi.action (
    id         bigserial PRIMARY KEY,
    finding_id bigint NOT NULL REFERENCES kpi.finding (id) ON DELETE CASCADE,
    title      text NOT NULL,
    owner      text NOT NULL,
    due        date NOT NULL,
    state      text NOT NULL DEFAULT 'open',
    outcome    text,
    closed_at  timestamptz,
    created_by name NOT NULL DEFAULT CURRENT_USER,
    created_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    updated_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    CONSTRAINT action_state CHECK (state IN ('open', 'in_progress', 'done', 'dropped')),
    CONSTRAINT action_closed_at CHECK ((state IN ('done', 'dropped')) = (closed_at IS NOT NULL)),
    CONSTRAINT action_title CHECK (pg_catalog.btrim(title) <> ''),
    CONSTRAINT action_owner CHECK (pg_catalog.btrim(owner) <> '')
);
CREATE INDEX action_finding ON kpi.action (finding_id);
CREATE INDEX action_due ON kpi.action (due) WHERE state IN ('open', 'in_progress');
COMMENT ON TABLE kpi.action IS 'actions decided on a finding: an owner, a due date, open -> in_progress -> done or dropped';
COMMENT ON COLUMN kpi.action.id IS 'the action''s id';
COMMENT ON COLUMN kpi.action.finding_id IS 'the finding it answers';
COMMENT ON COLUMN kpi.action.title IS 'what will be done';
COMMENT ON COLUMN kpi.action.owner IS 'who is responsible (责任人): a person, not necessarily a database role';
COMMENT ON COLUMN kpi.action.due IS 'the date it is due (in the company''s time zone); not before the reviewed period starts';
COMMENT ON COLUMN kpi.action.state IS 'open -> in_progress -> done or dropped (open may go straight to done or dropped); done and dropped are final';
COMMENT ON COLUMN kpi.action.outcome IS 'what came of it; required to drop an action';
COMMENT ON COLUMN kpi.action.closed_at IS 'when it was done or dropped (set by kpi)';
COMMENT ON COLUMN kpi.action.created_by IS 'the role that recorded the action';
COMMENT ON COLUMN kpi.action.created_at IS 'when the action was recorded';
COMMENT ON COLUMN kpi.action.updated_at IS 'when the action last changed';
COMMENT ON SEQUENCE kpi.action_id_seq IS 'ids of kpi.action';

CREATE TABLE kpi.review_history (
    id         bigserial PRIMARY KEY,
    review_id  bigint NOT NULL,
    entity     text NOT NULL CHECK (entity IN ('review', 'finding', 'action')),
    entity_id  bigint NOT NULL,
    op         text NOT NULL CHECK (op IN ('INSERT', 'UPDATE', 'DELETE')),
    old_state  text,
    new_state  text,
    changed_by name NOT NULL,
    changed_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
    old_row    jsonb,
    new_row    jsonb
);
CREATE INDEX review_history_review ON kpi.review_history (review_id, id);
CREATE INDEX review_history_entity ON kpi.review_history (entity, entity_id, id);
COMMENT ON TABLE kpi.review_history IS 'every change of a review, finding or action: who, when, the state before and after, the old and new row (written by kpi only)';
COMMENT ON COLUMN kpi.review_history.id IS 'order of the changes';
COMMENT ON COLUMN kpi.review_history.review_id IS 'the review the changed row belongs to';
COMMENT ON COLUMN kpi.review_history.entity IS 'review, finding or action';
COMMENT ON COLUMN kpi.review_history.entity_id IS 'the id of the changed row';
COMMENT ON COLUMN kpi.review_history.op IS 'INSERT, UPDATE or DELETE';
COMMENT ON COLUMN kpi.review_history.old_state IS 'the state before (reviews and actions; the kind for findings)';
COMMENT ON COLUMN kpi.review_history.new_state IS 'the state after (reviews and actions; the kind for findings)';
COMMENT ON COLUMN kpi.review_history.changed_by IS 'the role that made the change (kpi.actor(): the session''s role, as SET ROLE leaves it)';
COMMENT ON COLUMN kpi.review_history.changed_at IS 'when';
COMMENT ON COLUMN kpi.review_history.old_row IS 'the row before, as JSON';
COMMENT ON COLUMN kpi.review_history.new_row IS 'the row after, as JSON';
COMMENT ON SEQUENCE kpi.review_history_id_seq IS 'ids of kpi.review_history';

-- The company's today: due dates and overdue days are counted in its zone.
CREATE FUNCTION kpi.today(at timestamptz DEFAULT pg_catalog.now()) RETURNS date
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT (at AT TIME ZONE kpi.time_zone())::date;
END;
COMMENT ON FUNCTION kpi.today(timestamptz) IS 'the date of a time (default now) in the company''s time zone (kpi.time_zone())';

-- raise a check_violation with a message and a detail
CREATE FUNCTION kpi.refuse(message text, detail text, errcode text DEFAULT 'check_violation') RETURNS void
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    RAISE EXCEPTION USING ERRCODE = errcode, MESSAGE = message, DETAIL = detail;
END
$$;
COMMENT ON FUNCTION kpi.refuse(text, text, text) IS 'internal: raise an error with a message, a detail and an SQLSTATE (default check_violation)';

-- Reviews: valid states and transitions, held_at set when held and never
-- before the period starts.  Inserts may come in any state (a review held
-- last week is recorded as held); updates follow planned -> held -> closed.
CREATE FUNCTION kpi.review_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.state IS NULL OR NEW.state NOT IN ('planned', 'held', 'closed') THEN
        PERFORM kpi.refuse(format('invalid review state: "%s"', NEW.state),
                           'A review is planned, held or closed.');
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.state <> OLD.state
       AND NOT (OLD.state, NEW.state) IN (('planned', 'held'), ('held', 'closed'), ('closed', 'held')) THEN
        PERFORM kpi.refuse(format('review %s cannot go from %s to %s', NEW.id, OLD.state, NEW.state),
                           'A review goes planned -> held -> closed; a closed review may be held again.',
                           'object_not_in_prerequisite_state');
    END IF;
    IF NEW.state <> 'planned' AND NEW.held_at IS NULL THEN
        NEW.held_at := pg_catalog.now();
    END IF;
    IF NEW.held_at IS NOT NULL AND kpi.today(NEW.held_at) < kpi.start_date(NEW.period) THEN
        PERFORM kpi.refuse(format('review of %s cannot be held on %s', NEW.period, kpi.today(NEW.held_at)),
                           format('%s starts on %s.', NEW.period, kpi.start_date(NEW.period)));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.review_check() IS 'trigger: check a review''s state, transition and date';
CREATE TRIGGER review_check BEFORE INSERT OR UPDATE ON kpi.review
    FOR EACH ROW EXECUTE FUNCTION kpi.review_check();

-- Findings: a valid kind, a scope inside the review's, an alert about the
-- same indicator, and no changes once the review is closed.
CREATE FUNCTION kpi.finding_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    rv kpi.review;
    al kpi.alert;
    have_review boolean;
    scope_code text;
BEGIN
    -- FOR SHARE: a review being closed concurrently is waited for and then
    -- seen closed, so no finding slips into a closed review
    SELECT * INTO rv FROM kpi.review r
    WHERE r.id OPERATOR(pg_catalog.=) CASE WHEN TG_OP = 'DELETE' THEN OLD.review_id ELSE NEW.review_id END
    FOR SHARE;
    have_review := FOUND;   -- not when the review is being deleted, or is unknown or unseen
    IF NOT have_review AND TG_OP <> 'DELETE' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'foreign_key_violation',
            MESSAGE = format('unknown review id: %s', NEW.review_id),
            HINT = 'A role sees the reviews of its scopes.';
    END IF;
    IF have_review AND rv.state = 'closed' THEN
        PERFORM kpi.refuse(format('review %s is closed', rv.id),
                           'Its findings no longer change; hold the review again to correct them.',
                           'object_not_in_prerequisite_state');
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    IF NEW.kind IS NULL OR NEW.kind NOT IN ('gap', 'success') THEN
        PERFORM kpi.refuse(format('invalid finding kind: "%s"', NEW.kind),
                           'A finding is a gap or a success.');
    END IF;
    IF NEW.alert_id IS NOT NULL THEN
        SELECT * INTO al FROM kpi.alert a WHERE a.id OPERATOR(pg_catalog.=) NEW.alert_id;
        IF NOT FOUND THEN   -- unknown, or outside the writer's scopes
            PERFORM kpi.alert_not_found(NEW.alert_id);
        END IF;
        IF al.indicator_id OPERATOR(pg_catalog.<>) NEW.indicator_id THEN
            PERFORM kpi.refuse(format('alert %s is about another indicator than finding %s', al.id, NEW.id),
                               'A finding and the alert that prompted it are about the same indicator.');
        END IF;
        NEW.scope_id := coalesce(NEW.scope_id, al.scope_id);
    END IF;
    NEW.scope_id := coalesce(NEW.scope_id, rv.scope_id);
    -- walk up from the finding's scope (an unknown one is the foreign key's to refuse)
    SELECT s.code INTO scope_code FROM kpi.scope s WHERE s.id OPERATOR(pg_catalog.=) NEW.scope_id;
    IF have_review AND scope_code IS NOT NULL
       AND NOT EXISTS (SELECT FROM kpi.scope_ancestors(scope_code) a
                       WHERE a.id OPERATOR(pg_catalog.=) rv.scope_id) THEN
        PERFORM kpi.refuse(format('finding of review %s is about a scope outside the review''s', rv.id),
                           'A finding''s scope is the review''s scope or one below it.');
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.finding_check() IS 'trigger: check a finding''s kind, scope and alert, and that its review is not closed';
CREATE TRIGGER finding_check BEFORE INSERT OR UPDATE OR DELETE ON kpi.finding
    FOR EACH ROW EXECUTE FUNCTION kpi.finding_check();

-- Actions: valid states and transitions, closed_at kept, a reason to
-- drop, and a due date not before the reviewed period.
CREATE FUNCTION kpi.action_check() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    p kpi.period;
BEGIN
    IF NEW.state IS NULL OR NEW.state NOT IN ('open', 'in_progress', 'done', 'dropped') THEN
        PERFORM kpi.refuse(format('invalid action state: "%s"', NEW.state),
                           'An action is open, in_progress, done or dropped.');
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.state <> OLD.state
       AND NOT (OLD.state, NEW.state) IN (('open', 'in_progress'), ('open', 'done'), ('open', 'dropped'),
                                          ('in_progress', 'done'), ('in_progress', 'dropped')) THEN
        PERFORM kpi.refuse(format('action %s cannot go from %s to %s', NEW.id, OLD.state, NEW.state),
                           CASE WHEN OLD.state IN ('done', 'dropped')
                                THEN format('The action is %s, which is final; record a new action instead.', OLD.state)
                                ELSE 'An action goes open -> in_progress -> done or dropped.' END,
                           'object_not_in_prerequisite_state');
    END IF;
    IF NEW.state = 'dropped' AND coalesce(pg_catalog.btrim(NEW.outcome), '') = '' THEN
        PERFORM kpi.refuse(format('action %s cannot be dropped without an outcome', NEW.id),
                           'Say in outcome why the action was dropped.');
    END IF;
    IF NEW.state IN ('done', 'dropped') THEN
        IF TG_OP = 'INSERT' OR OLD.state NOT IN ('done', 'dropped') THEN
            NEW.closed_at := coalesce(NEW.closed_at, pg_catalog.now());
        END IF;
    ELSE
        NEW.closed_at := NULL;
    END IF;
    SELECT r.period INTO p FROM kpi.finding f JOIN kpi.review r ON r.id OPERATOR(pg_catalog.=) f.review_id
    WHERE f.id OPERATOR(pg_catalog.=) NEW.finding_id;
    IF NEW.due < kpi.start_date(p) THEN
        PERFORM kpi.refuse(format('action due %s is before the reviewed period %s', NEW.due, p),
                           format('%s starts on %s.', p, kpi.start_date(p)));
    END IF;
    IF TG_OP = 'UPDATE' THEN
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION kpi.action_check() IS 'trigger: check an action''s state, transition, outcome and due date';
CREATE TRIGGER action_check BEFORE INSERT OR UPDATE ON kpi.action
    FOR EACH ROW EXECUTE FUNCTION kpi.action_check();

-- History is written with the owner's rights, as the indicators' and the
-- targets' (kpi.actor() names the role that made the change).
CREATE FUNCTION kpi.review_log() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp SET extra_float_digits = 1
AS $$
DECLARE
    r record;
    rid bigint;
    st_old text;
    st_new text;
BEGIN
    IF TG_TABLE_SCHEMA <> 'kpi' OR TG_TABLE_NAME NOT IN ('review', 'finding', 'action')
       OR TG_WHEN <> 'AFTER' OR TG_LEVEL <> 'ROW' THEN
        RAISE EXCEPTION USING ERRCODE = 'E0001',   -- trigger_protocol_violated
            MESSAGE = 'kpi.review_log() fires only AFTER ... FOR EACH ROW on kpi.review, kpi.finding and kpi.action';
    END IF;
    IF (TG_OP = 'UPDATE' AND OLD IS NOT DISTINCT FROM NEW) OR kpi.in_restore() THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'review' THEN
        rid := r.id;
    ELSIF TG_TABLE_NAME = 'finding' THEN
        rid := r.review_id;
    ELSE
        SELECT f.review_id INTO rid FROM kpi.finding f WHERE f.id OPERATOR(pg_catalog.=) r.finding_id;
        IF rid IS NULL THEN   -- the finding is being deleted with its review
            RETURN NULL;
        END IF;
    END IF;
    IF TG_TABLE_NAME = 'finding' THEN
        IF TG_OP <> 'INSERT' THEN st_old := OLD.kind; END IF;
        IF TG_OP <> 'DELETE' THEN st_new := NEW.kind; END IF;
    ELSE
        IF TG_OP <> 'INSERT' THEN st_old := OLD.state; END IF;
        IF TG_OP <> 'DELETE' THEN st_new := NEW.state; END IF;
    END IF;
    INSERT INTO kpi.review_history (review_id, entity, entity_id, op, old_state, new_state, changed_by,
                                    old_row, new_row)
    VALUES (rid, TG_TABLE_NAME, r.id, TG_OP, st_old, st_new,
            kpi.actor(),
            CASE WHEN TG_OP <> 'INSERT' THEN pg_catalog.to_jsonb(OLD) END,
            CASE WHEN TG_OP <> 'DELETE' THEN pg_catalog.to_jsonb(NEW) END);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION kpi.review_log() IS 'trigger: record every change of a review, finding or action in kpi.review_history';
REVOKE EXECUTE ON FUNCTION kpi.review_log() FROM PUBLIC;
CREATE TRIGGER review_log AFTER INSERT OR UPDATE OR DELETE ON kpi.review
    FOR EACH ROW EXECUTE FUNCTION kpi.review_log();
CREATE TRIGGER review_log AFTER INSERT OR UPDATE OR DELETE ON kpi.finding
    FOR EACH ROW EXECUTE FUNCTION kpi.review_log();
CREATE TRIGGER review_log AFTER INSERT OR UPDATE OR DELETE ON kpi.action
    FOR EACH ROW EXECUTE FUNCTION kpi.review_log();

-- ---------------------------------------------------------------------
-- Closing the loop with alerts
-- ---------------------------------------------------------------------

-- kpi.alert.finding_id (the last column of kpi.alert, section 4): the
-- finding an alert was resolved with.
ALTER TABLE kpi.alert ADD CONSTRAINT alert_finding_id_fkey
    FOREIGN KEY (finding_id) REFERENCES kpi.finding (id) ON DELETE SET NULL;

-- The queue functions see only the alerts the caller sees; an alert it
-- cannot see is refused like one that does not exist, without saying
-- which of the two it is.
CREATE FUNCTION kpi.alert_not_found(alert_id bigint) RETURNS void
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF kpi.visible_scopes() IS NULL THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown alert id: %s', alert_id);
    END IF;
    RAISE EXCEPTION USING
        ERRCODE = 'insufficient_privilege',
        MESSAGE = format('alert %s does not exist or is not visible to role "%s"', alert_id, CURRENT_USER),
        DETAIL = 'A role sees the alerts of the scopes it is a member of, and of the scopes below them.',
        HINT = 'kpi.scope_member lists who sees which scopes.';
END
$$;
COMMENT ON FUNCTION kpi.alert_not_found(bigint) IS
    'internal: refuse an alert id the caller cannot see (22023 for a role that sees everything, 42501 otherwise)';

-- kpi.alert_transition: the one place that checks and applies a consumer's
-- transition (ack or resolve, optionally with the finding that explains
-- the alert) and logs it.
CREATE FUNCTION kpi.alert_transition(alert_id bigint, who text, note text, target_state text,
                                     finding bigint DEFAULT NULL)
    RETURNS kpi.alert
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a kpi.alert;
    f kpi.finding;
BEGIN
    SELECT * INTO a FROM kpi.alert x WHERE x.id OPERATOR(pg_catalog.=) alert_id FOR UPDATE;
    IF NOT FOUND THEN
        PERFORM kpi.alert_not_found(alert_id);
    END IF;
    IF a.state OPERATOR(pg_catalog.=) 'resolved' OR (target_state = 'acked' AND a.state = 'acked') THEN
        RAISE EXCEPTION USING
            ERRCODE = 'object_not_in_prerequisite_state',
            MESSAGE = format('alert %s is already %s', alert_id, a.state),
            HINT = CASE WHEN a.state = 'resolved' THEN 'A resolved alert takes no further transitions.'
                        ELSE 'Resolve it with kpi.alert_resolve().' END;
    END IF;
    IF finding IS NOT NULL THEN
        SELECT * INTO f FROM kpi.finding x WHERE x.id OPERATOR(pg_catalog.=) finding;
        IF NOT FOUND THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('unknown finding id: %s', finding),
                HINT = 'A role sees the findings of the reviews of its scopes.';
        END IF;
        IF f.indicator_id OPERATOR(pg_catalog.<>) a.indicator_id THEN
            RAISE EXCEPTION USING
                ERRCODE = 'invalid_parameter_value',
                MESSAGE = format('finding %s is about another indicator than alert %s', finding, alert_id),
                DETAIL = 'An alert is resolved with a finding on its own indicator.';
        END IF;
    END IF;
    IF target_state = 'acked' THEN
        UPDATE kpi.alert x SET state = 'acked', acked_at = pg_catalog.now(), acked_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now()
        WHERE x.id OPERATOR(pg_catalog.=) alert_id RETURNING * INTO a;
    ELSE
        UPDATE kpi.alert x SET state = 'resolved', resolved_at = pg_catalog.now(), resolved_by = who,
                               lease_until = NULL, updated_at = pg_catalog.now(),
                               finding_id = coalesce(finding, x.finding_id)
        WHERE x.id OPERATOR(pg_catalog.=) alert_id RETURNING * INTO a;
    END IF;
    INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment, note)
    VALUES (a.id, CASE target_state WHEN 'acked' THEN 'ack' ELSE 'resolve' END, who, a.state,
            a.severity, a.value, a.attainment,
            CASE WHEN finding IS NULL THEN note
                 ELSE concat_ws(' ', note, format('(finding %s)', finding)) END);
    RETURN a;
END
$$;
COMMENT ON FUNCTION kpi.alert_transition(bigint, text, text, text, bigint) IS
    'internal: check and apply an ack or resolve of an alert the caller sees, and log it';

CREATE FUNCTION kpi.alert_ack(id bigint, who text, note text DEFAULT NULL) RETURNS kpi.alert
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT kpi.alert_transition(id, who, note, 'acked');
END;
COMMENT ON FUNCTION kpi.alert_ack(bigint, text, text) IS
    'acknowledge an open alert: it stops being delivered and escalated; errors on unknown, unseen or resolved alerts';

CREATE FUNCTION kpi.alert_resolve(id bigint, who text, note text DEFAULT NULL, finding bigint DEFAULT NULL)
    RETURNS kpi.alert
    LANGUAGE sql VOLATILE
    SET search_path = pg_catalog, pg_temp
BEGIN ATOMIC
    SELECT kpi.alert_transition(id, who, note, 'resolved', finding);
END;
COMMENT ON FUNCTION kpi.alert_resolve(bigint, text, text, bigint) IS
    'resolve an open or acknowledged alert by hand, optionally pointing to the finding that explains it; errors on unknown, unseen or resolved alerts';

-- kpi.finding_from_alert: record a finding in a review from the alert that
-- prompted it (its indicator and scope), in one call.
CREATE FUNCTION kpi.finding_from_alert(alert_id bigint, review_id bigint, root_cause text DEFAULT NULL,
                                       lesson text DEFAULT NULL, cause_category text DEFAULT NULL,
                                       kind text DEFAULT 'gap') RETURNS bigint
    LANGUAGE plpgsql VOLATILE
    SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    a kpi.alert;
    result bigint;
BEGIN
    SELECT * INTO a FROM kpi.alert x WHERE x.id OPERATOR(pg_catalog.=) alert_id;
    IF NOT FOUND THEN
        PERFORM kpi.alert_not_found(alert_id);
    END IF;
    IF NOT EXISTS (SELECT FROM kpi.review r WHERE r.id OPERATOR(pg_catalog.=) review_id) THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = format('unknown review id: %s', review_id),
            HINT = 'A role sees the reviews of its scopes.';
    END IF;
    INSERT INTO kpi.finding (review_id, indicator_id, scope_id, alert_id, kind, summary,
                             cause_category, root_cause, lesson)
    VALUES (review_id, a.indicator_id, a.scope_id, a.id, kind,
            format('alert %s: %s in %s, attainment %s', a.id, a.severity, a.period,
                   coalesce(pg_catalog.round(a.attainment::numeric, 3)::text, 'unknown')),
            cause_category, root_cause, lesson)
    RETURNING id INTO result;
    RETURN result;
END
$$;
COMMENT ON FUNCTION kpi.finding_from_alert(bigint, bigint, text, text, text, text) IS
    'record a finding in a review from an alert (its indicator, scope and a summary of it); returns the finding''s id';

-- does an action exist for the alert (through a finding it prompted or was
-- resolved with)?  Also readable as a column: a.has_action, kpi on the path.
CREATE FUNCTION kpi.has_action(a kpi.alert) RETURNS boolean
    LANGUAGE sql STABLE PARALLEL SAFE
BEGIN ATOMIC
    SELECT EXISTS (SELECT FROM kpi.action x JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
                   WHERE f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id);
END;
COMMENT ON FUNCTION kpi.has_action(kpi.alert) IS
    'true when an action exists for the alert, through a finding it prompted or was resolved with';

-- ---------------------------------------------------------------------
-- Lessons search (经验沉淀): English through text search with stemming,
-- any text (Chinese too, under any locale) through kpi.search_terms.
-- ---------------------------------------------------------------------

CREATE FUNCTION kpi.search_terms(t text, query boolean DEFAULT false) RETURNS text[]
    AS 'MODULE_PATHNAME', 'kpi_search_terms'
    LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION kpi.search_terms(text, boolean) IS
    'search terms of a text under any locale: words (ASCII folded to lower case) and, for CJK text, characters and neighbouring pairs; query = true gives the terms a match must contain';

CREATE INDEX finding_terms ON kpi.finding
    USING gin (kpi.search_terms(coalesce(root_cause, '') || ' ' || coalesce(lesson, ''), false));
COMMENT ON COLUMN kpi.finding.search_vector IS
    'the lesson (weight A) and the root cause (weight B) for English text search (kept by PostgreSQL; kpi.lessons() searches it)';
CREATE INDEX finding_text ON kpi.finding USING gin (search_vector);

CREATE FUNCTION kpi.lessons(query text)
    RETURNS TABLE (finding_id bigint, indicator text, lesson text, rank real,
                   root_cause text, cause_category text, scope text, period text, review_id bigint)
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    SET client_min_messages = warning   -- no NOTICE for a query without English words
    SET plan_cache_mode = force_custom_plan   -- plan for the query's own terms, every call
AS $$
DECLARE
    q text := btrim(query);
    tsq tsquery;
    terms text[];
    words text[];
BEGIN
    IF q = '' THEN
        RAISE EXCEPTION USING
            ERRCODE = 'invalid_parameter_value',
            MESSAGE = 'kpi.lessons needs a query';
    END IF;
    -- English text search (stemming) for queries in ASCII; everything else,
    -- Chinese above all, by substring, so ranking does not depend on the
    -- locale the server's parser splits words with
    IF q ~ '^[[:ascii:]]*$' THEN
        tsq := websearch_to_tsquery('pg_catalog.english'::regconfig, q);
    ELSE
        tsq := ''::tsquery;
    END IF;
    terms := kpi.search_terms(q, true);
    words := ARRAY(SELECT w FROM regexp_split_to_table(lower(q), '\s+') w WHERE w <> '');
    RETURN QUERY
    WITH hit AS (
        SELECT f.*, coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, '') AS doc
        FROM kpi.finding f
        WHERE (numnode(tsq) > 0 AND f.search_vector @@ tsq)
           OR (cardinality(terms) > 0
               AND kpi.search_terms(coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, ''), false) @> terms
               AND NOT EXISTS (SELECT FROM unnest(words) w
                               WHERE strpos(lower(coalesce(f.root_cause, '') || ' ' || coalesce(f.lesson, '')), w) = 0))
    ), scored AS (
        SELECT h.*,
               -- text search: the lesson weighs more than the root cause
               CASE WHEN numnode(tsq) > 0 THEN ts_rank(h.search_vector, tsq) ELSE 0 END AS ts,
               -- substrings: occurrences of each query word, in the lesson
               -- (1) and the root cause (0.4), the whole query as written
               -- (2), less for long texts
               (SELECT coalesce(sum(
                          (char_length(lower(coalesce(h.lesson, ''))) - char_length(replace(lower(coalesce(h.lesson, '')), w, '')))
                              / char_length(w)
                        + 0.4 * (char_length(lower(coalesce(h.root_cause, ''))) - char_length(replace(lower(coalesce(h.root_cause, '')), w, '')))
                              / char_length(w)), 0)
                FROM unnest(words) w)
               + CASE WHEN cardinality(words) > 1 AND strpos(lower(h.doc), lower(q)) > 0 THEN 2 ELSE 0 END
               AS sub
        FROM hit h
    )
    SELECT s.id, i.code, s.lesson,
           (s.ts + 0.1 * s.sub / (1 + ln(1 + char_length(s.doc) / 100.0)))::real,
           s.root_cause, s.cause_category, sc.code, r.period::text, s.review_id
    FROM scored s
    JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) s.indicator_id
    JOIN kpi.scope sc ON sc.id OPERATOR(pg_catalog.=) s.scope_id
    JOIN kpi.review r ON r.id OPERATOR(pg_catalog.=) s.review_id
    ORDER BY 4 DESC, s.id DESC;
END
$$;
COMMENT ON FUNCTION kpi.lessons(text) IS
    'ranked search over the root causes and lessons of the findings the caller sees: English with stemming, Chinese and any other text by substring; best first';

-- ---------------------------------------------------------------------
-- Views
-- ---------------------------------------------------------------------

CREATE VIEW kpi.overdue_action WITH (security_invoker = true) AS
SELECT x.id                                       AS action_id,
       x.title,
       x.owner,
       x.due,
       kpi.today() OPERATOR(pg_catalog.-) x.due   AS days_overdue,
       x.state,
       i.code                                     AS indicator,
       i.name                                     AS indicator_name,
       s.code                                     AS scope,
       s.name                                     AS scope_name,
       r.period::text                             AS period,
       r.id                                       AS review_id,
       r.title                                    AS review,
       f.id                                       AS finding_id
FROM kpi.action x
JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
JOIN kpi.review r ON r.id OPERATOR(pg_catalog.=) f.review_id
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) f.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) f.scope_id
WHERE x.state IN ('open', 'in_progress')
  AND x.due OPERATOR(pg_catalog.<) kpi.today();
COMMENT ON VIEW kpi.overdue_action IS
    'actions not done or dropped whose due date has passed (in the company''s time zone), with owner, indicator, scope and days overdue';
COMMENT ON COLUMN kpi.overdue_action.action_id IS 'the action';
COMMENT ON COLUMN kpi.overdue_action.title IS 'what was to be done';
COMMENT ON COLUMN kpi.overdue_action.owner IS 'who is responsible';
COMMENT ON COLUMN kpi.overdue_action.due IS 'when it was due';
COMMENT ON COLUMN kpi.overdue_action.days_overdue IS 'days since it was due (the company''s today minus due)';
COMMENT ON COLUMN kpi.overdue_action.state IS 'open or in_progress';
COMMENT ON COLUMN kpi.overdue_action.indicator IS 'code of the finding''s indicator';
COMMENT ON COLUMN kpi.overdue_action.indicator_name IS 'name of the finding''s indicator';
COMMENT ON COLUMN kpi.overdue_action.scope IS 'code of the finding''s scope';
COMMENT ON COLUMN kpi.overdue_action.scope_name IS 'name of the finding''s scope';
COMMENT ON COLUMN kpi.overdue_action.period IS 'the reviewed period';
COMMENT ON COLUMN kpi.overdue_action.review_id IS 'the review';
COMMENT ON COLUMN kpi.overdue_action.review IS 'the review''s title';
COMMENT ON COLUMN kpi.overdue_action.finding_id IS 'the finding the action answers';

CREATE VIEW kpi.alert_followup WITH (security_invoker = true) AS
SELECT a.id                                       AS alert_id,
       i.code                                     AS indicator,
       s.code                                     AS scope,
       a.period::text                             AS period,
       a.state,
       a.severity::text                           AS severity,
       a.raised_at,
       a.finding_id                               AS resolved_with,
       (SELECT pg_catalog.array_agg(f.id ORDER BY f.id) FROM kpi.finding f
        WHERE f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id) AS findings,
       (SELECT pg_catalog.count(*) FROM kpi.action x JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
        WHERE f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id) AS actions,
       (SELECT pg_catalog.count(*) FROM kpi.action x JOIN kpi.finding f ON f.id OPERATOR(pg_catalog.=) x.finding_id
        WHERE (f.alert_id OPERATOR(pg_catalog.=) a.id OR f.id OPERATOR(pg_catalog.=) a.finding_id)
          AND x.state IN ('open', 'in_progress')) AS open_actions,
       kpi.has_action(a)                          AS has_action
FROM kpi.alert a
JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) a.indicator_id
JOIN kpi.scope s ON s.id OPERATOR(pg_catalog.=) a.scope_id;
COMMENT ON VIEW kpi.alert_followup IS
    'every alert with what the review loop did about it: the findings it prompted or was resolved with, and their actions';
COMMENT ON COLUMN kpi.alert_followup.alert_id IS 'the alert';
COMMENT ON COLUMN kpi.alert_followup.indicator IS 'indicator code';
COMMENT ON COLUMN kpi.alert_followup.scope IS 'scope code';
COMMENT ON COLUMN kpi.alert_followup.period IS 'the period judged';
COMMENT ON COLUMN kpi.alert_followup.state IS 'open, acked or resolved';
COMMENT ON COLUMN kpi.alert_followup.severity IS 'red, amber ... while open';
COMMENT ON COLUMN kpi.alert_followup.raised_at IS 'when it was raised';
COMMENT ON COLUMN kpi.alert_followup.resolved_with IS 'the finding it was resolved with, if any';
COMMENT ON COLUMN kpi.alert_followup.findings IS 'ids of the findings it prompted or was resolved with';
COMMENT ON COLUMN kpi.alert_followup.actions IS 'actions on those findings';
COMMENT ON COLUMN kpi.alert_followup.open_actions IS 'of which open or in progress';
COMMENT ON COLUMN kpi.alert_followup.has_action IS 'an action exists for the alert';


-- =====================================================================
-- 8. Security
-- =====================================================================

-- ---------------------------------------------------------------------
-- Row-level security.  A role sees and writes the rows of the scopes
-- kpi.visible_scopes() returns; superusers, BYPASSRLS roles and the owner
-- are not subject to it.  The set is computed once per query (an
-- InitPlan), so a row costs one lookup in a small array.
-- ---------------------------------------------------------------------

ALTER TABLE kpi.measurement ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.measurement
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.target ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.target
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.target_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.target_history
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.actual ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.actual FOR SELECT
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.alert ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.alert
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.alert_event ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.alert_event
    USING (EXISTS (SELECT FROM kpi.alert a WHERE a.id OPERATOR(pg_catalog.=) alert_event.alert_id));
ALTER TABLE kpi.review ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.review
    USING ((SELECT kpi.visible_scopes()) IS NULL
           OR scope_id OPERATOR(pg_catalog.=) ANY ((SELECT kpi.visible_scopes())::bigint[]));
ALTER TABLE kpi.finding ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.finding
    USING (EXISTS (SELECT FROM kpi.review r WHERE r.id OPERATOR(pg_catalog.=) finding.review_id));
ALTER TABLE kpi.action ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.action
    USING (EXISTS (SELECT FROM kpi.finding f WHERE f.id OPERATOR(pg_catalog.=) action.finding_id));
ALTER TABLE kpi.review_history ENABLE ROW LEVEL SECURITY;
CREATE POLICY scope_member ON kpi.review_history FOR SELECT
    USING (EXISTS (SELECT FROM kpi.review r WHERE r.id OPERATOR(pg_catalog.=) review_history.review_id));


-- =====================================================================
-- 9. Dumps and restores
-- =====================================================================

-- ---------------------------------------------------------------------
-- A restore switches on every table with data in the dump (section 5):
-- restore_begin before each statement that loads the table, zz_restore_end
-- after it.
-- ---------------------------------------------------------------------

DO $$
DECLARE
    t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['indicator', 'scope', 'link', 'setting', 'target', 'measurement', 'alert_rule', 'silence',
                             'alert', 'alert_event', 'alert_streak',
                             'scope_member', 'review', 'finding', 'action', 'review_history'] LOOP
        EXECUTE format('CREATE TRIGGER restore_begin BEFORE INSERT ON kpi.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION kpi.restore_guard()', t);
        -- named to fire after every other AFTER statement trigger of the table
        EXECUTE format('CREATE TRIGGER zz_restore_end AFTER INSERT ON kpi.%I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION kpi.restore_guard()', t);
        EXECUTE format('ALTER TABLE kpi.%I ENABLE ALWAYS TRIGGER zz_restore_end', t);
    END LOOP;
END
$$;

-- ---------------------------------------------------------------------
-- pg_dump keeps the rows of every table and the state of every sequence.
-- kpi.actual is derived: a restore rebuilds it through the measurement
-- trigger as kpi.measurement's rows come back, so it is not dumped (its
-- dumped rows would collide with the rebuilt ones).  The history and alert
-- rows come back with the dump; the triggers derive none of them in a
-- restore (section 5).  The tables are registered in the order the
-- releases added them, as in an upgraded install.
-- ---------------------------------------------------------------------

SELECT pg_catalog.pg_extension_config_dump('kpi.indicator', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.indicator_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.indicator_history', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.indicator_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.scope', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.scope_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.link', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.target', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.target_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.target_history', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.target_history_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.measurement', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.measurement_id_seq', '');
-- rules, silences, alerts and their history
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_rule', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_rule_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.silence', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.silence_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_event', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_event_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.alert_streak', '');
-- the settings
SELECT pg_catalog.pg_extension_config_dump('kpi.setting', '');
-- memberships and reviews
SELECT pg_catalog.pg_extension_config_dump('kpi.scope_member', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.review', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.finding', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.action', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.review_history', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.review_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.finding_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.action_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('kpi.review_history_id_seq', '');
