/*
 * pgstub.c
 *	  Just enough of the PostgreSQL 15 backend to run kpi's type I/O
 *	  functions (src/period.c, goal.c, bands.c, tally.c) outside a server,
 *	  for the libFuzzer harness test/fuzz/parsers.c.
 *
 * What the harness calls (the text input and output, binary send and
 * receive functions of the four types) gets real behaviour here:
 *
 *  - memory: palloc and friends on malloc.  Every chunk is on one list and
 *    pgstub_free_all() releases what the call left behind, as resetting the
 *    per-call memory context does in the server.  Non-zeroed chunks are
 *    filled with a byte that changes from chunk to chunk, so code that reads
 *    memory it never wrote sees different values from one call to the next.
 *    pfree() checks that the chunk came from palloc.
 *  - errors: ereport(ERROR) records the SQLSTATE and the formatted messages,
 *    then siglongjmp()s to *PG_exception_stack, as the server's PG_TRY does
 *    (utils/error/elog.c); an error without errcode() is XX000, as there.
 *    Levels below ERROR are dropped.  With no PG_exception_stack: abort().
 *  - date and time: date2j, j2date, j2day, isoweek2j, date2isoweek,
 *    date2isoyear, timestamp2tm (no time zone: UTC), tm2timestamp,
 *    DecodeTimezone, EncodeDateTime (ISO style only), date_out (ISO),
 *    copied from PostgreSQL 15's utils/adt/datetime.c, timestamp.c and
 *    date.c, with only the branches the kpi code can reach;
 *  - numbers: float8in_internal_opt_error and float_overflow_error, copied
 *    from utils/adt/float.c;
 *  - the pqformat.c functions of binary I/O, copied from libpq/pqformat.c;
 *  - DirectFunctionCall1Coll/2Coll as in utils/fmgr/fmgr.c.
 *
 * The rest comes from PostgreSQL's own static libraries, libpgcommon.a and
 * libpgport.a of postgresql-server-dev-15 (StringInfo, psprintf,
 * double_to_shortest_decimal_buf, hash_bytes, pg_strcasecmp, pg_snprintf,
 * strtoint).  Debian ships their frontend builds, which differ from the
 * backend's only in how they report running out of memory.
 *
 * Anything else the four files reference (catalog lookups, SRF support,
 * hashing of int8, ...) is only reached from SQL functions the harness does
 * not call: those stubs abort() with their name, so a path that reaches one
 * shows up as a crash rather than as a wrong answer.
 *
 * Portions copied from PostgreSQL: Portions Copyright (c) 1996-2022,
 * PostgreSQL Global Development Group; Portions Copyright (c) 1994, Regents
 * of the University of California (the PostgreSQL License).
 */
#include "postgres.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>

#include "access/htup.h"
#include "catalog/namespace.h"
#include "common/string.h"
#include "fmgr.h"
#include "funcapi.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "miscadmin.h"
#include "nodes/memnodes.h"
#include "port/pg_bswap.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/fmgrprotos.h"
#include "utils/inval.h"
#include "utils/sortsupport.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"

#include "pgstub.h"

/* ---------------------------------------------------------------------
 * Memory
 * ---------------------------------------------------------------------
 */

#define CHUNK_MAGIC 0x6b70694348554e4bULL	/* "kpiCHUNK" */

typedef struct Chunk
{
	struct Chunk *prev;
	struct Chunk *next;
	size_t		size;
	uint64		magic;
} Chunk;						/* 32 bytes: the user pointer stays MAXALIGNed */

static Chunk *chunks = NULL;
static unsigned int fill_counter = 0;
static size_t live_chunks = 0;

/* a context object, so code that looks at CurrentMemoryContext finds one */
static MemoryContextData stub_context;
MemoryContext CurrentMemoryContext = &stub_context;

static void *
chunk_alloc(Size size, bool zero)
{
	Chunk	   *c;

	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	c = malloc(sizeof(Chunk) + size);
	if (c == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Failed on request of size %zu.", size)));
	c->size = size;
	c->magic = CHUNK_MAGIC;
	c->prev = NULL;
	c->next = chunks;
	if (chunks)
		chunks->prev = c;
	chunks = c;
	live_chunks++;
	if (zero)
		memset(c + 1, 0, size);
	else
		memset(c + 1, 0x41 + (fill_counter++ % 61), size);
	return c + 1;
}

static Chunk *
chunk_of(void *pointer, const char *caller)
{
	Chunk	   *c = ((Chunk *) pointer) - 1;

	if (pointer == NULL || c->magic != CHUNK_MAGIC)
	{
		fprintf(stderr, "pgstub: %s(%p): not a palloc'd chunk\n", caller, pointer);
		abort();
	}
	return c;
}

static void
chunk_unlink(Chunk *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		chunks = c->next;
	if (c->next)
		c->next->prev = c->prev;
	live_chunks--;
}

void *
palloc(Size size)
{
	return chunk_alloc(size, false);
}

void *
palloc0(Size size)
{
	return chunk_alloc(size, true);
}

void *
palloc_extended(Size size, int flags)
{
	return chunk_alloc(size, (flags & MCXT_ALLOC_ZERO) != 0);
}

void *
MemoryContextAlloc(MemoryContext context, Size size)
{
	return chunk_alloc(size, false);
}

void *
MemoryContextAllocZero(MemoryContext context, Size size)
{
	return chunk_alloc(size, true);
}

void
pfree(void *pointer)
{
	Chunk	   *c = chunk_of(pointer, "pfree");

	chunk_unlink(c);
	c->magic = 0;
	free(c);
}

void *
repalloc(void *pointer, Size size)
{
	Chunk	   *c = chunk_of(pointer, "repalloc");
	void	   *n;

	if (!AllocSizeIsValid(size))
		elog(ERROR, "invalid memory alloc request size %zu", size);
	n = chunk_alloc(size, false);
	memcpy(n, pointer, Min(size, c->size));
	pfree(pointer);
	return n;
}

char *
pstrdup(const char *in)
{
	size_t		len = strlen(in);
	char	   *out = palloc(len + 1);

	memcpy(out, in, len + 1);
	return out;
}

char *
pnstrdup(const char *in, Size len)
{
	char	   *out;

	len = strnlen(in, len);
	out = palloc(len + 1);
	memcpy(out, in, len);
	out[len] = '\0';
	return out;
}

void
pgstub_free_all(void)
{
	while (chunks)
		pfree(chunks + 1);
}

size_t
pgstub_live_chunks(void)
{
	return live_chunks;
}

/* ---------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------
 */

sigjmp_buf *PG_exception_stack = NULL;
ErrorContextCallback *error_context_stack = NULL;

static PgStubError cur;
static bool in_error = false;

/* Format fmt with args into a malloc'd string (the messages outlive the
 * per-call memory, so the harness can print them after the longjmp). */
static char *
format_va(const char *fmt, va_list args)
{
	va_list		copy;
	int			n;
	char	   *s;

	va_copy(copy, args);
	n = vsnprintf(NULL, 0, fmt, copy);	/* pg_vsnprintf, from libpgport */
	va_end(copy);
	if (n < 0)
	{
		fprintf(stderr, "pgstub: bad format string \"%s\"\n", fmt);
		abort();
	}
	s = malloc(n + 1);
	vsnprintf(s, n + 1, fmt, args);
	return s;
}

static void
clear_error(void)
{
	free(cur.message);
	free(cur.detail);
	free(cur.hint);
	memset(&cur, 0, sizeof(cur));
}

const PgStubError *
pgstub_last_error(void)
{
	return &cur;
}

void
pgstub_clear_error(void)
{
	clear_error();
	in_error = false;
}

char *
pgstub_sqlstate(int sqlerrcode, char *buf)
{
	int			i;

	for (i = 0; i < 5; i++)
	{
		buf[i] = PGUNSIXBIT(sqlerrcode);
		sqlerrcode >>= 6;
	}
	buf[5] = '\0';
	return buf;
}

bool
errstart(int elevel, const char *domain)
{
	if (elevel < ERROR)
		return false;
	if (in_error)
	{
		fprintf(stderr, "pgstub: error raised while reporting an error: %s\n",
				cur.message ? cur.message : "(no message)");
		abort();
	}
	clear_error();
	in_error = true;
	cur.elevel = elevel;
	cur.sqlerrcode = ERRCODE_INTERNAL_ERROR;	/* as elog.c, if no errcode() */
	return true;
}

bool
errstart_cold(int elevel, const char *domain)
{
	return errstart(elevel, domain);
}

int
errcode(int sqlerrcode)
{
	cur.sqlerrcode = sqlerrcode;
	return 0;
}

#define SET_FIELD(field) \
	do { \
		va_list		args; \
		va_start(args, fmt); \
		free(cur.field); \
		cur.field = format_va(fmt, args); \
		va_end(args); \
	} while (0)

int
errmsg(const char *fmt,...)
{
	SET_FIELD(message);
	return 0;
}

int
errmsg_internal(const char *fmt,...)
{
	SET_FIELD(message);
	return 0;
}

int
errdetail(const char *fmt,...)
{
	SET_FIELD(detail);
	return 0;
}

int
errdetail_internal(const char *fmt,...)
{
	SET_FIELD(detail);
	return 0;
}

int
errhint(const char *fmt,...)
{
	SET_FIELD(hint);
	return 0;
}

void
errfinish(const char *filename, int lineno, const char *funcname)
{
	cur.filename = filename;
	cur.lineno = lineno;
	cur.funcname = funcname;
	if (PG_exception_stack == NULL)
	{
		char		code[6];

		fprintf(stderr, "pgstub: ERROR %s outside the harness: %s (%s:%d)\n",
				pgstub_sqlstate(cur.sqlerrcode, code),
				cur.message ? cur.message : "", filename, lineno);
		abort();
	}
	in_error = false;
	siglongjmp(*PG_exception_stack, 1);
}

/* ---------------------------------------------------------------------
 * fmgr
 * ---------------------------------------------------------------------
 */

Datum
DirectFunctionCall1Coll(PGFunction func, Oid collation, Datum arg1)
{
	LOCAL_FCINFO(fcinfo, 1);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 1, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	result = (*func) (fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "function %p returned NULL", (void *) func);
	return result;
}

Datum
DirectFunctionCall2Coll(PGFunction func, Oid collation, Datum arg1, Datum arg2)
{
	LOCAL_FCINFO(fcinfo, 2);
	Datum		result;

	InitFunctionCallInfoData(*fcinfo, NULL, 2, collation, NULL, NULL);
	fcinfo->args[0].value = arg1;
	fcinfo->args[0].isnull = false;
	fcinfo->args[1].value = arg2;
	fcinfo->args[1].isnull = false;
	result = (*func) (fcinfo);
	if (fcinfo->isnull)
		elog(ERROR, "function %p returned NULL", (void *) func);
	return result;
}

/* ---------------------------------------------------------------------
 * Date and time (utils/adt/datetime.c, timestamp.c, date.c of PostgreSQL 15)
 * ---------------------------------------------------------------------
 */

const int	day_tab[2][13] =
{
	{31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0},
	{31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 0}
};

int
date2j(int y, int m, int d)
{
	int			julian;
	int			century;

	if (m > 2)
	{
		m += 1;
		y += 4800;
	}
	else
	{
		m += 13;
		y += 4799;
	}

	century = y / 100;
	julian = y * 365 - 32167;
	julian += y / 4 - century + century / 4;
	julian += 7834 * m / 256 + d;

	return julian;
}

void
j2date(int jd, int *year, int *month, int *day)
{
	unsigned int julian;
	unsigned int quad;
	unsigned int extra;
	int			y;

	julian = jd;
	julian += 32044;
	quad = julian / 146097;
	extra = (julian - quad * 146097) * 4 + 3;
	julian += 60 + quad * 3 + extra / 146097;
	quad = julian / 1461;
	julian -= quad * 1461;
	y = julian * 4 / 1461;
	julian = ((y != 0) ? ((julian + 305) % 365) : ((julian + 306) % 366))
		+ 123;
	y += quad * 4;
	*year = y - 4800;
	quad = julian * 2141 / 65536;
	*day = julian - 7834 * quad / 256;
	*month = (quad + 10) % MONTHS_PER_YEAR + 1;
}

int
j2day(int date)
{
	date += 1;
	date %= 7;
	if (date < 0)
		date += 7;
	return date;
}

int
isoweek2j(int year, int week)
{
	int			day0,
				day4;

	day4 = date2j(year, 1, 4);
	day0 = j2day(day4 - 1);
	return ((week - 1) * 7) + (day4 - day0);
}

int
date2isoweek(int year, int mon, int mday)
{
	float8		result;
	int			day0,
				day4,
				dayn;

	dayn = date2j(year, mon, mday);
	day4 = date2j(year, 1, 4);
	day0 = j2day(day4 - 1);
	if (dayn < day4 - day0)
	{
		day4 = date2j(year - 1, 1, 4);
		day0 = j2day(day4 - 1);
	}
	result = (dayn - (day4 - day0)) / 7 + 1;
	if (result >= 52)
	{
		day4 = date2j(year + 1, 1, 4);
		day0 = j2day(day4 - 1);
		if (dayn >= day4 - day0)
			result = (dayn - (day4 - day0)) / 7 + 1;
	}
	return (int) result;
}

int
date2isoyear(int year, int mon, int mday)
{
	float8		result;
	int			day0,
				day4,
				dayn;

	dayn = date2j(year, mon, mday);
	day4 = date2j(year, 1, 4);
	day0 = j2day(day4 - 1);
	if (dayn < day4 - day0)
	{
		day4 = date2j(year - 1, 1, 4);
		day0 = j2day(day4 - 1);
		year--;
	}
	result = (dayn - (day4 - day0)) / 7 + 1;
	if (result >= 52)
	{
		day4 = date2j(year + 1, 1, 4);
		day0 = j2day(day4 - 1);
		if (dayn >= day4 - day0)
			year++;
	}
	return year;
}

void
dt2time(Timestamp jd, int *hour, int *min, int *sec, fsec_t *fsec)
{
	TimeOffset	time = jd;

	*hour = time / USECS_PER_HOUR;
	time -= (*hour) * USECS_PER_HOUR;
	*min = time / USECS_PER_MINUTE;
	time -= (*min) * USECS_PER_MINUTE;
	*sec = time / USECS_PER_SEC;
	*fsec = time - (*sec * USECS_PER_SEC);
}

/*
 * timestamp2tm: only the branch without time zone conversion (tzp NULL),
 * the one kpi uses; a caller asking for a zone gets an abort.
 */
int
timestamp2tm(Timestamp dt, int *tzp, struct pg_tm *tm, fsec_t *fsec,
			 const char **tzn, pg_tz *attimezone)
{
	Timestamp	date;
	Timestamp	time;

	if (tzp != NULL)
	{
		fprintf(stderr, "pgstub: timestamp2tm with a time zone is not implemented\n");
		abort();
	}
	time = dt;
	TMODULO(time, date, USECS_PER_DAY);
	if (time < INT64CONST(0))
	{
		time += USECS_PER_DAY;
		date -= 1;
	}
	date += POSTGRES_EPOCH_JDATE;
	if (date < 0 || date > (Timestamp) INT_MAX)
		return -1;
	j2date((int) date, &tm->tm_year, &tm->tm_mon, &tm->tm_mday);
	dt2time(time, &tm->tm_hour, &tm->tm_min, &tm->tm_sec, fsec);
	tm->tm_isdst = -1;
	tm->tm_gmtoff = 0;
	tm->tm_zone = NULL;
	if (tzn != NULL)
		*tzn = NULL;
	return 0;
}

static TimeOffset
time2t(const int hour, const int min, const int sec, const fsec_t fsec)
{
	return (((((hour * MINS_PER_HOUR) + min) * SECS_PER_MINUTE) + sec) * USECS_PER_SEC) + fsec;
}

static Timestamp
dt2local(Timestamp dt, int tz)
{
	dt -= (tz * USECS_PER_SEC);
	return dt;
}

int
tm2timestamp(struct pg_tm *tm, fsec_t fsec, int *tzp, Timestamp *result)
{
	TimeOffset	date;
	TimeOffset	time;

	if (!IS_VALID_JULIAN(tm->tm_year, tm->tm_mon, tm->tm_mday))
	{
		*result = 0;
		return -1;
	}
	date = date2j(tm->tm_year, tm->tm_mon, tm->tm_mday) - POSTGRES_EPOCH_JDATE;
	time = time2t(tm->tm_hour, tm->tm_min, tm->tm_sec, fsec);
	*result = date * USECS_PER_DAY + time;
	if ((*result - time) / USECS_PER_DAY != date)
	{
		*result = 0;
		return -1;
	}
	if ((*result < 0 && date > 0) ||
		(*result > 0 && date < -1))
	{
		*result = 0;
		return -1;
	}
	if (tzp != NULL)
		*result = dt2local(*result, -(*tzp));
	if (!IS_VALID_TIMESTAMP(*result))
	{
		*result = 0;
		return -1;
	}
	return 0;
}

int
DecodeTimezone(char *str, int *tzp)
{
	int			tz;
	int			hr,
				min,
				sec = 0;
	char	   *cp;

	if (*str != '+' && *str != '-')
		return DTERR_BAD_FORMAT;

	errno = 0;
	hr = strtoint(str + 1, &cp, 10);
	if (errno == ERANGE)
		return DTERR_TZDISP_OVERFLOW;

	if (*cp == ':')
	{
		errno = 0;
		min = strtoint(cp + 1, &cp, 10);
		if (errno == ERANGE)
			return DTERR_TZDISP_OVERFLOW;
		if (*cp == ':')
		{
			errno = 0;
			sec = strtoint(cp + 1, &cp, 10);
			if (errno == ERANGE)
				return DTERR_TZDISP_OVERFLOW;
		}
	}
	else if (*cp == '\0' && strlen(str) > 3)
	{
		min = hr % 100;
		hr = hr / 100;
	}
	else
		min = 0;

	if (hr < 0 || hr > MAX_TZDISP_HOUR)
		return DTERR_TZDISP_OVERFLOW;
	if (min < 0 || min >= MINS_PER_HOUR)
		return DTERR_TZDISP_OVERFLOW;
	if (sec < 0 || sec >= SECS_PER_MINUTE)
		return DTERR_TZDISP_OVERFLOW;

	tz = (hr * MINS_PER_HOUR + min) * SECS_PER_MINUTE + sec;
	if (*str == '-')
		tz = -tz;

	*tzp = -tz;

	if (*cp != '\0')
		return DTERR_BAD_FORMAT;

	return 0;
}

/* utils/adt/numutils.c: value in decimal, zero-padded to minwidth digits */
static char *
ultostr_zeropad(char *str, uint32 value, int32 minwidth)
{
	char		tmp[12];
	int			len = 0;

	Assert(minwidth > 0);
	do
	{
		tmp[len++] = '0' + value % 10;
		value /= 10;
	} while (value);
	while (len < minwidth)
		tmp[len++] = '0';
	while (len > 0)
		*str++ = tmp[--len];
	return str;
}

static char *
ultostr(char *str, uint32 value)
{
	return ultostr_zeropad(str, value, 1);
}

static char *
AppendSeconds(char *cp, int sec, fsec_t fsec, int precision, bool fillzeros)
{
	Assert(precision >= 0);

	if (fillzeros)
		cp = ultostr_zeropad(cp, Abs(sec), 2);
	else
		cp = ultostr(cp, Abs(sec));

	if (fsec != 0)
	{
		int32		value = Abs(fsec);
		char	   *end = &cp[precision + 1];
		bool		gotnonzero = false;

		*cp++ = '.';
		while (precision--)
		{
			int32		oldval = value;
			int32		remainder;

			value /= 10;
			remainder = oldval - value * 10;
			if (remainder)
				gotnonzero = true;
			if (gotnonzero)
				cp[precision] = '0' + remainder;
			else
				end = &cp[precision];
		}
		if (value)
			return ultostr(cp, Abs(fsec));
		return end;
	}
	else
		return cp;
}

static char *
EncodeTimezone(char *str, int tz, int style)
{
	int			hour,
				min,
				sec;

	sec = abs(tz);
	min = sec / SECS_PER_MINUTE;
	sec -= min * SECS_PER_MINUTE;
	hour = min / MINS_PER_HOUR;
	min -= hour * MINS_PER_HOUR;

	*str++ = (tz <= 0 ? '+' : '-');

	if (sec != 0)
	{
		str = ultostr_zeropad(str, hour, 2);
		*str++ = ':';
		str = ultostr_zeropad(str, min, 2);
		*str++ = ':';
		str = ultostr_zeropad(str, sec, 2);
	}
	else if (min != 0 || style == USE_XSD_DATES)
	{
		str = ultostr_zeropad(str, hour, 2);
		*str++ = ':';
		str = ultostr_zeropad(str, min, 2);
	}
	else
		str = ultostr_zeropad(str, hour, 2);
	return str;
}

/* EncodeDateTime: the ISO (and XSD) branch, the one kpi uses. */
void
EncodeDateTime(struct pg_tm *tm, fsec_t fsec, bool print_tz, int tz,
			   const char *tzn, int style, char *str)
{
	Assert(tm->tm_mon >= 1 && tm->tm_mon <= MONTHS_PER_YEAR);

	if (style != USE_ISO_DATES && style != USE_XSD_DATES)
	{
		fprintf(stderr, "pgstub: EncodeDateTime style %d is not implemented\n", style);
		abort();
	}
	if (tm->tm_isdst < 0)
		print_tz = false;

	str = ultostr_zeropad(str, (tm->tm_year > 0) ? tm->tm_year : -(tm->tm_year - 1), 4);
	*str++ = '-';
	str = ultostr_zeropad(str, tm->tm_mon, 2);
	*str++ = '-';
	str = ultostr_zeropad(str, tm->tm_mday, 2);
	*str++ = (style == USE_ISO_DATES) ? ' ' : 'T';
	str = ultostr_zeropad(str, tm->tm_hour, 2);
	*str++ = ':';
	str = ultostr_zeropad(str, tm->tm_min, 2);
	*str++ = ':';
	str = AppendSeconds(str, tm->tm_sec, fsec, MAX_TIMESTAMP_PRECISION, true);
	if (print_tz)
		str = EncodeTimezone(str, tz, style);

	if (tm->tm_year <= 0)
	{
		memcpy(str, " BC", 3);
		str += 3;
	}
	*str = '\0';
}

/* date_out with DateStyle ISO (the default); used in kpi's error messages */
Datum
date_out(PG_FUNCTION_ARGS)
{
	DateADT		date = PG_GETARG_DATEADT(0);
	char		buf[MAXDATELEN + 1];
	char	   *str = buf;
	int			y,
				m,
				d;

	if (DATE_IS_NOBEGIN(date))
		strcpy(buf, EARLY);
	else if (DATE_IS_NOEND(date))
		strcpy(buf, LATE);
	else
	{
		j2date(date + POSTGRES_EPOCH_JDATE, &y, &m, &d);
		str = ultostr_zeropad(str, (y > 0) ? y : -(y - 1), 4);
		*str++ = '-';
		str = ultostr_zeropad(str, m, 2);
		*str++ = '-';
		str = ultostr_zeropad(str, d, 2);
		if (y <= 0)
		{
			memcpy(str, " BC", 3);
			str += 3;
		}
		*str = '\0';
	}
	PG_RETURN_CSTRING(pstrdup(buf));
}

/* ---------------------------------------------------------------------
 * float8 input (utils/adt/float.c of PostgreSQL 15)
 * ---------------------------------------------------------------------
 */

#define RETURN_ERROR(throw_error, have_error) \
do { \
	if (have_error) { \
		*have_error = true; \
		return 0.0; \
	} else { \
		throw_error; \
	} \
} while (0)

double
float8in_internal_opt_error(char *num, char **endptr_p,
							const char *type_name, const char *orig_string,
							bool *have_error)
{
	double		val;
	char	   *endptr;

	if (have_error)
		*have_error = false;

	while (*num != '\0' && isspace((unsigned char) *num))
		num++;

	if (*num == '\0')
		RETURN_ERROR(ereport(ERROR,
							 (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							  errmsg("invalid input syntax for type %s: \"%s\"",
									 type_name, orig_string))),
					 have_error);

	errno = 0;
	val = strtod(num, &endptr);

	if (endptr == num || errno != 0)
	{
		int			save_errno = errno;

		if (pg_strncasecmp(num, "NaN", 3) == 0)
		{
			val = get_float8_nan();
			endptr = num + 3;
		}
		else if (pg_strncasecmp(num, "Infinity", 8) == 0)
		{
			val = get_float8_infinity();
			endptr = num + 8;
		}
		else if (pg_strncasecmp(num, "+Infinity", 9) == 0)
		{
			val = get_float8_infinity();
			endptr = num + 9;
		}
		else if (pg_strncasecmp(num, "-Infinity", 9) == 0)
		{
			val = -get_float8_infinity();
			endptr = num + 9;
		}
		else if (pg_strncasecmp(num, "inf", 3) == 0)
		{
			val = get_float8_infinity();
			endptr = num + 3;
		}
		else if (pg_strncasecmp(num, "+inf", 4) == 0)
		{
			val = get_float8_infinity();
			endptr = num + 4;
		}
		else if (pg_strncasecmp(num, "-inf", 4) == 0)
		{
			val = -get_float8_infinity();
			endptr = num + 4;
		}
		else if (save_errno == ERANGE)
		{
			if (val == 0.0 || val >= HUGE_VAL || val <= -HUGE_VAL)
			{
				char	   *errnumber = pstrdup(num);

				errnumber[endptr - num] = '\0';
				RETURN_ERROR(ereport(ERROR,
									 (errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
									  errmsg("\"%s\" is out of range for type double precision",
											 errnumber))),
							 have_error);
			}
		}
		else
			RETURN_ERROR(ereport(ERROR,
								 (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
								  errmsg("invalid input syntax for type "
										 "%s: \"%s\"",
										 type_name, orig_string))),
						 have_error);
	}

	while (*endptr != '\0' && isspace((unsigned char) *endptr))
		endptr++;

	if (endptr_p)
		*endptr_p = endptr;
	else if (*endptr != '\0')
		RETURN_ERROR(ereport(ERROR,
							 (errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
							  errmsg("invalid input syntax for type "
									 "%s: \"%s\"",
									 type_name, orig_string))),
					 have_error);

	return val;
}

void
float_overflow_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
			 errmsg("value out of range: overflow")));
}

/* ---------------------------------------------------------------------
 * Binary I/O (libpq/pqformat.c of PostgreSQL 15)
 * ---------------------------------------------------------------------
 */

void
pq_begintypsend(StringInfo buf)
{
	initStringInfo(buf);
	appendStringInfoCharMacro(buf, '\0');
	appendStringInfoCharMacro(buf, '\0');
	appendStringInfoCharMacro(buf, '\0');
	appendStringInfoCharMacro(buf, '\0');
}

bytea *
pq_endtypsend(StringInfo buf)
{
	bytea	   *result = (bytea *) buf->data;

	Assert(buf->len >= VARHDRSZ);
	SET_VARSIZE(result, buf->len);
	return result;
}

void
pq_sendfloat8(StringInfo buf, float8 f)
{
	union
	{
		float8		f;
		int64		i;
	}			swap;

	swap.f = f;
	pq_sendint64(buf, swap.i);
}

void
pq_copymsgbytes(StringInfo msg, char *buf, int datalen)
{
	if (datalen < 0 || datalen > (msg->len - msg->cursor))
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("insufficient data left in message")));
	memcpy(buf, &msg->data[msg->cursor], datalen);
	msg->cursor += datalen;
}

int
pq_getmsgbyte(StringInfo msg)
{
	if (msg->cursor >= msg->len)
		ereport(ERROR,
				(errcode(ERRCODE_PROTOCOL_VIOLATION),
				 errmsg("no data left in message")));
	return (unsigned char) msg->data[msg->cursor++];
}

unsigned int
pq_getmsgint(StringInfo msg, int b)
{
	unsigned int result;
	unsigned char n8;
	uint16		n16;
	uint32		n32;

	switch (b)
	{
		case 1:
			pq_copymsgbytes(msg, (char *) &n8, 1);
			result = n8;
			break;
		case 2:
			pq_copymsgbytes(msg, (char *) &n16, 2);
			result = pg_ntoh16(n16);
			break;
		case 4:
			pq_copymsgbytes(msg, (char *) &n32, 4);
			result = pg_ntoh32(n32);
			break;
		default:
			elog(ERROR, "unsupported integer size %d", b);
			result = 0;
			break;
	}
	return result;
}

int64
pq_getmsgint64(StringInfo msg)
{
	uint64		n64;

	pq_copymsgbytes(msg, (char *) &n64, sizeof(n64));
	return pg_ntoh64(n64);
}

float8
pq_getmsgfloat8(StringInfo msg)
{
	union
	{
		float8		f;
		int64		i;
	}			swap;

	swap.i = pq_getmsgint64(msg);
	return swap.f;
}

/* ---------------------------------------------------------------------
 * text (utils/adt/varlena.c), for completeness: not on the I/O paths
 * ---------------------------------------------------------------------
 */

text *
cstring_to_text(const char *s)
{
	size_t		len = strlen(s);
	text	   *result = (text *) palloc(len + VARHDRSZ);

	SET_VARSIZE(result, len + VARHDRSZ);
	memcpy(VARDATA(result), s, len);
	return result;
}

char *
text_to_cstring(const text *t)
{
	/* only plain 4-byte-header values: the harness never builds others */
	size_t		len;
	char	   *result;

	if (VARATT_IS_EXTENDED(t))
	{
		fprintf(stderr, "pgstub: text_to_cstring of a packed or toasted value\n");
		abort();
	}
	len = VARSIZE(t) - VARHDRSZ;
	result = palloc(len + 1);
	memcpy(result, VARDATA(t), len);
	result[len] = '\0';
	return result;
}

/* ---------------------------------------------------------------------
 * Not on the paths the harness runs: abort if ever reached
 * ---------------------------------------------------------------------
 */

#define UNREACHED(name) \
	do { \
		fprintf(stderr, "pgstub: %s reached, but it is only a stub\n", name); \
		abort(); \
	} while (0)

int
AggCheckCallContext(FunctionCallInfo fcinfo, MemoryContext *aggcontext)
{
	UNREACHED("AggCheckCallContext");
}

void
CacheRegisterSyscacheCallback(int cacheid, SyscacheCallbackFunction func, Datum arg)
{
	UNREACHED("CacheRegisterSyscacheCallback");
}

Oid
GetSysCacheOid(int cacheId, AttrNumber oidcol, Datum key1, Datum key2,
			   Datum key3, Datum key4)
{
	UNREACHED("GetSysCacheOid");
}

HeapTuple
SearchSysCache1(int cacheId, Datum key1)
{
	UNREACHED("SearchSysCache1");
}

void
ReleaseSysCache(HeapTuple tuple)
{
	UNREACHED("ReleaseSysCache");
}

Oid
get_namespace_oid(const char *nspname, bool missing_ok)
{
	UNREACHED("get_namespace_oid");
}

FuncCallContext *
init_MultiFuncCall(PG_FUNCTION_ARGS)
{
	UNREACHED("init_MultiFuncCall");
}

FuncCallContext *
per_MultiFuncCall(PG_FUNCTION_ARGS)
{
	UNREACHED("per_MultiFuncCall");
}

void
end_MultiFuncCall(PG_FUNCTION_ARGS, FuncCallContext *funcctx)
{
	UNREACHED("end_MultiFuncCall");
}

struct varlena *
pg_detoast_datum_packed(struct varlena *datum)
{
	UNREACHED("pg_detoast_datum_packed");
}

int
ssup_datum_signed_cmp(Datum x, Datum y, SortSupport ssup)
{
	UNREACHED("ssup_datum_signed_cmp");
}

Datum
hashint8(PG_FUNCTION_ARGS)
{
	UNREACHED("hashint8");
}

Datum
hashint8extended(PG_FUNCTION_ARGS)
{
	UNREACHED("hashint8extended");
}

Datum
timestamptz_date(PG_FUNCTION_ARGS)
{
	UNREACHED("timestamptz_date");
}

TimestampTz
date2timestamptz_opt_overflow(DateADT dateVal, int *overflow)
{
	UNREACHED("date2timestamptz_opt_overflow");
}
