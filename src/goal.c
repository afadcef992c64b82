/*
 * goal.c
 *	  kpi.goal: a target with a direction (higher is better, lower is better,
 *	  or within an inclusive range), optionally measured from a baseline, and
 *	  the attainment, meets and pace calculations against it.
 *
 * A goal is a fixed 24-byte value (see KpiGoal in kpi.h).  Every goal is
 * built by goal_make(), which checks its meaning and zeroes the unused bytes,
 * so equal goals are equal byte for byte and can be hashed as such.
 *
 * This file also holds the number scanner and printer that kpi.bands shares:
 * input accepts plain decimal numbers only (no NaN, Infinity or hex), output
 * is shortest-exact like float8out.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "common/hashfn.h"
#include "common/shortest_dec.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/float.h"

#include "kpi.h"

/* The on-disk size is fixed by the SQL type (INTERNALLENGTH = 24). */
StaticAssertDecl(sizeof(KpiGoal) == 24, "kpi.goal must be 24 bytes");

#define GOAL_FORMS_HINT \
	"Write \">= target\", \"<= target\", \"lo .. hi\", or \">= target from baseline\" / \"<= target from baseline\", for example \">= 1200\", \"<= 3.5\", \"95 .. 105\", \">= 1200 from 1000\", \"<= 3 from 5\". Numbers are finite decimals such as 1200, 3.5 or 1e6."

PG_FUNCTION_INFO_V1(kpi_goal_in);
PG_FUNCTION_INFO_V1(kpi_goal_out);
PG_FUNCTION_INFO_V1(kpi_goal_recv);
PG_FUNCTION_INFO_V1(kpi_goal_send);
PG_FUNCTION_INFO_V1(kpi_goal_make);
PG_FUNCTION_INFO_V1(kpi_goal_range);
PG_FUNCTION_INFO_V1(kpi_goal_direction);
PG_FUNCTION_INFO_V1(kpi_goal_target);
PG_FUNCTION_INFO_V1(kpi_goal_baseline);
PG_FUNCTION_INFO_V1(kpi_goal_hash);
PG_FUNCTION_INFO_V1(kpi_goal_hash_extended);
PG_FUNCTION_INFO_V1(kpi_attainment);
PG_FUNCTION_INFO_V1(kpi_goal_meets);
PG_FUNCTION_INFO_V1(kpi_goal_contains);
PG_FUNCTION_INFO_V1(kpi_pace);

/* ---------------------------------------------------------------------
 * Numbers: scanning and printing (shared with bands.c)
 * ---------------------------------------------------------------------
 */

/*
 * Scan one decimal number at *pp: [sign] digits [. digits] [e [sign] digits],
 * with at least one digit before the exponent.  A '.' directly followed by
 * another '.' is left alone, so "95..105" reads as 95, "..", 105.
 *
 * Returns false, with *pp unchanged, if no number starts there.  Otherwise
 * advances *pp past the number and stores its value.  A number too large (or
 * too small, but not zero) for float8 is a 22003 error naming typname.
 */
bool
kpi_scan_float8(const char **pp, float8 *result, const char *typname)
{
	const char *p = *pp;
	const char *start = p;
	bool		digits = false;
	char	   *num;
	char	   *end;
	float8		val;

	if (*p == '+' || *p == '-')
		p++;
	while (isdigit((unsigned char) *p))
	{
		p++;
		digits = true;
	}
	if (*p == '.' && p[1] != '.')
	{
		p++;
		while (isdigit((unsigned char) *p))
		{
			p++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E')
	{
		const char *q = p + 1;

		if (*q == '+' || *q == '-')
			q++;
		if (isdigit((unsigned char) *q))
		{
			while (isdigit((unsigned char) *q))
				q++;
			p = q;
		}
	}

	/* strtod on exactly the span we accepted, so it cannot see more. */
	num = pnstrdup(start, p - start);
	errno = 0;
	val = strtod(num, &end);
	Assert(*end == '\0');
	if (errno == ERANGE && (val == 0.0 || isinf(val)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("number \"%s\" is out of range for type %s", num, typname),
				 errdetail("Numbers must fit in double precision.")));
	pfree(num);

	/* -0 and 0 are the same threshold; keep one spelling so hashes agree. */
	*result = (val == 0.0) ? 0.0 : val;
	*pp = p;
	return true;
}

/* Append x to buf, printed shortest-exact (as float8out does). */
void
kpi_append_float8(StringInfo buf, float8 x)
{
	char		num[DOUBLE_SHORTEST_DECIMAL_LEN];

	double_to_shortest_decimal_buf(x, num);
	appendStringInfoString(buf, num);
}

/* x printed shortest-exact, in a palloc'd string (for messages). */
static char *
float8_str(float8 x)
{
	char	   *num = palloc(DOUBLE_SHORTEST_DECIMAL_LEN);

	double_to_shortest_decimal_buf(x, num);
	return num;
}

/* Skip white space. */
static inline const char *
skip_space(const char *p)
{
	while (isspace((unsigned char) *p))
		p++;
	return p;
}

/* ---------------------------------------------------------------------
 * Building and checking goals
 * ---------------------------------------------------------------------
 */

/*
 * Build a goal from its parts, after checking that it means something:
 * finite numbers, lo < hi for a range, a baseline on the far side of the
 * target.  Every goal, whatever its source (text, binary, constructors), is
 * built here, so the rules live in one place.  Errors are 22023.
 */
static KpiGoal *
goal_make(KpiDirection dir, bool has_baseline, float8 a, float8 b)
{
	KpiGoal    *g;

	Assert(dir == KPI_DIR_HIGHER || dir == KPI_DIR_LOWER || dir == KPI_DIR_RANGE);
	Assert(!(dir == KPI_DIR_RANGE && has_baseline));

	if (!isfinite(a) || ((has_baseline || dir == KPI_DIR_RANGE) && !isfinite(b)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kpi.goal numbers must be finite"),
				 errdetail("NaN and Infinity cannot be a target, a bound or a baseline.")));

	if (dir == KPI_DIR_RANGE && !(a < b))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("lower bound of a kpi.goal range must be less than its upper bound"),
				 errdetail("Got %s .. %s.", float8_str(a), float8_str(b))));

	if (has_baseline && dir == KPI_DIR_HIGHER && !(b < a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("baseline of a higher-is-better kpi.goal must be below its target"),
				 errdetail("Got target %s and baseline %s.", float8_str(a), float8_str(b))));

	if (has_baseline && dir == KPI_DIR_LOWER && !(b > a))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("baseline of a lower-is-better kpi.goal must be above its target"),
				 errdetail("Got target %s and baseline %s.", float8_str(a), float8_str(b))));

	g = (KpiGoal *) palloc0(sizeof(KpiGoal));
	g->version = KPI_GOAL_VERSION;
	g->direction = (uint8) dir;
	g->has_baseline = has_baseline ? 1 : 0;
	/* Normalise -0 to 0 and zero the unused number: equal goals, equal bytes. */
	g->a = (a == 0.0) ? 0.0 : a;
	g->b = (has_baseline || dir == KPI_DIR_RANGE) ? ((b == 0.0) ? 0.0 : b) : 0.0;
	return g;
}

/* Raise the 22P02 syntax error for goal text str; detail says what is wrong at p. */
static pg_noreturn void
goal_syntax_error(const char *str, const char *p, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type kpi.goal: \"%s\"", str),
			 *p ? errdetail("Expected %s at \"%s\".", expected, p)
			 : errdetail("Expected %s at the end of the input.", expected),
			 errhint(GOAL_FORMS_HINT)));
}

/* Parse the text form of a goal. */
static KpiGoal *
goal_parse(const char *str)
{
	const char *p = skip_space(str);
	KpiDirection dir;
	bool		has_baseline = false;
	float8		a;
	float8		b = 0.0;

	if (p[0] == '>' && p[1] == '=')
	{
		dir = KPI_DIR_HIGHER;
		p += 2;
	}
	else if (p[0] == '<' && p[1] == '=')
	{
		dir = KPI_DIR_LOWER;
		p += 2;
	}
	else
		dir = KPI_DIR_RANGE;

	p = skip_space(p);
	if (!kpi_scan_float8(&p, &a, "kpi.goal"))
		goal_syntax_error(str, p, dir == KPI_DIR_RANGE ?
						  "\">=\", \"<=\" or a number" : "a number");
	p = skip_space(p);

	if (dir == KPI_DIR_RANGE)
	{
		if (p[0] != '.' || p[1] != '.')
			goal_syntax_error(str, p, "\"..\"");
		p = skip_space(p + 2);
		if (!kpi_scan_float8(&p, &b, "kpi.goal"))
			goal_syntax_error(str, p, "a number");
	}
	else if (pg_strncasecmp(p, "from", 4) == 0)
	{
		p = skip_space(p + 4);
		if (!kpi_scan_float8(&p, &b, "kpi.goal"))
			goal_syntax_error(str, p, "a number");
		has_baseline = true;
	}

	p = skip_space(p);
	if (*p != '\0')
		goal_syntax_error(str, p, dir == KPI_DIR_RANGE ?
						  "the end of the goal" : "\"from\" or the end of the goal");

	return goal_make(dir, has_baseline, a, b);
}

/* ---------------------------------------------------------------------
 * I/O
 * ---------------------------------------------------------------------
 */

/* Text input: ">= 1200", "<= 3.5", "95 .. 105", ">= 1200 from 1000". */
Datum
kpi_goal_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(goal_parse(PG_GETARG_CSTRING(0)));
}

/* Text output, canonical and shortest-exact. */
Datum
kpi_goal_out(PG_FUNCTION_ARGS)
{
	KpiGoal    *g = PG_GETARG_KPI_GOAL_P(0);
	StringInfoData buf;

	initStringInfo(&buf);
	switch ((KpiDirection) g->direction)
	{
		case KPI_DIR_HIGHER:
		case KPI_DIR_LOWER:
			appendStringInfoString(&buf, g->direction == KPI_DIR_HIGHER ? ">= " : "<= ");
			kpi_append_float8(&buf, g->a);
			if (g->has_baseline)
			{
				appendStringInfoString(&buf, " from ");
				kpi_append_float8(&buf, g->b);
			}
			break;
		case KPI_DIR_RANGE:
			kpi_append_float8(&buf, g->a);
			appendStringInfoString(&buf, " .. ");
			kpi_append_float8(&buf, g->b);
			break;
	}
	PG_RETURN_CSTRING(buf.data);
}

/*
 * Binary input: version byte, direction byte, has_baseline byte, float8 a,
 * float8 b.  Malformed bytes are 22P03; the meaning is then checked exactly
 * as for text input.
 */
Datum
kpi_goal_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	int			dir = pq_getmsgbyte(buf);
	int			has_baseline = pq_getmsgbyte(buf);
	float8		a = pq_getmsgfloat8(buf);
	float8		b = pq_getmsgfloat8(buf);

	if (version != KPI_GOAL_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported kpi.goal binary format version %d", version),
				 errdetail("This build of kpi reads version %d.", KPI_GOAL_VERSION)));
	if (dir != KPI_DIR_HIGHER && dir != KPI_DIR_LOWER && dir != KPI_DIR_RANGE)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid direction %d in binary kpi.goal", dir)));
	if (has_baseline != 0 && has_baseline != 1)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid baseline flag %d in binary kpi.goal", has_baseline)));
	if (dir == KPI_DIR_RANGE && has_baseline)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("binary kpi.goal range cannot have a baseline")));

	PG_RETURN_POINTER(goal_make((KpiDirection) dir, has_baseline == 1, a, b));
}

/* Binary output; see kpi_goal_recv for the layout. */
Datum
kpi_goal_send(PG_FUNCTION_ARGS)
{
	KpiGoal    *g = PG_GETARG_KPI_GOAL_P(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, KPI_GOAL_VERSION);
	pq_sendbyte(&buf, g->direction);
	pq_sendbyte(&buf, g->has_baseline);
	pq_sendfloat8(&buf, g->a);
	pq_sendfloat8(&buf, g->b);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---------------------------------------------------------------------
 * Constructors and accessors
 * ---------------------------------------------------------------------
 */

/*
 * kpi.goal(target, direction, baseline DEFAULT NULL): not strict, because a
 * NULL baseline means "no baseline"; a NULL target or direction gives NULL.
 */
Datum
kpi_goal_make(PG_FUNCTION_ARGS)
{
	char	   *dirname;
	KpiDirection dir;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();

	dirname = text_to_cstring(PG_GETARG_TEXT_PP(1));
	if (pg_strcasecmp(dirname, "higher") == 0)
		dir = KPI_DIR_HIGHER;
	else if (pg_strcasecmp(dirname, "lower") == 0)
		dir = KPI_DIR_LOWER;
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown kpi.goal direction \"%s\"", dirname),
				 errhint("Use \"higher\" or \"lower\"; for a range use kpi.goal_range(lo, hi).")));

	PG_RETURN_POINTER(goal_make(dir, !PG_ARGISNULL(2), PG_GETARG_FLOAT8(0),
								PG_ARGISNULL(2) ? 0.0 : PG_GETARG_FLOAT8(2)));
}

/* kpi.goal_range(lo, hi): within [lo, hi], lo < hi. */
Datum
kpi_goal_range(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(goal_make(KPI_DIR_RANGE, false,
								PG_GETARG_FLOAT8(0), PG_GETARG_FLOAT8(1)));
}

/* kpi.direction(g): 'higher', 'lower' or 'range'. */
Datum
kpi_goal_direction(PG_FUNCTION_ARGS)
{
	KpiGoal    *g = PG_GETARG_KPI_GOAL_P(0);

	switch ((KpiDirection) g->direction)
	{
		case KPI_DIR_HIGHER:
			PG_RETURN_TEXT_P(cstring_to_text("higher"));
		case KPI_DIR_LOWER:
			PG_RETURN_TEXT_P(cstring_to_text("lower"));
		case KPI_DIR_RANGE:
			break;
	}
	PG_RETURN_TEXT_P(cstring_to_text("range"));
}

/* The target of a goal; for a range, its midpoint. */
float8
kpi_goal_target_value(const KpiGoal *g)
{
	if (g->direction == KPI_DIR_RANGE)
	{
		/* lo + (hi - lo) / 2 cannot overflow when hi - lo does not. */
		float8		width = g->b - g->a;

		return isinf(width) ? g->a / 2 + g->b / 2 : g->a + width / 2;
	}
	return g->a;
}

/* kpi.target(g): the target; for a range, its midpoint. */
Datum
kpi_goal_target(PG_FUNCTION_ARGS)
{
	PG_RETURN_FLOAT8(kpi_goal_target_value(PG_GETARG_KPI_GOAL_P(0)));
}

/* kpi.baseline(g): the baseline, NULL if there is none. */
Datum
kpi_goal_baseline(PG_FUNCTION_ARGS)
{
	KpiGoal    *g = PG_GETARG_KPI_GOAL_P(0);

	if (!g->has_baseline)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(g->b);
}

/* ---------------------------------------------------------------------
 * Comparison and hashing
 *
 * The order has no business meaning; it exists so that rows holding goals
 * can be sorted, grouped, indexed and compared.  By direction (higher, lower,
 * range), then the first number, then goals without a baseline before goals
 * with one, then the second number.  Numbers are always finite.
 * ---------------------------------------------------------------------
 */

/* Three-way comparison of two goals. */
static int
goal_cmp(const KpiGoal *x, const KpiGoal *y)
{
	if (x->direction != y->direction)
		return x->direction < y->direction ? -1 : 1;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	if (x->has_baseline != y->has_baseline)
		return x->has_baseline < y->has_baseline ? -1 : 1;
	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	return 0;
}

#define GOAL_CMP(fcinfo) \
	goal_cmp(PG_GETARG_KPI_GOAL_P(0), PG_GETARG_KPI_GOAL_P(1))

/* =, <>, <, <=, >, >= and the btree support function 1 */
KPI_BTREE_FUNCS(kpi_goal, GOAL_CMP(fcinfo))

/*
 * The bytes that identify a goal, with pad and unused numbers zeroed and -0
 * folded to 0, so that goals equal under goal_cmp hash alike even if a value
 * came from an older or foreign writer.
 */
static void
goal_canonical(const KpiGoal *g, KpiGoal *c)
{
	memset(c, 0, sizeof(KpiGoal));
	c->version = KPI_GOAL_VERSION;
	c->direction = g->direction;
	c->has_baseline = g->has_baseline;
	c->a = (g->a == 0.0) ? 0.0 : g->a;
	if (g->has_baseline || g->direction == KPI_DIR_RANGE)
		c->b = (g->b == 0.0) ? 0.0 : g->b;
}

/* hash support function 1. */
Datum
kpi_goal_hash(PG_FUNCTION_ARGS)
{
	KpiGoal		c;

	goal_canonical(PG_GETARG_KPI_GOAL_P(0), &c);
	return hash_any((const unsigned char *) &c, sizeof(KpiGoal));
}

/* hash support function 2 (seeded, 64-bit). */
Datum
kpi_goal_hash_extended(PG_FUNCTION_ARGS)
{
	KpiGoal		c;

	goal_canonical(PG_GETARG_KPI_GOAL_P(0), &c);
	return hash_any_extended((const unsigned char *) &c, sizeof(KpiGoal),
							 PG_GETARG_INT64(1));
}

/* ---------------------------------------------------------------------
 * Attainment, meets, pace
 * ---------------------------------------------------------------------
 */

/*
 * (x - y) / (p - q), without spurious overflow: if a difference of two finite
 * numbers overflows, halve everything first (the quotient is the same).
 */
static float8
diff_ratio(float8 x, float8 y, float8 p, float8 q)
{
	float8		num = x - y;
	float8		den = p - q;

	if (isinf(num) || isinf(den))
	{
		num = x / 2 - y / 2;
		den = p / 2 - q / 2;
	}
	return num / den;
}

/*
 * Attainment of actual against goal g (SPEC 1.2).  Sets *isnull when it is
 * undefined: non-finite actual, or a target the formula cannot divide by.
 * Not clamped.  A result too large for float8 is a 22003 error.
 */
float8
kpi_goal_attainment(const KpiGoal *g, float8 actual, bool *isnull)
{
	float8		r = 0.0;

	*isnull = true;
	if (!isfinite(actual))
		return 0.0;

	switch ((KpiDirection) g->direction)
	{
		case KPI_DIR_HIGHER:
			if (g->has_baseline)
				r = diff_ratio(actual, g->b, g->a, g->b);
			else if (g->a > 0)
				r = actual / g->a;
			else
				return 0.0;
			break;

		case KPI_DIR_LOWER:
			if (g->has_baseline)
				r = diff_ratio(g->b, actual, g->b, g->a);
			else if (g->a > 0)
				r = 2.0 - actual / g->a;
			else if (g->a == 0)
				r = (actual <= 0) ? 1.0 : 0.0;
			else
				return 0.0;
			break;

		case KPI_DIR_RANGE:
			if (actual < g->a)
				r = 1.0 - diff_ratio(g->a, actual, g->b, g->a);
			else if (actual > g->b)
				r = 1.0 - diff_ratio(actual, g->b, g->b, g->a);
			else
				r = 1.0;
			break;
	}

	/* 0/0: only a pace goal shrunk to nothing by a tiny progress gets here. */
	if (isnan(r))
		return 0.0;
	if (isinf(r))
		float_overflow_error();
	*isnull = false;
	return r;
}

/* kpi.attainment(actual, g) and the operator actual / g. */
Datum
kpi_attainment(PG_FUNCTION_ARGS)
{
	float8		actual = PG_GETARG_FLOAT8(0);
	KpiGoal    *g = PG_GETARG_KPI_GOAL_P(1);
	bool		isnull;
	float8		r = kpi_goal_attainment(g, actual, &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r);
}

/*
 * Does actual meet g?  NULL for NaN (it is no number); the infinities
 * compare as usual.
 */
static Datum
goal_meets(FunctionCallInfo fcinfo, float8 actual, const KpiGoal *g)
{
	if (isnan(actual))
		PG_RETURN_NULL();
	switch ((KpiDirection) g->direction)
	{
		case KPI_DIR_HIGHER:
			PG_RETURN_BOOL(actual >= g->a);
		case KPI_DIR_LOWER:
			PG_RETURN_BOOL(actual <= g->a);
		case KPI_DIR_RANGE:
			break;
	}
	PG_RETURN_BOOL(g->a <= actual && actual <= g->b);
}

/* kpi.meets(actual, g) and the operator actual <@ g. */
Datum
kpi_goal_meets(PG_FUNCTION_ARGS)
{
	return goal_meets(fcinfo, PG_GETARG_FLOAT8(0), PG_GETARG_KPI_GOAL_P(1));
}

/* kpi.goal_contains(g, actual) and the operator g @> actual. */
Datum
kpi_goal_contains(PG_FUNCTION_ARGS)
{
	return goal_meets(fcinfo, PG_GETARG_FLOAT8(1), PG_GETARG_KPI_GOAL_P(0));
}

/* P(X <= x) for X normal with the given mean and standard deviation > 0. */
static float8
normal_cdf(float8 x, float8 mean, float8 sd)
{
	return 0.5 * erfc(-(x - mean) / (sd * M_SQRT2));
}

/*
 * The probability that a value normally distributed around mean with
 * standard deviation sd meets g (kpi.forecast's chance of making the goal).
 * sd 0 is certainty: 1 or 0 as mean meets g.  *isnull for a NaN or
 * infinite mean, or a negative, NaN or infinite sd.
 */
float8
kpi_goal_probability_value(const KpiGoal *g, float8 mean, float8 sd, bool *isnull)
{
	float8		p;

	*isnull = !isfinite(mean) || !isfinite(sd) || sd < 0;
	if (*isnull)
		return 0.0;
	switch ((KpiDirection) g->direction)
	{
		case KPI_DIR_HIGHER:
			p = (sd == 0) ? (mean >= g->a) : 1.0 - normal_cdf(g->a, mean, sd);
			break;
		case KPI_DIR_LOWER:
			p = (sd == 0) ? (mean <= g->a) : normal_cdf(g->a, mean, sd);
			break;
		default:
			p = (sd == 0) ? (g->a <= mean && mean <= g->b)
				: normal_cdf(g->b, mean, sd) - normal_cdf(g->a, mean, sd);
			break;
	}
	return Min(Max(p, 0.0), 1.0);
}

PG_FUNCTION_INFO_V1(kpi_goal_probability);
/* kpi.probability(mean, sd, g): see kpi_goal_probability_value. */
Datum
kpi_goal_probability(PG_FUNCTION_ARGS)
{
	bool		isnull;
	float8		p = kpi_goal_probability_value(PG_GETARG_KPI_GOAL_P(2), PG_GETARG_FLOAT8(0),
											   PG_GETARG_FLOAT8(1), &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(p);
}

/*
 * The share of the way from baseline b to target t that is due at progress
 * p: b + (t - b) * p, or the same as a weighted mean when t - b overflows.
 */
static float8
due_by(float8 b, float8 t, float8 p)
{
	float8		r = b + (t - b) * p;

	if (!isfinite(r))
		r = b * (1.0 - p) + t * p;
	return r;
}

/*
 * Attainment against the part of the goal due by now (pace).  The target
 * (both bounds of a range) moves from the baseline (0 without one) towards
 * the target in proportion to progress.  progress NaN or outside (0, 1]
 * gives NULL (*isnull).
 */
float8
kpi_goal_pace(const KpiGoal *g, float8 actual, float8 progress, bool *isnull)
{
	KpiGoal		due = *g;

	*isnull = true;
	if (isnan(progress) || progress <= 0.0 || progress > 1.0)
		return 0.0;
	if (due.direction == KPI_DIR_RANGE)
	{
		due.a = due_by(0.0, due.a, progress);
		due.b = due_by(0.0, due.b, progress);
	}
	else
		due.a = due_by(due.has_baseline ? due.b : 0.0, due.a, progress);
	return kpi_goal_attainment(&due, actual, isnull);
}

/* kpi.pace(actual, g, progress): see kpi_goal_pace. */
Datum
kpi_pace(PG_FUNCTION_ARGS)
{
	bool		isnull;
	float8		r = kpi_goal_pace(PG_GETARG_KPI_GOAL_P(1), PG_GETARG_FLOAT8(0),
								  PG_GETARG_FLOAT8(2), &isnull);

	if (isnull)
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(r);
}
