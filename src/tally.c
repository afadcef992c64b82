/*
 * tally.c
 *	  kpi.tally: a fixed-size, mergeable summary of indicator values (SPEC 1.4),
 *	  its aggregates, the + operator and kpi.value(tally, kind).
 *
 * A tally keeps the row count, a compensated sum, min, max, the first and
 * last value by time, and compensated sums of numerators and denominators.
 * Values summarised per day can be merged into months, regions and the
 * company and still give the right sum, average, min, max, first, last and
 * ratio: docs/rollups.md explains why naive rollups do not.
 *
 * Order independence.  Count, min, max, first and last merge exactly
 * associatively and commutatively: min and max use a total order on float8
 * (-Infinity < ... < -0 < +0 < ... < Infinity < NaN, NaN last as in
 * PostgreSQL's float8 comparisons), and a tie in time is broken by value
 * (first takes the smaller, last the larger), so no result depends on the
 * order rows arrive in.  The sums are Neumaier-compensated: each addition's
 * rounding error is computed exactly and kept apart, so the value read back
 * (sum + compensation) is the correctly rounded sum of the inputs unless the
 * data cancel massively; merging two tallies is exactly commutative.
 *
 * Rows without a time (the one-argument aggregate) have no first or last:
 * a tally that holds any such row has first and last unknown (NULL), rather
 * than first and last of some of its rows, or of the order rows arrived in.
 *
 * The aggregates' state type is kpi.tally itself, so parallel query needs no
 * serial/deserial functions and Citus can push the aggregates down.  The
 * transition functions update the state in place only when called by an
 * aggregate (AggCheckCallContext); called directly they return a copy.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "access/htup_details.h"
#include "catalog/pg_enum.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "kpi.h"

StaticAssertDecl(sizeof(KpiTally) == 112, "kpi.tally is declared with INTERNALLENGTH = 112");

PG_FUNCTION_INFO_V1(kpi_tally_in);
PG_FUNCTION_INFO_V1(kpi_tally_out);
PG_FUNCTION_INFO_V1(kpi_tally_recv);
PG_FUNCTION_INFO_V1(kpi_tally_send);
PG_FUNCTION_INFO_V1(kpi_tally_step);
PG_FUNCTION_INFO_V1(kpi_tally_step_at);
PG_FUNCTION_INFO_V1(kpi_tally_step_ratio);
PG_FUNCTION_INFO_V1(kpi_tally_pl);
PG_FUNCTION_INFO_V1(kpi_value);
PG_FUNCTION_INFO_V1(kpi_tally_first_at);
PG_FUNCTION_INFO_V1(kpi_tally_last_at);

#define KPI_AGG_KIND_COUNT (KPI_AGG_RATIO + 1)

/* Labels of kpi.agg_kind, indexed by KpiAggKind. */
static const char *const agg_kind_labels[KPI_AGG_KIND_COUNT] = {
	"sum", "avg", "min", "max", "first", "last", "count", "ratio"
};

/* ---------------------------------------------------------------------
 * Numbers: total order and compensated sums
 * ---------------------------------------------------------------------
 */

/* x with every NaN replaced by the one NaN PostgreSQL makes, so that stored
 * bits never depend on which NaN arrived first. */
static inline float8
canonical(float8 x)
{
	return unlikely(isnan(x)) ? get_float8_nan() : x;
}

/*
 * An integer that orders float8 totally: -Infinity < ... < -0 < +0 < ... <
 * Infinity < NaN (NaN canonical, hence positive).  Flipping the magnitude
 * bits of negative numbers turns IEEE sign-magnitude into two's complement.
 */
static inline int64
float8_key(float8 x)
{
	int64		bits;

	memcpy(&bits, &x, sizeof(bits));
	return bits ^ (int64) (((uint64) (bits >> 63)) >> 1);
}

/*
 * Add x to the compensated sum (*s, *c): Neumaier's algorithm.  The rounding
 * error of s + x is found exactly with Knuth's branch-free TwoSum (the same
 * error Neumaier's magnitude test finds) and accumulated apart in *c.
 * Once *s is not finite *c is meaningless; pair_value() ignores it then.
 */
static inline void
pair_add(float8 *s, float8 *c, float8 x)
{
	float8		t = *s + x;
	float8		bp = t - *s;

	*c += (*s - (t - bp)) + (x - bp);
	*s = t;
}

/* Add the compensated sum (s2, c2) to (*s, *c); exactly commutative. */
static inline void
pair_merge(float8 *s, float8 *c, float8 s2, float8 c2)
{
	float8		t = *s + s2;
	float8		bp = t - *s;
	float8		err = (*s - (t - bp)) + (s2 - bp);

	*c = (*c + c2) + err;
	*s = t;
}

/* The value of a compensated sum: s + c, or s itself once it is not finite
 * (Infinity or NaN propagate as in float8 sums). */
static inline float8
pair_value(float8 s, float8 c)
{
	return isfinite(s) ? s + c : s;
}

/*
 * Rewrite (*s, *c) as (v, r): v = the rounded value, r = the exact remainder,
 * so that v + r = s + c exactly.  This is the canonical form printed and
 * sent: readable (v is the sum kpi.value returns) and lossless.
 */
static void
pair_normalize(float8 *s, float8 *c)
{
	float8		v;
	float8		bp;
	float8		r;

	v = pair_value(*s, *c);
	if (!isfinite(v))
	{
		*s = canonical(v);
		*c = 0.0;
		return;
	}
	bp = v - *s;
	r = (*s - (v - bp)) + (*c - bp);
	*s = v + 0.0;				/* -0 becomes +0: one byte form per value */
	*c = r + 0.0;
}

/* ---------------------------------------------------------------------
 * Building tallies (also the C interface declared in kpi.h)
 * ---------------------------------------------------------------------
 */

/* An empty tally: count 0, every other field zero. */
void
kpi_tally_init(KpiTally *t)
{
	memset(t, 0, sizeof(*t));
	t->version = KPI_TALLY_VERSION;
}

/* Forget first and last: the tally now holds a row without a time. */
static inline void
tally_set_untimed(KpiTally *t)
{
	t->flags |= KPI_TALLY_UNTIMED;
	t->first_at = 0;
	t->first = 0.0;
	t->last_at = 0;
	t->last = 0.0;
}

/*
 * Count x, taken at time at when timed.  The hot path of every aggregate:
 * kept small and branch-light (the first-row test is taken once per group).
 */
static inline void
tally_add_row(KpiTally *t, float8 x, TimestampTz at, bool timed)
{
	int64		k;

	x = canonical(x);
	pair_add(&t->sum, &t->comp, x);

	if (unlikely(t->count++ == 0))
	{
		t->min = t->max = x;
		if (timed)
		{
			t->first_at = t->last_at = at;
			t->first = t->last = x;
		}
		else
			tally_set_untimed(t);
		return;
	}

	k = float8_key(x);
	if (k < float8_key(t->min))
		t->min = x;
	if (k > float8_key(t->max))
		t->max = x;

	if (!timed)
	{
		if (!(t->flags & KPI_TALLY_UNTIMED))
			tally_set_untimed(t);
		return;
	}
	if (t->flags & KPI_TALLY_UNTIMED)
		return;
	if (at < t->first_at || (at == t->first_at && k < float8_key(t->first)))
	{
		t->first_at = at;
		t->first = x;
	}
	if (at > t->last_at || (at == t->last_at && k > float8_key(t->last)))
	{
		t->last_at = at;
		t->last = x;
	}
}

/* Count a value without a time. */
void
kpi_tally_add_untimed(KpiTally *t, float8 x)
{
	tally_add_row(t, x, 0, false);
}

/* Count a value taken at a time. */
void
kpi_tally_add(KpiTally *t, float8 x, TimestampTz at)
{
	tally_add_row(t, x, at, true);
}

/*
 * Count a ratio row: the numerator is the row's value (count, sum, min, max,
 * first and last describe numerators, as the value column of a measurement
 * does), and both parts are added to the ratio sums.
 */
void
kpi_tally_add_ratio(KpiTally *t, float8 num, float8 den, TimestampTz at)
{
	tally_add_row(t, num, at, true);
	pair_add(&t->num_sum, &t->num_comp, num);
	pair_add(&t->den_sum, &t->den_comp, den);
}

/*
 * Merge src into dst.  Merging with an empty tally is the identity; count,
 * min, max, first and last merge associatively and commutatively.
 */
void
kpi_tally_merge(KpiTally *dst, const KpiTally *src)
{
	if (src->count == 0)
		return;
	if (dst->count == 0)
	{
		memcpy(dst, src, sizeof(KpiTally));
		return;
	}

	if (pg_add_s64_overflow(dst->count, src->count, &dst->count))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("kpi.tally count out of range")));

	pair_merge(&dst->sum, &dst->comp, src->sum, src->comp);
	pair_merge(&dst->num_sum, &dst->num_comp, src->num_sum, src->num_comp);
	pair_merge(&dst->den_sum, &dst->den_comp, src->den_sum, src->den_comp);

	if (float8_key(src->min) < float8_key(dst->min))
		dst->min = src->min;
	if (float8_key(src->max) > float8_key(dst->max))
		dst->max = src->max;

	if ((dst->flags | src->flags) & KPI_TALLY_UNTIMED)
	{
		tally_set_untimed(dst);
		return;
	}
	if (src->first_at < dst->first_at ||
		(src->first_at == dst->first_at &&
		 float8_key(src->first) < float8_key(dst->first)))
	{
		dst->first_at = src->first_at;
		dst->first = src->first;
	}
	if (src->last_at > dst->last_at ||
		(src->last_at == dst->last_at &&
		 float8_key(src->last) > float8_key(dst->last)))
	{
		dst->last_at = src->last_at;
		dst->last = src->last;
	}
}

/*
 * The tally read as kind (kpi.value); *isnull when the answer is NULL: sum,
 * avg, min, max of an empty tally, first and last of an empty or untimed
 * one, ratio whose denominator sum is 0.  count of an empty tally is 0.
 */
float8
kpi_tally_value(const KpiTally *t, KpiAggKind kind, bool *isnull)
{
	float8		den;

	*isnull = false;
	if (kind == KPI_AGG_COUNT)
		return (float8) t->count;
	*isnull = true;
	if (t->count == 0)
		return 0.0;

	switch (kind)
	{
		case KPI_AGG_SUM:
			*isnull = false;
			return pair_value(t->sum, t->comp);
		case KPI_AGG_AVG:
			*isnull = false;
			return pair_value(t->sum, t->comp) / (float8) t->count;
		case KPI_AGG_MIN:
			*isnull = false;
			return t->min;
		case KPI_AGG_MAX:
			*isnull = false;
			return t->max;
		case KPI_AGG_FIRST:
		case KPI_AGG_LAST:
			if (t->flags & KPI_TALLY_UNTIMED)
				return 0.0;
			*isnull = false;
			return (kind == KPI_AGG_FIRST) ? t->first : t->last;
		case KPI_AGG_RATIO:
			den = pair_value(t->den_sum, t->den_comp);
			if (den == 0.0)
				return 0.0;
			*isnull = false;
			return pair_value(t->num_sum, t->num_comp) / den;
		case KPI_AGG_COUNT:
			break;				/* handled above */
	}
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown kpi.agg_kind %d", (int) kind)));
	return 0.0;					/* keep the compiler quiet */
}

/* The KpiAggKind of a kpi.agg_kind label ("sum", "avg", ...). */
const char *
kpi_agg_kind_name(KpiAggKind kind)
{
	return agg_kind_labels[kind];
}

/* The kind named by a label of kpi.agg_kind. */
KpiAggKind
kpi_agg_kind_from_name(const char *name)
{
	int			i;

	for (i = 0; i < KPI_AGG_KIND_COUNT; i++)
		if (strcmp(name, agg_kind_labels[i]) == 0)
			return (KpiAggKind) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown kpi.agg_kind \"%s\"", name),
			 errhint("Use sum, avg, min, max, first, last, count or ratio.")));
	return KPI_AGG_SUM;			/* keep the compiler quiet */
}

/* The KpiAggKind of a kpi.agg_kind enum value, looked up by its label. */
KpiAggKind
kpi_agg_kind_from_oid(Oid label_oid)
{
	HeapTuple	tup;
	KpiAggKind	kind;

	tup = SearchSysCache1(ENUMOID, ObjectIdGetDatum(label_oid));
	if (!HeapTupleIsValid(tup))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid internal value for enum kpi.agg_kind: %u", label_oid)));
	kind = kpi_agg_kind_from_name(NameStr(((Form_pg_enum) GETSTRUCT(tup))->enumlabel));
	ReleaseSysCache(tup);
	return kind;
}

/* ---------------------------------------------------------------------
 * Validation, shared by text and binary input
 * ---------------------------------------------------------------------
 */

/* True for a timestamp a tally may hold: finite and in range, or infinity. */
static inline bool
valid_time(TimestampTz ts)
{
	return TIMESTAMP_NOT_FINITE(ts) || IS_VALID_TIMESTAMP(ts);
}

/*
 * Why t is not a tally, or NULL when it is one.  Values of float8 fields
 * must already be canonical (NaN) for the bitwise checks.
 */
static const char *
tally_invalid(const KpiTally *t)
{
	KpiTally	empty;

	if (t->version != KPI_TALLY_VERSION)
		return "unsupported version";
	if ((t->flags & ~KPI_TALLY_UNTIMED) != 0)
		return "unknown flags";
	if (t->count < 0)
		return "count must not be negative";
	if (t->count == 0)
	{
		kpi_tally_init(&empty);
		if (memcmp(t, &empty, sizeof(KpiTally)) != 0)
			return "an empty tally (count=0) has no other fields";
		return NULL;
	}
	if (t->pad[0] | t->pad[1] | t->pad[2] | t->pad[3] | t->pad[4] | t->pad[5])
		return "padding must be zero";
	if ((isfinite(t->sum) && !isfinite(t->comp)) ||
		(isfinite(t->num_sum) && !isfinite(t->num_comp)) ||
		(isfinite(t->den_sum) && !isfinite(t->den_comp)))
		return "the remainder of a finite sum must be finite";
	if (float8_key(t->min) > float8_key(t->max))
		return "min is greater than max";
	if (t->count == 1 && float8_key(t->min) != float8_key(t->max))
		return "a tally of one value has min = max";

	if (t->flags & KPI_TALLY_UNTIMED)
	{
		if (t->first_at != 0 || t->last_at != 0 || t->first != 0.0 || t->last != 0.0)
			return "a tally with untimed values has no first or last";
		return NULL;
	}
	if (!valid_time(t->first_at) || !valid_time(t->last_at))
		return "time out of range";
	if (t->first_at > t->last_at)
		return "first is later than last";
	if (float8_key(t->first) < float8_key(t->min) ||
		float8_key(t->first) > float8_key(t->max) ||
		float8_key(t->last) < float8_key(t->min) ||
		float8_key(t->last) > float8_key(t->max))
		return "first and last must lie between min and max";
	if (t->first_at == t->last_at && float8_key(t->first) > float8_key(t->last))
		return "first and last have the same time, so first must not be greater than last";
	if (t->count == 1 && t->first_at != t->last_at)
		return "a tally of one value has one time";
	return NULL;
}

/* Make every NaN canonical and every compensated sum normalized. */
static void
tally_canonicalize(KpiTally *t)
{
	t->min = canonical(t->min);
	t->max = canonical(t->max);
	t->first = canonical(t->first);
	t->last = canonical(t->last);
	pair_normalize(&t->sum, &t->comp);
	pair_normalize(&t->num_sum, &t->num_comp);
	pair_normalize(&t->den_sum, &t->den_comp);
}

/* ---------------------------------------------------------------------
 * Text form
 *
 *   count=0
 *   count=3, sum=6, min=1, max=3
 *   count=3, sum=6, min=1, max=3, first=2 at 2026-07-01 00:00:00+00,
 *       last=3 at 2026-07-03 08:30:00.5+00, num=6, den=10
 *   count=2, sum=0.30000000000000004 - 2.7755575615628914e-17, ...
 *
 * Numbers shortest-exact; a sum is printed as its rounded value and, when
 * not zero, the exact remainder ("+ r" or "- r"), so nothing is lost.
 * Times are UTC in ISO form whatever DateStyle and TimeZone say, with
 * microseconds when there are any.  first/last are left out when unknown
 * (untimed values), num/den when both are 0.  On input keys may come in any
 * order; times must carry an offset (+00, +08:00, Z), so input does not
 * depend on the session either.
 * ---------------------------------------------------------------------
 */

/* Append x shortest-exact. */
static void
append_float8(StringInfo buf, float8 x)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(x, num);
	appendStringInfoString(buf, num);
}

/* Append a compensated sum: "v", "v + r" or "v - r". */
static void
append_pair(StringInfo buf, float8 s, float8 c)
{
	pair_normalize(&s, &c);
	append_float8(buf, s);
	if (c != 0.0)
	{
		appendStringInfoString(buf, c > 0 ? " + " : " - ");
		append_float8(buf, fabs(c));
	}
}

/* Append a time as "YYYY-MM-DD HH:MM:SS[.ffffff]+00[ BC]" in UTC. */
static void
append_time(StringInfo buf, TimestampTz ts)
{
	struct pg_tm tm;
	fsec_t		fsec;
	char		str[MAXDATELEN + 1];

	if (TIMESTAMP_IS_NOBEGIN(ts))
		appendStringInfoString(buf, "-infinity");
	else if (TIMESTAMP_IS_NOEND(ts))
		appendStringInfoString(buf, "infinity");
	else
	{
		if (timestamp2tm(ts, NULL, &tm, &fsec, NULL, NULL) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
					 errmsg("timestamp out of range")));
		tm.tm_isdst = 0;		/* a known offset (UTC), so it is printed */
		EncodeDateTime(&tm, fsec, true, 0, NULL, USE_ISO_DATES, str);
		appendStringInfoString(buf, str);
	}
}

/* Text output. */
Datum
kpi_tally_out(PG_FUNCTION_ARGS)
{
	KpiTally   *t = PG_GETARG_KPI_TALLY_P(0);
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "count=" INT64_FORMAT, t->count);
	if (t->count > 0)
	{
		appendStringInfoString(&buf, ", sum=");
		append_pair(&buf, t->sum, t->comp);
		appendStringInfoString(&buf, ", min=");
		append_float8(&buf, t->min);
		appendStringInfoString(&buf, ", max=");
		append_float8(&buf, t->max);
		if (!(t->flags & KPI_TALLY_UNTIMED))
		{
			appendStringInfoString(&buf, ", first=");
			append_float8(&buf, t->first);
			appendStringInfoString(&buf, " at ");
			append_time(&buf, t->first_at);
			appendStringInfoString(&buf, ", last=");
			append_float8(&buf, t->last);
			appendStringInfoString(&buf, " at ");
			append_time(&buf, t->last_at);
		}
		if (pair_value(t->num_sum, t->num_comp) != 0.0 || pair_value(t->den_sum, t->den_comp) != 0.0)
		{
			appendStringInfoString(&buf, ", num=");
			append_pair(&buf, t->num_sum, t->num_comp);
			appendStringInfoString(&buf, ", den=");
			append_pair(&buf, t->den_sum, t->den_comp);
		}
	}
	PG_RETURN_CSTRING(buf.data);
}

/* Keys of the text form, in output order. */
typedef enum TallyKey
{
	KEY_COUNT,
	KEY_SUM,
	KEY_MIN,
	KEY_MAX,
	KEY_FIRST,
	KEY_LAST,
	KEY_NUM,
	KEY_DEN,
	KEY_COUNT_OF_KEYS
} TallyKey;

static const char *const tally_keys[KEY_COUNT_OF_KEYS] = {
	"count", "sum", "min", "max", "first", "last", "num", "den"
};

#define KEY_BIT(k) (1 << (k))

/* The whole input, for messages while parsing it. */
typedef struct TallyParse
{
	const char *input;
} TallyParse;

/* Report a syntax error in the text form (22P02), with what went wrong. */
static pg_noreturn void
tally_syntax_error(const TallyParse *ps, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type kpi.tally: \"%s\"", ps->input),
			 errdetail("%s", detail),
			 errhint("A tally looks like \"count=2, sum=3, min=1, max=2, "
					 "first=1 at 2026-07-01 00:00:00+00, last=2 at 2026-07-02 00:00:00+00\".")));
}

/* Report that something else was expected where p points. */
static pg_noreturn void
tally_expected(const TallyParse *ps, const char *what, const char *p)
{
	if (*p == '\0')
		tally_syntax_error(ps, psprintf("Expected %s at the end of the input.", what));
	tally_syntax_error(ps, psprintf("Expected %s at \"%s\".", what, p));
}

/* Skip white space. */
static inline char *
skip_space(char *p)
{
	while (isspace((unsigned char) *p))
		p++;
	return p;
}

/* Scan a float8 (also NaN, Infinity) at *pp; trailing space is skipped. */
static float8
scan_float8(const TallyParse *ps, char **pp)
{
	char	   *end;
	bool		error;
	float8		x;

	if (**pp == '\0' || **pp == ',')
		tally_expected(ps, "a number", *pp);
	x = kpi_float8in_soft(*pp, &end, "kpi.tally", ps->input, &error);
	if (error)
		tally_expected(ps, "a number", *pp);
	*pp = end;
	return canonical(x);
}

/* Scan a compensated sum "v", "v + r" or "v - r" (r finite, unsigned). */
static void
scan_pair(const TallyParse *ps, char **pp, float8 *s, float8 *c)
{
	char	   *p;
	float8		r;
	bool		negative;

	*s = scan_float8(ps, pp);
	*c = 0.0;
	p = *pp;
	if (*p != '+' && *p != '-')
	{
		pair_normalize(s, c);	/* as with a remainder: -0 becomes +0 */
		return;
	}
	negative = (*p == '-');
	if (!isfinite(*s))
		tally_syntax_error(ps, "A sum that is not finite has no remainder.");
	p = skip_space(p + 1);
	if (!isdigit((unsigned char) *p) && *p != '.')
		tally_expected(ps, "an unsigned remainder", p);
	r = scan_float8(ps, &p);
	if (!isfinite(r))
		tally_syntax_error(ps, "The remainder of a sum must be finite.");
	*c = negative ? -r : r;
	*pp = p;
	pair_normalize(s, c);
}

/* Scan exactly n digits at *pp into *value. */
static bool
scan_digits(char **pp, int n, int *value)
{
	int			v = 0;

	while (n-- > 0)
	{
		if (!isdigit((unsigned char) **pp))
			return false;
		v = v * 10 + (**pp - '0');
		(*pp)++;
	}
	*value = v;
	return true;
}

/*
 * Parse a time: "infinity", "-infinity", or "Y-MM-DD HH:MM:SS[.f]" (or with
 * a "T") followed by an offset ("+00", "-05:30", "Z") and an optional " BC".
 * Strict, so that reading it never depends on DateStyle or TimeZone.
 * Returns false when the text is not such a time.
 */
static bool
parse_time(char *str, TimestampTz *result)
{
	struct pg_tm tm;
	fsec_t		fsec = 0;
	int			tz = 0;
	int			year = 0;
	int			digits;
	char	   *p = str;
	char	   *zone;
	char		save;

	if (pg_strcasecmp(str, "infinity") == 0 || pg_strcasecmp(str, "+infinity") == 0)
	{
		TIMESTAMP_NOEND(*result);
		return true;
	}
	if (pg_strcasecmp(str, "-infinity") == 0)
	{
		TIMESTAMP_NOBEGIN(*result);
		return true;
	}

	memset(&tm, 0, sizeof(tm));
	for (digits = 0; isdigit((unsigned char) *p) && digits < 7; digits++, p++)
		year = year * 10 + (*p - '0');
	if (digits < 4 || year < 1 || *p++ != '-' ||
		!scan_digits(&p, 2, &tm.tm_mon) || *p++ != '-' ||
		!scan_digits(&p, 2, &tm.tm_mday))
		return false;
	if (*p != ' ' && *p != 'T')
		return false;
	p++;
	if (!scan_digits(&p, 2, &tm.tm_hour) || *p++ != ':' ||
		!scan_digits(&p, 2, &tm.tm_min) || *p++ != ':' ||
		!scan_digits(&p, 2, &tm.tm_sec))
		return false;
	if (*p == '.')
	{
		int			scale = 100000;

		p++;
		if (!isdigit((unsigned char) *p))
			return false;
		for (digits = 0; isdigit((unsigned char) *p); digits++, p++)
		{
			if (digits >= MAX_TIMESTAMP_PRECISION)
				return false;	/* more than microseconds: not exact */
			fsec += (*p - '0') * scale;
			scale /= 10;
		}
	}

	/* The offset: "Z", or a sign and hours[:minutes[:seconds]]. */
	if (*p == 'Z' || *p == 'z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		zone = p++;
		while (isdigit((unsigned char) *p) || *p == ':')
			p++;
		save = *p;
		*p = '\0';
		if (DecodeTimezone(zone, &tz) != 0)
			return false;
		*p = save;
	}
	else
		return false;

	tm.tm_year = year;
	if (*p == ' ')
	{
		p = skip_space(p);
		if (pg_strcasecmp(p, "BC") != 0)
			return false;
		tm.tm_year = -(year - 1);	/* 1 BC is year 0 */
		p += 2;
	}
	if (*p != '\0')
		return false;

	if (tm.tm_mon < 1 || tm.tm_mon > MONTHS_PER_YEAR ||
		tm.tm_mday < 1 || tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1] ||
		tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return false;
	if (tm2timestamp(&tm, fsec, &tz, result) != 0 || !IS_VALID_TIMESTAMP(*result))
		return false;
	return true;
}

/* Scan " at <time>" up to the next comma or the end of the input. */
static TimestampTz
scan_at_time(const TallyParse *ps, char **pp)
{
	char	   *p = *pp;
	char	   *end;
	char	   *time;
	TimestampTz result;

	if (pg_strncasecmp(p, "at", 2) != 0 || !(isspace((unsigned char) p[2])))
		tally_expected(ps, "\"at\" and a time", p);
	p = skip_space(p + 2);
	end = strchr(p, ',');
	if (end == NULL)
		end = p + strlen(p);
	while (end > p && isspace((unsigned char) end[-1]))
		end--;
	time = pnstrdup(p, end - p);
	if (!parse_time(time, &result))
		tally_syntax_error(ps, psprintf("Invalid time \"%s\": expected a time such as "
										"\"2026-07-01 08:00:00+00\", with an offset.",
										time));
	pfree(time);
	*pp = end;
	return result;
}

/* Scan the value of count: a whole number >= 0. */
static int64
scan_count(const TallyParse *ps, char **pp)
{
	char	   *end;
	int64		n;

	if (!isdigit((unsigned char) **pp))
		tally_syntax_error(ps, "count must be a whole number, 0 or more.");
	errno = 0;
	n = strtoi64(*pp, &end, 10);
	if (errno == ERANGE)
		tally_syntax_error(ps, "count is out of range.");
	*pp = end;
	return n;
}

/* Parse the text form into t, checking that it is a consistent tally. */
static void
tally_parse(const char *input, KpiTally *t)
{
	TallyParse	ps = {input};
	char	   *p = pstrdup(input);
	int			seen = 0;
	const char *why;

	kpi_tally_init(t);
	p = skip_space(p);
	if (*p == '\0')
		tally_syntax_error(&ps, "The input is empty; an empty tally is \"count=0\".");

	for (;;)
	{
		char	   *word = p;
		int			key;

		while (isalpha((unsigned char) *p))
			p++;
		for (key = 0; key < KEY_COUNT_OF_KEYS; key++)
			if ((size_t) (p - word) == strlen(tally_keys[key]) &&
				strncmp(word, tally_keys[key], p - word) == 0)
				break;
		if (key == KEY_COUNT_OF_KEYS)
			tally_expected(&ps, "one of count, sum, min, max, first, last, num, den", word);
		if (seen & KEY_BIT(key))
			tally_syntax_error(&ps, psprintf("\"%s\" appears twice.", tally_keys[key]));
		seen |= KEY_BIT(key);

		p = skip_space(p);
		if (*p != '=')
			tally_expected(&ps, "\"=\"", p);
		p = skip_space(p + 1);

		switch ((TallyKey) key)
		{
			case KEY_COUNT:
				t->count = scan_count(&ps, &p);
				break;
			case KEY_SUM:
				scan_pair(&ps, &p, &t->sum, &t->comp);
				break;
			case KEY_MIN:
				t->min = scan_float8(&ps, &p);
				break;
			case KEY_MAX:
				t->max = scan_float8(&ps, &p);
				break;
			case KEY_FIRST:
				t->first = scan_float8(&ps, &p);
				t->first_at = scan_at_time(&ps, &p);
				break;
			case KEY_LAST:
				t->last = scan_float8(&ps, &p);
				t->last_at = scan_at_time(&ps, &p);
				break;
			case KEY_NUM:
				scan_pair(&ps, &p, &t->num_sum, &t->num_comp);
				break;
			case KEY_DEN:
				scan_pair(&ps, &p, &t->den_sum, &t->den_comp);
				break;
			case KEY_COUNT_OF_KEYS:
				break;
		}

		p = skip_space(p);
		if (*p == '\0')
			break;
		if (*p != ',')
			tally_expected(&ps, "\",\" or the end of the input", p);
		p = skip_space(p + 1);
	}

	/* Which keys go together. */
	if (!(seen & KEY_BIT(KEY_COUNT)))
		tally_syntax_error(&ps, "count is missing.");
	if (t->count == 0 && seen != KEY_BIT(KEY_COUNT))
		tally_syntax_error(&ps, "An empty tally (count=0) has no other fields.");
	if (t->count > 0)
	{
		int			need = KEY_BIT(KEY_SUM) | KEY_BIT(KEY_MIN) | KEY_BIT(KEY_MAX);
		int			timed = KEY_BIT(KEY_FIRST) | KEY_BIT(KEY_LAST);
		int			ratio = KEY_BIT(KEY_NUM) | KEY_BIT(KEY_DEN);

		if ((seen & need) != need)
			tally_syntax_error(&ps, "A tally with values needs sum, min and max.");
		if ((seen & timed) != 0 && (seen & timed) != timed)
			tally_syntax_error(&ps, "first and last go together.");
		if ((seen & ratio) != 0 && (seen & ratio) != ratio)
			tally_syntax_error(&ps, "num and den go together.");
		if ((seen & timed) == 0)
			t->flags |= KPI_TALLY_UNTIMED;
	}

	why = tally_invalid(t);
	if (why != NULL)
		tally_syntax_error(&ps, psprintf("Not a consistent tally: %s.", why));
}

/* Text input. */
Datum
kpi_tally_in(PG_FUNCTION_ARGS)
{
	char	   *str = PG_GETARG_CSTRING(0);
	KpiTally   *t = palloc(sizeof(KpiTally));

	tally_parse(str, t);
	PG_RETURN_KPI_TALLY_P(t);
}

/* ---------------------------------------------------------------------
 * Binary form: version, flags, count, then the fields in declaration order
 * (sums normalized as in the text form).
 * ---------------------------------------------------------------------
 */

/* Binary output. */
Datum
kpi_tally_send(PG_FUNCTION_ARGS)
{
	KpiTally	t = *PG_GETARG_KPI_TALLY_P(0);
	StringInfoData buf;

	tally_canonicalize(&t);
	pq_begintypsend(&buf);
	pq_sendbyte(&buf, t.version);
	pq_sendbyte(&buf, t.flags);
	pq_sendint64(&buf, t.count);
	pq_sendfloat8(&buf, t.sum);
	pq_sendfloat8(&buf, t.comp);
	pq_sendfloat8(&buf, t.min);
	pq_sendfloat8(&buf, t.max);
	pq_sendint64(&buf, t.first_at);
	pq_sendfloat8(&buf, t.first);
	pq_sendint64(&buf, t.last_at);
	pq_sendfloat8(&buf, t.last);
	pq_sendfloat8(&buf, t.num_sum);
	pq_sendfloat8(&buf, t.num_comp);
	pq_sendfloat8(&buf, t.den_sum);
	pq_sendfloat8(&buf, t.den_comp);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* Binary input: the same checks as text input (errors are 22P03). */
Datum
kpi_tally_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	KpiTally   *t = palloc0(sizeof(KpiTally));
	const char *why;

	t->version = pq_getmsgbyte(buf);
	if (t->version != KPI_TALLY_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported kpi.tally binary format version %d", t->version)));
	t->flags = pq_getmsgbyte(buf);
	t->count = pq_getmsgint64(buf);
	t->sum = pq_getmsgfloat8(buf);
	t->comp = pq_getmsgfloat8(buf);
	t->min = pq_getmsgfloat8(buf);
	t->max = pq_getmsgfloat8(buf);
	t->first_at = pq_getmsgint64(buf);
	t->first = pq_getmsgfloat8(buf);
	t->last_at = pq_getmsgint64(buf);
	t->last = pq_getmsgfloat8(buf);
	t->num_sum = pq_getmsgfloat8(buf);
	t->num_comp = pq_getmsgfloat8(buf);
	t->den_sum = pq_getmsgfloat8(buf);
	t->den_comp = pq_getmsgfloat8(buf);

	t->min = canonical(t->min);
	t->max = canonical(t->max);
	t->first = canonical(t->first);
	t->last = canonical(t->last);
	why = tally_invalid(t);
	if (why != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid binary data for type kpi.tally"),
				 errdetail("Not a consistent tally: %s.", why)));
	tally_canonicalize(t);
	PG_RETURN_KPI_TALLY_P(t);
}

/* ---------------------------------------------------------------------
 * Aggregate support
 * ---------------------------------------------------------------------
 */

/* The state to update: argument 0 itself when an aggregate calls us (it
 * owns the state), else a copy, since arguments must not be changed. */
static inline KpiTally *
tally_state(FunctionCallInfo fcinfo)
{
	KpiTally   *t = PG_GETARG_KPI_TALLY_P(0);
	KpiTally   *copy;

	if (AggCheckCallContext(fcinfo, NULL))
		return t;
	copy = palloc(sizeof(KpiTally));
	memcpy(copy, t, sizeof(KpiTally));
	return copy;
}

/* kpi.tally_add(t, value): transition of kpi.tally(value). */
Datum
kpi_tally_step(PG_FUNCTION_ARGS)
{
	KpiTally   *t = tally_state(fcinfo);

	tally_add_row(t, PG_GETARG_FLOAT8(1), 0, false);
	PG_RETURN_KPI_TALLY_P(t);
}

/* kpi.tally_add(t, value, at): transition of kpi.tally(value, at). */
Datum
kpi_tally_step_at(PG_FUNCTION_ARGS)
{
	KpiTally   *t = tally_state(fcinfo);

	tally_add_row(t, PG_GETARG_FLOAT8(1), PG_GETARG_TIMESTAMPTZ(2), true);
	PG_RETURN_KPI_TALLY_P(t);
}

/* kpi.tally_add(t, num, den, at): transition of kpi.tally(num, den, at). */
Datum
kpi_tally_step_ratio(PG_FUNCTION_ARGS)
{
	KpiTally   *t = tally_state(fcinfo);

	kpi_tally_add_ratio(t, PG_GETARG_FLOAT8(1), PG_GETARG_FLOAT8(2),
						  PG_GETARG_TIMESTAMPTZ(3));
	PG_RETURN_KPI_TALLY_P(t);
}

/* kpi.merge(t1, t2) and t1 + t2: the two tallies merged.  Also the
 * transition of kpi.merge(tally) and the combine function of every tally
 * aggregate. */
Datum
kpi_tally_pl(PG_FUNCTION_ARGS)
{
	KpiTally   *t = tally_state(fcinfo);

	kpi_tally_merge(t, PG_GETARG_KPI_TALLY_P(1));
	PG_RETURN_KPI_TALLY_P(t);
}

/* ---------------------------------------------------------------------
 * Reading a tally
 * ---------------------------------------------------------------------
 */

/* kpi.agg_kind values seen by one call site, so the catalog is read once
 * per label (kept in fn_extra). */
typedef struct AggKindCache
{
	int			n;
	Oid			oid[KPI_AGG_KIND_COUNT];
	KpiAggKind	kind[KPI_AGG_KIND_COUNT];
} AggKindCache;

/* The KpiAggKind of an enum value, through the call site's cache. */
static KpiAggKind
agg_kind_cached(FunctionCallInfo fcinfo, Oid label_oid)
{
	AggKindCache *cache = (AggKindCache *) fcinfo->flinfo->fn_extra;
	KpiAggKind	kind;
	int			i;

	if (cache == NULL)
	{
		cache = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(AggKindCache));
		fcinfo->flinfo->fn_extra = cache;
	}
	for (i = 0; i < cache->n; i++)
		if (cache->oid[i] == label_oid)
			return cache->kind[i];

	kind = kpi_agg_kind_from_oid(label_oid);
	if (cache->n < KPI_AGG_KIND_COUNT)
	{
		cache->oid[cache->n] = label_oid;
		cache->kind[cache->n] = kind;
		cache->n++;
	}
	return kind;
}

/* kpi.value(t, kind): the tally read as sum, avg, min, max, first, last,
 * count or ratio; NULL where kpi_tally_value says so. */
Datum
kpi_value(PG_FUNCTION_ARGS)
{
	KpiTally   *t = PG_GETARG_KPI_TALLY_P(0);
	KpiAggKind	kind = agg_kind_cached(fcinfo, PG_GETARG_OID(1));
	bool		isnull;
	float8		result = kpi_tally_value(t, kind, &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(result);
}

/*
 * The two parts a tally read as kind divides: a ratio's numerator and
 * denominator sums, an average's sum and count; any other kind is its
 * value over 1.  What a mix/rate analysis weighs segments by (kpi.explain).
 * False (NULL parts) where kpi.value is NULL, except a ratio whose
 * denominators sum to 0, whose parts are still known.
 */
static bool
tally_parts(const KpiTally *t, KpiAggKind kind, float8 *num, float8 *den)
{
	bool		isnull;

	if (kind == KPI_AGG_RATIO || kind == KPI_AGG_AVG)
	{
		if (t->count == 0)
			return false;
		*num = (kind == KPI_AGG_RATIO) ? pair_value(t->num_sum, t->num_comp) : pair_value(t->sum, t->comp);
		*den = (kind == KPI_AGG_RATIO) ? pair_value(t->den_sum, t->den_comp) : (float8) t->count;
		return true;
	}
	*num = kpi_tally_value(t, kind, &isnull);
	*den = 1.0;
	return !isnull;
}

PG_FUNCTION_INFO_V1(kpi_numerator);
/* kpi.numerator(t, kind): what the tally's value divides (see tally_parts). */
Datum
kpi_numerator(PG_FUNCTION_ARGS)
{
	float8		num,
				den;

	if (!tally_parts(PG_GETARG_KPI_TALLY_P(0), agg_kind_cached(fcinfo, PG_GETARG_OID(1)), &num, &den))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(num);
}

PG_FUNCTION_INFO_V1(kpi_denominator);
/* kpi.denominator(t, kind): what the tally's value divides by (see tally_parts). */
Datum
kpi_denominator(PG_FUNCTION_ARGS)
{
	float8		num,
				den;

	if (!tally_parts(PG_GETARG_KPI_TALLY_P(0), agg_kind_cached(fcinfo, PG_GETARG_OID(1)), &num, &den))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(den);
}

/* kpi.first_at(t): the time of the first value; NULL when unknown. */
Datum
kpi_tally_first_at(PG_FUNCTION_ARGS)
{
	KpiTally   *t = PG_GETARG_KPI_TALLY_P(0);

	if (t->count == 0 || (t->flags & KPI_TALLY_UNTIMED))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(t->first_at);
}

/* kpi.last_at(t): the time of the last value; NULL when unknown. */
Datum
kpi_tally_last_at(PG_FUNCTION_ARGS)
{
	KpiTally   *t = PG_GETARG_KPI_TALLY_P(0);

	if (t->count == 0 || (t->flags & KPI_TALLY_UNTIMED))
		PG_RETURN_NULL();
	PG_RETURN_TIMESTAMPTZ(t->last_at);
}
