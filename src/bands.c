/*
 * bands.c
 *	  kpi.bands: the attainment at which each status level better than red
 *	  starts ("amber 0.8, green 0.95, blue 1.2"), and kpi.status(att, bands),
 *	  which maps an attainment to the kpi.status enum (red < amber < green <
 *	  blue).
 *
 * A bands value is a fixed 32-byte struct (see KpiBands in kpi.h): a bit per
 * level present and one threshold per level.  Every value is built by
 * bands_make(), which checks it and zeroes unused bytes, so equal bands are
 * equal byte for byte.
 *
 * kpi.status is a plain SQL enum; C code returns it through
 * kpi_status_datum(), which finds the four label OIDs once per backend.
 */
#include "postgres.h"

#include <ctype.h>
#include <math.h>

#include "catalog/namespace.h"
#include "catalog/pg_enum.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "lib/stringinfo.h"
#include "libpq/pqformat.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/syscache.h"

#include "kpi.h"

/* The on-disk size is fixed by the SQL type (INTERNALLENGTH = 32). */
StaticAssertDecl(sizeof(KpiBands) == 32, "kpi.bands must be 32 bytes");

#define BANDS_FORMS_HINT \
	"Write the attainment at which each level starts, in the order amber, green, blue, for example \"amber 0.8, green 0.95, blue 1.2\" or \"green 1\". Red is everything below the first level and needs no number."

/* Names of the levels a bands value can hold, indexed by level - 1. */
static const char *const band_names[KPI_LEVEL_COUNT] = {"amber", "green", "blue"};

/* Labels of kpi.status, indexed by KpiStatusLevel. */
static const char *const status_labels[KPI_LEVEL_COUNT + 1] = {"red", "amber", "green", "blue"};

#define BANDS_ALL_LEVELS ((1 << KPI_LEVEL_COUNT) - 1)

PG_FUNCTION_INFO_V1(kpi_bands_in);
PG_FUNCTION_INFO_V1(kpi_bands_out);
PG_FUNCTION_INFO_V1(kpi_bands_recv);
PG_FUNCTION_INFO_V1(kpi_bands_send);
PG_FUNCTION_INFO_V1(kpi_bands_make);
PG_FUNCTION_INFO_V1(kpi_bands_hash);
PG_FUNCTION_INFO_V1(kpi_bands_hash_extended);
PG_FUNCTION_INFO_V1(kpi_status);

/* Is level index i (0 = amber) present in b? */
static inline bool
band_present(const KpiBands *b, int i)
{
	return (b->mask & (1 << i)) != 0;
}

/* ---------------------------------------------------------------------
 * Building and checking bands
 * ---------------------------------------------------------------------
 */

/*
 * Build a bands value from a mask of present levels and their thresholds
 * (at[i] is read only for present levels), after checking it: at least one
 * level, finite thresholds, strictly increasing.  Errors are 22023.  Text,
 * binary input and the constructor all come through here.
 */
static KpiBands *
bands_make(uint8 mask, const float8 *at)
{
	KpiBands   *b;
	int			prev = -1;
	int			i;

	Assert((mask & ~BANDS_ALL_LEVELS) == 0);

	if (mask == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("kpi.bands needs at least one level"),
				 errhint("For example \"amber 0.8, green 0.95, blue 1.2\" or \"green 1\".")));

	b = (KpiBands *) palloc0(sizeof(KpiBands));
	b->version = KPI_BANDS_VERSION;
	b->mask = mask;
	for (i = 0; i < KPI_LEVEL_COUNT; i++)
	{
		if (!(mask & (1 << i)))
			continue;
		if (!isfinite(at[i]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("thresholds of kpi.bands must be finite"),
					 errdetail("Level %s has no finite threshold.", band_names[i])));
		if (prev >= 0 && !(at[i] > at[prev]))
		{
			StringInfoData d;

			initStringInfo(&d);
			appendStringInfo(&d, "%s ", band_names[i]);
			kpi_append_float8(&d, at[i]);
			appendStringInfo(&d, " is not above %s ", band_names[prev]);
			kpi_append_float8(&d, at[prev]);
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("thresholds of kpi.bands must increase strictly from amber to green to blue"),
					 errdetail("%s.", d.data)));
		}
		/* One spelling of zero, so equal bands hash alike. */
		b->at[i] = (at[i] == 0.0) ? 0.0 : at[i];
		prev = i;
	}
	return b;
}

/* Raise the 22P02 syntax error for bands text str; detail says what is wrong at p. */
static pg_noreturn void
bands_syntax_error(const char *str, const char *p, const char *expected)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
			 errmsg("invalid input syntax for type kpi.bands: \"%s\"", str),
			 *p ? errdetail("Expected %s at \"%s\".", expected, p)
			 : errdetail("Expected %s at the end of the input.", expected),
			 errhint(BANDS_FORMS_HINT)));
}

/*
 * Parse "amber 0.8, green 0.95, blue 1.2".  The whole text is checked for
 * syntax (22P02) before its meaning (22023), so a typo is reported as a typo
 * even when the levels are also out of order.
 */
static KpiBands *
bands_parse(const char *str)
{
	const char *p = str;
	uint8		mask = 0;
	float8		at[KPI_LEVEL_COUNT] = {0};
	int			last = -1;		/* index of the previous level */
	int			bad = -1;		/* first level out of order or repeated */
	int			bad_after = -1; /* ... and the level it came after */
	bool		bad_repeat = false; /* is bad a repeat (else out of order)? */

	while (isspace((unsigned char) *p))
		p++;
	if (*p == '\0')
		return bands_make(0, at);	/* reports the empty value */

	for (;;)
	{
		const char *word = p;
		int			len;
		int			lvl = -1;
		int			i;
		float8		val;

		while (isalpha((unsigned char) *p))
			p++;
		len = p - word;
		for (i = 0; i < KPI_LEVEL_COUNT; i++)
			if (len == strlen(band_names[i]) &&
				pg_strncasecmp(word, band_names[i], len) == 0)
				lvl = i;
		if (lvl < 0)
		{
			if (len == 3 && pg_strncasecmp(word, "red", 3) == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
						 errmsg("invalid input syntax for type kpi.bands: \"%s\"", str),
						 errdetail("Red has no threshold: it is everything below the first level."),
						 errhint(BANDS_FORMS_HINT)));
			bands_syntax_error(str, word, "a level name (amber, green or blue)");
		}

		while (isspace((unsigned char) *p))
			p++;
		if (!kpi_scan_float8(&p, &val, "kpi.bands"))
			bands_syntax_error(str, p, "a number");

		if (bad < 0 && lvl <= last)
		{
			bad = lvl;
			bad_after = last;
			bad_repeat = (mask & (1 << lvl)) != 0;
		}
		else if (bad < 0)
		{
			mask |= (uint8) (1 << lvl);
			at[lvl] = val;
			last = lvl;
		}

		while (isspace((unsigned char) *p))
			p++;
		if (*p == '\0')
			break;
		if (*p != ',')
			bands_syntax_error(str, p, "\",\" or the end of the input");
		p++;
		while (isspace((unsigned char) *p))
			p++;
	}

	if (bad >= 0 && bad_repeat)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("each level of kpi.bands may appear only once"),
				 errdetail("In \"%s\", %s appears more than once.", str,
						   band_names[bad])));
	if (bad >= 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("levels of kpi.bands must appear in the order amber, green, blue"),
				 errdetail("In \"%s\", %s comes after %s.", str,
						   band_names[bad], band_names[bad_after])));

	return bands_make(mask, at);
}

/* ---------------------------------------------------------------------
 * I/O
 * ---------------------------------------------------------------------
 */

/* Text input: "amber 0.8, green 0.95, blue 1.2", levels optional. */
Datum
kpi_bands_in(PG_FUNCTION_ARGS)
{
	PG_RETURN_POINTER(bands_parse(PG_GETARG_CSTRING(0)));
}

/* Text output, canonical: lower-case names, ", " between levels. */
Datum
kpi_bands_out(PG_FUNCTION_ARGS)
{
	KpiBands   *b = PG_GETARG_KPI_BANDS_P(0);
	StringInfoData buf;
	int			i;

	initStringInfo(&buf);
	for (i = 0; i < KPI_LEVEL_COUNT; i++)
	{
		if (!band_present(b, i))
			continue;
		if (buf.len > 0)
			appendStringInfoString(&buf, ", ");
		appendStringInfo(&buf, "%s ", band_names[i]);
		kpi_append_float8(&buf, b->at[i]);
	}
	PG_RETURN_CSTRING(buf.data);
}

/*
 * Binary input: version byte, mask byte (bit 0 amber, 1 green, 2 blue), then
 * one float8 per level present, in order.  Malformed bytes are 22P03; the
 * meaning is checked as for text.
 */
Datum
kpi_bands_recv(PG_FUNCTION_ARGS)
{
	StringInfo	buf = (StringInfo) PG_GETARG_POINTER(0);
	int			version = pq_getmsgbyte(buf);
	int			mask = pq_getmsgbyte(buf);
	float8		at[KPI_LEVEL_COUNT] = {0};
	int			i;

	if (version != KPI_BANDS_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("unsupported kpi.bands binary format version %d", version),
				 errdetail("This build of kpi reads version %d.", KPI_BANDS_VERSION)));
	if (mask & ~BANDS_ALL_LEVELS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_BINARY_REPRESENTATION),
				 errmsg("invalid level mask %d in binary kpi.bands", mask)));
	for (i = 0; i < KPI_LEVEL_COUNT; i++)
		if (mask & (1 << i))
			at[i] = pq_getmsgfloat8(buf);

	PG_RETURN_POINTER(bands_make((uint8) mask, at));
}

/* Binary output; see kpi_bands_recv for the layout. */
Datum
kpi_bands_send(PG_FUNCTION_ARGS)
{
	KpiBands   *b = PG_GETARG_KPI_BANDS_P(0);
	StringInfoData buf;
	int			i;

	pq_begintypsend(&buf);
	pq_sendbyte(&buf, KPI_BANDS_VERSION);
	pq_sendbyte(&buf, b->mask);
	for (i = 0; i < KPI_LEVEL_COUNT; i++)
		if (band_present(b, i))
			pq_sendfloat8(&buf, b->at[i]);
	PG_RETURN_BYTEA_P(pq_endtypsend(&buf));
}

/*
 * kpi.bands(amber, green, blue): not strict, a NULL argument leaves that
 * level out; all NULL is an error (no level at all).
 */
Datum
kpi_bands_make(PG_FUNCTION_ARGS)
{
	uint8		mask = 0;
	float8		at[KPI_LEVEL_COUNT] = {0};
	int			i;

	for (i = 0; i < KPI_LEVEL_COUNT; i++)
	{
		if (PG_ARGISNULL(i))
			continue;
		mask |= (uint8) (1 << i);
		at[i] = PG_GETARG_FLOAT8(i);
	}
	PG_RETURN_POINTER(bands_make(mask, at));
}

/* ---------------------------------------------------------------------
 * Comparison and hashing
 *
 * Only there so rows holding bands can be compared, grouped and indexed; the
 * order (by the set of levels present, then the thresholds from amber up)
 * has no business meaning.
 * ---------------------------------------------------------------------
 */

/* Three-way comparison of two bands values. */
static int
bands_cmp(const KpiBands *x, const KpiBands *y)
{
	int			i;

	if (x->mask != y->mask)
		return x->mask < y->mask ? -1 : 1;
	for (i = 0; i < KPI_LEVEL_COUNT; i++)
	{
		if (!band_present(x, i) || x->at[i] == y->at[i])
			continue;
		return x->at[i] < y->at[i] ? -1 : 1;
	}
	return 0;
}

#define BANDS_CMP(fcinfo) \
	bands_cmp(PG_GETARG_KPI_BANDS_P(0), PG_GETARG_KPI_BANDS_P(1))

/* =, <>, <, <=, >, >= and the btree support function 1 */
KPI_BTREE_FUNCS(kpi_bands, BANDS_CMP(fcinfo))

/* The identifying bytes of b: pad and absent thresholds zeroed, -0 as 0. */
static void
bands_canonical(const KpiBands *b, KpiBands *c)
{
	int			i;

	memset(c, 0, sizeof(KpiBands));
	c->version = KPI_BANDS_VERSION;
	c->mask = b->mask;
	for (i = 0; i < KPI_LEVEL_COUNT; i++)
		if (band_present(b, i) && b->at[i] != 0.0)
			c->at[i] = b->at[i];
}

/* hash support function 1. */
Datum
kpi_bands_hash(PG_FUNCTION_ARGS)
{
	KpiBands	c;

	bands_canonical(PG_GETARG_KPI_BANDS_P(0), &c);
	return hash_any((const unsigned char *) &c, sizeof(KpiBands));
}

/* hash support function 2 (seeded, 64-bit). */
Datum
kpi_bands_hash_extended(PG_FUNCTION_ARGS)
{
	KpiBands	c;

	bands_canonical(PG_GETARG_KPI_BANDS_P(0), &c);
	return hash_any_extended((const unsigned char *) &c, sizeof(KpiBands),
							 PG_GETARG_INT64(1));
}

/* ---------------------------------------------------------------------
 * Status
 * ---------------------------------------------------------------------
 */

/*
 * The status level of attainment att under bands b: the highest level whose
 * threshold att reaches, red if none.  +Infinity reaches the highest level
 * present, -Infinity none.  NaN reaches none either (red); callers that want
 * NULL for NaN, as kpi.status does, test for it first.
 */
KpiStatusLevel
kpi_bands_level(const KpiBands *b, float8 att)
{
	KpiStatusLevel level = KPI_STATUS_RED;
	int			i;

	for (i = 0; i < KPI_LEVEL_COUNT; i++)
		if (band_present(b, i) && att >= b->at[i])
			level = (KpiStatusLevel) (i + 1);
	return level;
}

/*
 * OIDs of the kpi.status labels, found once per backend.  The cache lives
 * in static memory rather than fn_extra so that set-returning functions and
 * triggers, which keep their own state in fn_extra, can use it too; it is
 * reset when any type or enum label changes (DROP EXTENSION, say).
 */
static Oid	status_oids[KPI_LEVEL_COUNT + 1];
static bool status_oids_valid = false;
static bool status_callback_registered = false;

/* Syscache callback: forget the label OIDs. */
static void
status_oids_inval(Datum arg, int cacheid, uint32 hashvalue)
{
	status_oids_valid = false;
}

/* Look up kpi.status and its four labels. */
static void
status_oids_load(void)
{
	Oid			nsp;
	Oid			typid;
	int			i;

	if (!status_callback_registered)
	{
		CacheRegisterSyscacheCallback(TYPEOID, status_oids_inval, (Datum) 0);
		CacheRegisterSyscacheCallback(ENUMOID, status_oids_inval, (Datum) 0);
		status_callback_registered = true;
	}

	/* kpi is not relocatable: its schema is always "kpi". */
	nsp = get_namespace_oid("kpi", false);
	typid = GetSysCacheOid2(TYPENAMENSP, Anum_pg_type_oid,
							CStringGetDatum("status"), ObjectIdGetDatum(nsp));
	if (!OidIsValid(typid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("type kpi.status does not exist"),
				 errhint("Reinstall the extension: DROP EXTENSION kpi; CREATE EXTENSION kpi;")));

	for (i = 0; i <= KPI_LEVEL_COUNT; i++)
	{
		status_oids[i] = GetSysCacheOid2(ENUMTYPOIDNAME, Anum_pg_enum_oid,
										 ObjectIdGetDatum(typid),
										 CStringGetDatum(status_labels[i]));
		if (!OidIsValid(status_oids[i]))
			ereport(ERROR,
					(errcode(ERRCODE_UNDEFINED_OBJECT),
					 errmsg("label \"%s\" of enum kpi.status does not exist",
							status_labels[i])));
	}
	status_oids_valid = true;
}

/*
 * The kpi.status datum (an enum label OID) for level.  fcinfo is the
 * caller's; the lookup does not need it (see the cache above), it is taken
 * so that callers need not change should the lookup ever depend on the call.
 */
Datum
kpi_status_datum(FunctionCallInfo fcinfo, KpiStatusLevel level)
{
	Assert(level >= KPI_STATUS_RED && level <= KPI_STATUS_BLUE);
	if (!status_oids_valid)
		status_oids_load();
	return ObjectIdGetDatum(status_oids[level]);
}

/* kpi.status(att, b) and the operator att @ b; NULL for NaN. */
Datum
kpi_status(PG_FUNCTION_ARGS)
{
	float8		att = PG_GETARG_FLOAT8(0);
	KpiBands   *b = PG_GETARG_KPI_BANDS_P(1);

	if (isnan(att))
		PG_RETURN_NULL();
	return kpi_status_datum(fcinfo, kpi_bands_level(b, att));
}
