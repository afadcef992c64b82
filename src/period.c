/*
 * period.c
 *	  kpi.period: a calendar period (year, half, quarter, month, ISO week or
 *	  day) in 8 bytes, passed by value.
 *
 * A period is stored as one int64, start_date * KPI_GRAIN_SPAN + grain, with
 * grains numbered longest first.  Plain integer order is then the order the
 * SPEC asks for (start date, then the longer period first), so comparison,
 * hashing and sorting are integer operations.  Shifts and differences work on
 * an "ordinal": the number of periods of the grain since year 0.
 */
#include "postgres.h"

#include <ctype.h>

#include "access/hash.h"
#include "funcapi.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgrprotos.h"
#include "utils/sortsupport.h"
#include "utils/timestamp.h"

#include "kpi.h"

#define KPI_MIN_YEAR 1
#define KPI_MAX_YEAR 9999

static const char *const grain_names[KPI_GRAIN_COUNT] = {
	"year", "half", "quarter", "month", "week", "day"
};

/* Months per period for the month-based grains, indexed by KpiGrain. */
static const int grain_months[KPI_GRAIN_COUNT] = {12, 6, 3, 1, 0, 0};

#define PERIOD_FORMS_HINT \
	"Accepted forms are YYYY, YYYY-Hn, YYYY-Qn, YYYY-MM, YYYY-Www (ISO week) and YYYY-MM-DD, for example 2026, 2026-H2, 2026-Q3, 2026-07, 2026-W05, 2026-07-15."

/* ---------------------------------------------------------------------
 * Packing and calendar arithmetic
 * ---------------------------------------------------------------------
 */

/* Pack a grain and a start date into a period. */
static inline KpiPeriod
period_make(KpiGrain g, DateADT start)
{
	return (int64) start * KPI_GRAIN_SPAN + (int64) g;
}

/* The grain of a period. */
KpiGrain
kpi_period_grain(KpiPeriod p)
{
	return (KpiGrain) (p & (KPI_GRAIN_SPAN - 1));
}

/* The first day of a period. */
DateADT
kpi_period_start(KpiPeriod p)
{
	return (DateADT) ((p - kpi_period_grain(p)) / KPI_GRAIN_SPAN);
}

/* Julian day number of a DateADT, and back. */
static inline int
date_to_jd(DateADT d)
{
	return (int) d + POSTGRES_EPOCH_JDATE;
}

static inline DateADT
jd_to_date(int jd)
{
	return (DateADT) (jd - POSTGRES_EPOCH_JDATE);
}

/* Number of periods of grain g from year 0 to the period starting at jd. */
static int64
period_ordinal(KpiGrain g, int jd)
{
	int			y,
				m,
				d;

	if (g == KPI_GRAIN_WEEK)
		return jd / 7;			/* Julian day 0 is a Monday */
	if (g == KPI_GRAIN_DAY)
		return jd;
	j2date(jd, &y, &m, &d);
	return (int64) y * (12 / grain_months[g]) + (m - 1) / grain_months[g];
}

/* Julian day of the first day of the period with ordinal o. */
static int
ordinal_to_jd(KpiGrain g, int64 o)
{
	int			per_year;

	if (g == KPI_GRAIN_WEEK)
		return (int) (o * 7);
	if (g == KPI_GRAIN_DAY)
		return (int) o;
	per_year = 12 / grain_months[g];
	return date2j((int) (o / per_year), (int) (o % per_year) * grain_months[g] + 1, 1);
}

/*
 * Ordinals of the first and last period of a grain within years 1..9999,
 * computed once per backend.
 */
static void
ordinal_bounds(KpiGrain g, int64 *lo, int64 *hi)
{
	static int64 bounds[KPI_GRAIN_COUNT][2];
	static bool computed = false;

	if (!computed)
	{
		DateADT		first = jd_to_date(date2j(KPI_MIN_YEAR, 1, 1));
		DateADT		last = jd_to_date(date2j(KPI_MAX_YEAR, 12, 31));
		int			i;

		for (i = 0; i < KPI_GRAIN_COUNT; i++)
		{
			bounds[i][0] = period_ordinal(i, date_to_jd(kpi_period_start(
															kpi_period_containing(first, i))));
			bounds[i][1] = period_ordinal(i, date_to_jd(kpi_period_start(
															kpi_period_containing(last, i))));
		}
		computed = true;
	}
	*lo = bounds[g][0];
	*hi = bounds[g][1];
}

/* The last day of a period (inclusive). */
DateADT
kpi_period_end(KpiPeriod p)
{
	KpiGrain	g = kpi_period_grain(p);
	int			jd = date_to_jd(kpi_period_start(p));

	if (g == KPI_GRAIN_DAY)
		return jd_to_date(jd);
	if (g == KPI_GRAIN_WEEK)
		return jd_to_date(jd + 6);
	return jd_to_date(ordinal_to_jd(g, period_ordinal(g, jd) + 1) - 1);
}

/*
 * Shift a period by n periods of its grain.  Returns false, leaving *result
 * alone, when the result would leave years 1..9999.
 */
bool
kpi_period_shift(KpiPeriod p, int64 n, KpiPeriod *result)
{
	KpiGrain	g = kpi_period_grain(p);
	int64		o = period_ordinal(g, date_to_jd(kpi_period_start(p))) + n;
	int64		lo,
				hi;

	ordinal_bounds(g, &lo, &hi);
	if (o < lo || o > hi)
		return false;
	*result = period_make(g, jd_to_date(ordinal_to_jd(g, o)));
	return true;
}

/* Report a date that lies outside the years a period can have. */
static pg_noreturn void
date_out_of_range(DateADT d)
{
	if (DATE_NOT_FINITE(d))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("kpi.period cannot contain an infinite date")));
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
			 errmsg("date %s is out of range for kpi.period",
					DatumGetCString(DirectFunctionCall1(date_out, DateADTGetDatum(d)))),
			 errdetail("Periods lie in years 0001 to 9999.")));
}

/* The period of grain g that contains date d; errors outside years 1..9999. */
KpiPeriod
kpi_period_containing(DateADT d, KpiGrain g)
{
	int			jd,
				y,
				m,
				dd;

	if (DATE_NOT_FINITE(d))
		date_out_of_range(d);
	jd = date_to_jd(d);
	j2date(jd, &y, &m, &dd);
	if (y < KPI_MIN_YEAR || y > KPI_MAX_YEAR)
		date_out_of_range(d);

	switch (g)
	{
		case KPI_GRAIN_DAY:
			return period_make(g, d);
		case KPI_GRAIN_WEEK:
			{
				int			iso_year = date2isoyear(y, m, dd);

				if (iso_year < KPI_MIN_YEAR || iso_year > KPI_MAX_YEAR)
					date_out_of_range(d);
				/* j2day: 0 = Sunday; step back to the Monday */
				return period_make(g, jd_to_date(jd - (j2day(jd) + 6) % 7));
			}
		default:
			return period_make(g, jd_to_date(ordinal_to_jd(g, period_ordinal(g, jd))));
	}
}

/* The grain named name (case-insensitive); unknown names are an error. */
KpiGrain
kpi_grain_from_name(const char *name)
{
	int			i;

	for (i = 0; i < KPI_GRAIN_COUNT; i++)
		if (pg_strcasecmp(name, grain_names[i]) == 0)
			return (KpiGrain) i;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("unknown grain: \"%s\"", name),
			 errhint("Grains are year, half, quarter, month, week and day.")));
	pg_unreachable();
}

/* The name of a grain. */
const char *
kpi_grain_name(KpiGrain g)
{
	return grain_names[g];
}

/* ---------------------------------------------------------------------
 * Text and binary I/O
 * ---------------------------------------------------------------------
 */

/* Report malformed text: SQLSTATE 22007 with the accepted forms. */
static pg_noreturn void
period_syntax_error(const char *str)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
			 errmsg("invalid input syntax for type kpi.period: \"%s\"", str),
			 errhint(PERIOD_FORMS_HINT)));
}

/* Report well-formed text that names no real period: SQLSTATE 22008. */
static pg_noreturn void
period_range_error(const char *str, const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
			 errmsg("kpi.period out of range: \"%s\"", str),
			 errdetail("%s", detail)));
}

/* Read exactly n decimal digits at *pp into *value; false if not there. */
static bool
read_digits(const char **pp, int n, int *value)
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

/* Parse the text form of a period; see the SPEC table of forms. */
static KpiPeriod
period_parse(const char *str)
{
	const char *p = str;
	int			year,
				n,
				month,
				day = 0;
	KpiGrain	g;
	int			jd;

	while (isspace((unsigned char) *p))
		p++;
	if (!read_digits(&p, 4, &year))
		period_syntax_error(str);

	if (*p != '-')
	{
		g = KPI_GRAIN_YEAR;
		n = 1;
	}
	else
	{
		char		c = pg_ascii_toupper((unsigned char) p[1]);

		p += 2;
		if (c == 'H' || c == 'Q')
		{
			g = (c == 'H') ? KPI_GRAIN_HALF : KPI_GRAIN_QUARTER;
			if (!read_digits(&p, 1, &n))
				period_syntax_error(str);
		}
		else if (c == 'W')
		{
			g = KPI_GRAIN_WEEK;
			if (!read_digits(&p, 2, &n))
				period_syntax_error(str);
		}
		else
		{
			p--;
			g = KPI_GRAIN_MONTH;
			if (!read_digits(&p, 2, &n))
				period_syntax_error(str);
			if (*p == '-')
			{
				p++;
				g = KPI_GRAIN_DAY;
				if (!read_digits(&p, 2, &day))
					period_syntax_error(str);
			}
		}
	}
	while (isspace((unsigned char) *p))
		p++;
	if (*p != '\0')
		period_syntax_error(str);

	/* The text is well formed; now check that the period exists. */
	if (year < KPI_MIN_YEAR || year > KPI_MAX_YEAR)
		period_range_error(str, "Year must be between 0001 and 9999.");
	switch (g)
	{
		case KPI_GRAIN_YEAR:
			jd = date2j(year, 1, 1);
			break;
		case KPI_GRAIN_HALF:
			if (n < 1 || n > 2)
				period_range_error(str, "Half must be 1 or 2.");
			jd = date2j(year, (n - 1) * 6 + 1, 1);
			break;
		case KPI_GRAIN_QUARTER:
			if (n < 1 || n > 4)
				period_range_error(str, "Quarter must be between 1 and 4.");
			jd = date2j(year, (n - 1) * 3 + 1, 1);
			break;
		case KPI_GRAIN_WEEK:
			if (n < 1 || n > 53)
				period_range_error(str, "Week must be between 01 and 53.");
			jd = isoweek2j(year, n);
			/* 28 December always lies in the last ISO week of its year */
			if (n == 53 && date2isoweek(year, 12, 28) != 53)
				period_range_error(str, psprintf("ISO year %04d has 52 weeks.", year));
			break;
		case KPI_GRAIN_MONTH:
		case KPI_GRAIN_DAY:
			month = n;
			if (month < 1 || month > 12)
				period_range_error(str, "Month must be between 01 and 12.");
			if (g == KPI_GRAIN_DAY)
			{
				int			mdays = day_tab[isleap(year)][month - 1];

				if (day < 1 || day > mdays)
					period_range_error(str, psprintf("Day must be between 01 and %02d in %04d-%02d.",
													 mdays, year, month));
				jd = date2j(year, month, day);
			}
			else
				jd = date2j(year, month, 1);
			break;
		default:
			pg_unreachable();
	}
	return period_make(g, jd_to_date(jd));
}

/* Write v as exactly `width` decimal digits at buf; return the end. */
static inline char *
put_digits(char *buf, int v, int width)
{
	int			i;

	for (i = width - 1; i >= 0; i--)
	{
		buf[i] = (char) ('0' + v % 10);
		v /= 10;
	}
	return buf + width;
}

/*
 * Format a period in its canonical text form into buf (at least 11 bytes).
 * Digits are written by hand: output is on the path of every COPY and BI read.
 */
static void
period_format(KpiPeriod p, char *buf)
{
	KpiGrain	g = kpi_period_grain(p);
	int			y,
				m,
				d;
	char	   *o = buf;

	j2date(date_to_jd(kpi_period_start(p)), &y, &m, &d);
	if (g == KPI_GRAIN_WEEK)
	{
		o = put_digits(o, date2isoyear(y, m, d), 4);
		*o++ = '-';
		*o++ = 'W';
		o = put_digits(o, date2isoweek(y, m, d), 2);
	}
	else
	{
		o = put_digits(o, y, 4);
		if (g == KPI_GRAIN_HALF || g == KPI_GRAIN_QUARTER)
		{
			*o++ = '-';
			*o++ = (g == KPI_GRAIN_HALF) ? 'H' : 'Q';
			*o++ = (char) ('1' + (m - 1) / grain_months[g]);
		}
		else if (g != KPI_GRAIN_YEAR)
		{
			*o++ = '-';
			o = put_digits(o, m, 2);
			if (g == KPI_GRAIN_DAY)
			{
				*o++ = '-';
				o = put_digits(o, d, 2);
			}
		}
	}
	*o = '\0';
}

/*
 * Check that an int64 is a valid packed period: a known grain, and a start
 * date that is the first day of a period of that grain within years 1..9999.
 */
static bool
period_is_valid(KpiPeriod p)
{
	KpiGrain	g = kpi_period_grain(p);
	DateADT		start = kpi_period_start(p);
	int			y,
				m,
				d;

	if ((int) g >= KPI_GRAIN_COUNT)
		return false;
	if (start < jd_to_date(date2j(KPI_MIN_YEAR, 1, 1)) ||
		start > jd_to_date(date2j(KPI_MAX_YEAR, 12, 31)))
		return false;
	j2date(date_to_jd(start), &y, &m, &d);
	if (g == KPI_GRAIN_WEEK &&
		(date2isoyear(y, m, d) < KPI_MIN_YEAR || date2isoyear(y, m, d) > KPI_MAX_YEAR))
		return false;
	return kpi_period_containing(start, g) == p;
}

PG_FUNCTION_INFO_V1(kpi_period_in);
/* Text input: one of the six forms, case-insensitive, no trailing junk. */
Datum
kpi_period_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_KPI_PERIOD(period_parse(PG_GETARG_CSTRING(0)));
}

PG_FUNCTION_INFO_V1(kpi_period_out);
/* Text output in the canonical form. */
Datum
kpi_period_out(PG_FUNCTION_ARGS)
{
	char	   *buf = palloc(16);

	period_format(PG_GETARG_KPI_PERIOD(0), buf);
	PG_RETURN_CSTRING(buf);
}

PG_FUNCTION_INFO_V1(kpi_period_recv);
/* Binary input: grain byte and int32 start date, validated like text input. */
Datum
kpi_period_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			g = pq_getmsgbyte(buf);
	DateADT		start = (DateADT) pq_getmsgint(buf, 4);
	KpiPeriod	p;

	if (g < 0 || g >= KPI_GRAIN_COUNT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid grain %d in external kpi.period value", g)));
	p = period_make((KpiGrain) g, start);
	if (!period_is_valid(p))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid external kpi.period value"),
				 errdetail("Start date %d does not begin a %s within years 0001 to 9999.",
						   (int) start, grain_names[g])));
	PG_RETURN_KPI_PERIOD(p);
}

PG_FUNCTION_INFO_V1(kpi_period_send);
/* Binary output: grain byte, then the start date as int32 days since 2000-01-01. */
Datum
kpi_period_send(PG_FUNCTION_ARGS)
{
	KpiPeriod	p = PG_GETARG_KPI_PERIOD(0);
	StringInfoData buf;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, (int) kpi_period_grain(p));
	pq_sendint32(&buf, (int32) kpi_period_start(p));
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/* ---------------------------------------------------------------------
 * Constructors and accessors
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kpi_period_from_date);
/* kpi.period(date, grain): the period of grain containing the date. */
Datum
kpi_period_from_date(PG_FUNCTION_ARGS)
{
	DateADT		d = PG_GETARG_DATEADT(0);
	KpiGrain	g = kpi_grain_from_name(text_to_cstring(PG_GETARG_TEXT_PP(1)));

	PG_RETURN_KPI_PERIOD(kpi_period_containing(d, g));
}

PG_FUNCTION_INFO_V1(kpi_period_from_timestamptz);
/* kpi.period(timestamptz, grain): the date is taken in the session time zone. */
Datum
kpi_period_from_timestamptz(PG_FUNCTION_ARGS)
{
	TimestampTz ts = PG_GETARG_TIMESTAMPTZ(0);
	KpiGrain	g = kpi_grain_from_name(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	DateADT		d;

	if (TIMESTAMP_NOT_FINITE(ts))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("kpi.period cannot contain an infinite timestamp")));
	d = DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(ts)));
	PG_RETURN_KPI_PERIOD(kpi_period_containing(d, g));
}

PG_FUNCTION_INFO_V1(kpi_period_grain_text);
/* kpi.grain(p): the grain's name. */
Datum
kpi_period_grain_text(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(grain_names[kpi_period_grain(PG_GETARG_KPI_PERIOD(0))]));
}

PG_FUNCTION_INFO_V1(kpi_period_start_date);
/* kpi.start_date(p): first day. */
Datum
kpi_period_start_date(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(kpi_period_start(PG_GETARG_KPI_PERIOD(0)));
}

PG_FUNCTION_INFO_V1(kpi_period_end_date);
/* kpi.end_date(p): last day, inclusive. */
Datum
kpi_period_end_date(PG_FUNCTION_ARGS)
{
	PG_RETURN_DATEADT(kpi_period_end(PG_GETARG_KPI_PERIOD(0)));
}

/* ---------------------------------------------------------------------
 * Arithmetic
 * ---------------------------------------------------------------------
 */

/* Shift p by n periods or report that the result leaves years 1..9999. */
static KpiPeriod
period_shift_or_error(KpiPeriod p, int64 n)
{
	KpiPeriod	result;

	if (!kpi_period_shift(p, n, &result))
	{
		char		buf[16];

		period_format(p, buf);
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("kpi.period out of range"),
				 errdetail("%s shifted by " INT64_FORMAT " periods is outside years 0001 to 9999.",
						   buf, n)));
	}
	return result;
}

PG_FUNCTION_INFO_V1(kpi_period_pl_int);
/* p + n: n periods later. */
Datum
kpi_period_pl_int(PG_FUNCTION_ARGS)
{
	PG_RETURN_KPI_PERIOD(period_shift_or_error(PG_GETARG_KPI_PERIOD(0), PG_GETARG_INT32(1)));
}

PG_FUNCTION_INFO_V1(kpi_period_mi_int);
/* p - n: n periods earlier. */
Datum
kpi_period_mi_int(PG_FUNCTION_ARGS)
{
	PG_RETURN_KPI_PERIOD(period_shift_or_error(PG_GETARG_KPI_PERIOD(0),
											   -(int64) PG_GETARG_INT32(1)));
}

PG_FUNCTION_INFO_V1(kpi_period_mi);
/* p - q: how many periods q lies before p; both must have the same grain. */
Datum
kpi_period_mi(PG_FUNCTION_ARGS)
{
	KpiPeriod	p = PG_GETARG_KPI_PERIOD(0);
	KpiPeriod	q = PG_GETARG_KPI_PERIOD(1);
	KpiGrain	g = kpi_period_grain(p);

	if (g != kpi_period_grain(q))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cannot subtract periods of different grains: %s and %s",
						grain_names[g], grain_names[kpi_period_grain(q)]),
				 errhint("Convert one side with kpi.period(kpi.start_date(q), grain).")));
	PG_RETURN_INT32((int32) (period_ordinal(g, date_to_jd(kpi_period_start(p))) -
							 period_ordinal(g, date_to_jd(kpi_period_start(q)))));
}

/*
 * The same period a year earlier; false where there is none.  A year,
 * half, quarter or month: a year's worth of periods back.  An ISO week:
 * the week with the same number in the previous ISO year (2026-W05 ->
 * 2025-W05; 365 days back would land in 2025-W04), none for a week 53
 * whose previous year has 52 weeks.  A day: the same date, 29 February
 * going to 28 February.
 */
bool
kpi_period_last_year_of(KpiPeriod p, KpiPeriod *result)
{
	KpiGrain	g = kpi_period_grain(p);
	int			y,
				m,
				d;

	j2date(date_to_jd(kpi_period_start(p)), &y, &m, &d);
	if (g == KPI_GRAIN_WEEK)
	{
		int			iso_year = date2isoyear(y, m, d);
		int			week = date2isoweek(y, m, d);
		int			monday;

		if (iso_year - 1 < KPI_MIN_YEAR)
			return false;
		monday = isoweek2j(iso_year - 1, week);
		j2date(monday, &y, &m, &d);
		if (date2isoweek(y, m, d) != week)
			return false;		/* week 53 of a year of 52 weeks */
		*result = period_make(g, jd_to_date(monday));
		return true;
	}
	if (g == KPI_GRAIN_DAY)
	{
		if (y - 1 < KPI_MIN_YEAR)
			return false;
		if (m == 2 && d == 29)
			d = 28;
		*result = period_make(g, jd_to_date(date2j(y - 1, m, d)));
		return true;
	}
	return kpi_period_shift(p, -(int64) (12 / grain_months[g]), result);
}

PG_FUNCTION_INFO_V1(kpi_period_last_year);
/* kpi.last_year(p): the same period a year earlier, NULL where there is none. */
Datum
kpi_period_last_year(PG_FUNCTION_ARGS)
{
	KpiPeriod	result;

	if (!kpi_period_last_year_of(PG_GETARG_KPI_PERIOD(0), &result))
		PG_RETURN_NULL();
	PG_RETURN_KPI_PERIOD(result);
}

/* ---------------------------------------------------------------------
 * Containment and overlap of the date ranges
 * ---------------------------------------------------------------------
 */

/* Does p cover every day of q? */
static inline bool
period_contains(KpiPeriod p, KpiPeriod q)
{
	return kpi_period_start(p) <= kpi_period_start(q) &&
		kpi_period_end(q) <= kpi_period_end(p);
}

PG_FUNCTION_INFO_V1(kpi_period_contains);
/* p @> q */
Datum
kpi_period_contains(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(period_contains(PG_GETARG_KPI_PERIOD(0), PG_GETARG_KPI_PERIOD(1)));
}

PG_FUNCTION_INFO_V1(kpi_period_contained);
/* q <@ p */
Datum
kpi_period_contained(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(period_contains(PG_GETARG_KPI_PERIOD(1), PG_GETARG_KPI_PERIOD(0)));
}

/* Does p include the day d? */
static inline bool
period_contains_date(KpiPeriod p, DateADT d)
{
	return kpi_period_start(p) <= d && d <= kpi_period_end(p);
}

PG_FUNCTION_INFO_V1(kpi_period_contains_date);
/* p @> d */
Datum
kpi_period_contains_date(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(period_contains_date(PG_GETARG_KPI_PERIOD(0), PG_GETARG_DATEADT(1)));
}

PG_FUNCTION_INFO_V1(kpi_period_date_contained);
/* d <@ p */
Datum
kpi_period_date_contained(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(period_contains_date(PG_GETARG_KPI_PERIOD(1), PG_GETARG_DATEADT(0)));
}

PG_FUNCTION_INFO_V1(kpi_period_overlaps);
/* p && q: do the two periods share at least one day? */
Datum
kpi_period_overlaps(PG_FUNCTION_ARGS)
{
	KpiPeriod	p = PG_GETARG_KPI_PERIOD(0);
	KpiPeriod	q = PG_GETARG_KPI_PERIOD(1);

	PG_RETURN_BOOL(kpi_period_start(p) <= kpi_period_end(q) &&
				   kpi_period_start(q) <= kpi_period_end(p));
}

/* ---------------------------------------------------------------------
 * Ordering and hashing: integer operations on the packed form
 * ---------------------------------------------------------------------
 */

/* Three-way comparison of the two periods of fcinfo. */
#define PERIOD_CMP(fcinfo) \
	((PG_GETARG_KPI_PERIOD(0) > PG_GETARG_KPI_PERIOD(1)) - \
	 (PG_GETARG_KPI_PERIOD(0) < PG_GETARG_KPI_PERIOD(1)))

/* =, <>, <, <=, >, >= and the btree support function 1 */
KPI_BTREE_FUNCS(kpi_period, PERIOD_CMP(fcinfo))

PG_FUNCTION_INFO_V1(kpi_period_sortsupport);
/* btree support 2: sort with the core's signed-integer comparator. */
Datum
kpi_period_sortsupport(PG_FUNCTION_ARGS)
{
	SortSupport ssup = (SortSupport) PG_GETARG_POINTER(0);

	ssup->comparator = ssup_datum_signed_cmp;
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(kpi_period_larger);
/* The later of two periods (for max). */
Datum
kpi_period_larger(PG_FUNCTION_ARGS)
{
	KpiPeriod	a = PG_GETARG_KPI_PERIOD(0);
	KpiPeriod	b = PG_GETARG_KPI_PERIOD(1);

	PG_RETURN_KPI_PERIOD(a > b ? a : b);
}

PG_FUNCTION_INFO_V1(kpi_period_smaller);
/* The earlier of two periods (for min). */
Datum
kpi_period_smaller(PG_FUNCTION_ARGS)
{
	KpiPeriod	a = PG_GETARG_KPI_PERIOD(0);
	KpiPeriod	b = PG_GETARG_KPI_PERIOD(1);

	PG_RETURN_KPI_PERIOD(a < b ? a : b);
}

PG_FUNCTION_INFO_V1(kpi_period_hash);
/* hash support 1: the packed form hashed as an int8. */
Datum
kpi_period_hash(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall1(hashint8, PG_GETARG_DATUM(0));
}

PG_FUNCTION_INFO_V1(kpi_period_hash_extended);
/* hash support 2: seeded 64-bit hash. */
Datum
kpi_period_hash_extended(PG_FUNCTION_ARGS)
{
	return DirectFunctionCall2(hashint8extended, PG_GETARG_DATUM(0), PG_GETARG_DATUM(1));
}

/* ---------------------------------------------------------------------
 * Progress and enumeration
 * ---------------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kpi_period_progress);
/*
 * kpi.progress(p, at): the fraction of p elapsed at `at`, clamped to [0, 1].
 * Day boundaries are midnights in the session time zone, so a day with a DST
 * change counts with its real length.
 */
Datum
kpi_period_progress(PG_FUNCTION_ARGS)
{
	KpiPeriod	p = PG_GETARG_KPI_PERIOD(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);
	TimestampTz start,
				end;
	int			overflow = 0;
	float8		frac;

	if (TIMESTAMP_IS_NOBEGIN(at))
		PG_RETURN_FLOAT8(0.0);
	if (TIMESTAMP_IS_NOEND(at))
		PG_RETURN_FLOAT8(1.0);
	start = date2timestamptz_opt_overflow(kpi_period_start(p), &overflow);
	end = date2timestamptz_opt_overflow(kpi_period_end(p) + 1, &overflow);
	Assert(overflow == 0 && end > start);
	if (at <= start)
		frac = 0.0;
	else if (at >= end)
		frac = 1.0;
	else
		frac = (float8) (at - start) / (float8) (end - start);
	PG_RETURN_FLOAT8(frac);
}

typedef struct PeriodsState
{
	KpiPeriod	next;			/* next period to return */
	DateADT		last_day;		/* last day of the covering period */
	bool		done;
} PeriodsState;

PG_FUNCTION_INFO_V1(kpi_period_periods);
/* kpi.periods(p, grain): every period of grain that overlaps p, in order. */
Datum
kpi_period_periods(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	PeriodsState *st;

	if (SRF_IS_FIRSTCALL())
	{
		KpiPeriod	p = PG_GETARG_KPI_PERIOD(0);
		KpiGrain	g = kpi_grain_from_name(text_to_cstring(PG_GETARG_TEXT_PP(1)));
		MemoryContext oldcxt;

		funcctx = SRF_FIRSTCALL_INIT();
		oldcxt = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		st = palloc(sizeof(PeriodsState));
		st->next = kpi_period_containing(kpi_period_start(p), g);
		st->last_day = kpi_period_end(p);
		st->done = false;
		funcctx->user_fctx = st;
		MemoryContextSwitchTo(oldcxt);
	}
	funcctx = SRF_PERCALL_SETUP();
	st = (PeriodsState *) funcctx->user_fctx;
	if (!st->done && kpi_period_start(st->next) <= st->last_day)
	{
		KpiPeriod	cur = st->next;

		/* the last period of year 9999 has no successor: stop after it */
		st->done = !kpi_period_shift(cur, 1, &st->next);
		SRF_RETURN_NEXT(funcctx, KpiPeriodGetDatum(cur));
	}
	SRF_RETURN_DONE(funcctx);
}
