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

CREATE OPERATOR CLASS kpi.period_hash_ops DEFAULT FOR TYPE kpi.period USING hash AS
    OPERATOR 1 kpi.= ,
    FUNCTION 1 kpi.period_hash(kpi.period),
    FUNCTION 2 kpi.period_hash_extended(kpi.period, bigint);
COMMENT ON OPERATOR CLASS kpi.period_hash_ops USING hash IS 'default hash operator class for kpi.period';

CREATE AGGREGATE kpi.min(kpi.period) (
    SFUNC = kpi.period_smaller, STYPE = kpi.period, COMBINEFUNC = kpi.period_smaller,
    SORTOP = OPERATOR(kpi.<), PARALLEL = SAFE);
COMMENT ON AGGREGATE kpi.min(kpi.period) IS 'the earliest period';
CREATE AGGREGATE kpi.max(kpi.period) (
    SFUNC = kpi.period_larger, STYPE = kpi.period, COMBINEFUNC = kpi.period_larger,
    SORTOP = OPERATOR(kpi.>), PARALLEL = SAFE);
COMMENT ON AGGREGATE kpi.max(kpi.period) IS 'the latest period';

