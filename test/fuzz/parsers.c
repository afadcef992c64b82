/*
 * parsers.c
 *	  libFuzzer harness for the text input of kpi.period, kpi.goal,
 *	  kpi.bands and kpi.tally (make reliability; test/scripts/reliability.sh).
 *
 * The input's first byte picks the type (byte % 4: 0 period, 1 goal,
 * 2 bands, 3 tally, so the corpus files start with a digit); the rest,
 * up to the first NUL, is the text handed to the type's input function,
 * compiled from the project's own src/period.c, goal.c, bands.c and tally.c
 * and run on the backend stub in pgstub.c.  For every input:
 *
 *  - the input function either accepts it or raises an error whose SQLSTATE
 *    is one the documentation gives for that type (docs/types.md,
 *    docs/rollups.md): period 22007, 22008; goal and bands 22P02, 22003,
 *    22023; tally 22P02.  Any other SQLSTATE aborts;
 *  - an accepted value v1 is printed (t1) and t1 read back (v2): reading it
 *    must not fail, v2 must be byte for byte v1, and printing v2 must give t1
 *    again;
 *  - v1 is sent in binary and received back (v3): no error, every byte of
 *    the message consumed, and v3 byte for byte v2.
 *
 * AddressSanitizer and UndefinedBehaviorSanitizer watch all of it; a
 * failure aborts, and libFuzzer saves the input as crash-<sha1>.
 */
#include "postgres.h"

#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "fmgr.h"
#include "lib/stringinfo.h"

#include "pgstub.h"

extern Datum kpi_period_in(PG_FUNCTION_ARGS);
extern Datum kpi_period_out(PG_FUNCTION_ARGS);
extern Datum kpi_period_send(PG_FUNCTION_ARGS);
extern Datum kpi_period_recv(PG_FUNCTION_ARGS);
extern Datum kpi_goal_in(PG_FUNCTION_ARGS);
extern Datum kpi_goal_out(PG_FUNCTION_ARGS);
extern Datum kpi_goal_send(PG_FUNCTION_ARGS);
extern Datum kpi_goal_recv(PG_FUNCTION_ARGS);
extern Datum kpi_bands_in(PG_FUNCTION_ARGS);
extern Datum kpi_bands_out(PG_FUNCTION_ARGS);
extern Datum kpi_bands_send(PG_FUNCTION_ARGS);
extern Datum kpi_bands_recv(PG_FUNCTION_ARGS);
extern Datum kpi_tally_in(PG_FUNCTION_ARGS);
extern Datum kpi_tally_out(PG_FUNCTION_ARGS);
extern Datum kpi_tally_send(PG_FUNCTION_ARGS);
extern Datum kpi_tally_recv(PG_FUNCTION_ARGS);

typedef struct KpiType
{
	const char *name;
	PGFunction	in,
				out,
				send,
				recv;
	int			size;			/* bytes of a by-reference value; 0: by value */
	const char *sqlstates[4];	/* documented SQLSTATEs of text input */
} KpiType;

static const KpiType types[4] = {
	{"kpi.period", kpi_period_in, kpi_period_out, kpi_period_send, kpi_period_recv,
	 0, {"22007", "22008"}},
	{"kpi.goal", kpi_goal_in, kpi_goal_out, kpi_goal_send, kpi_goal_recv,
	 24, {"22P02", "22003", "22023"}},
	{"kpi.bands", kpi_bands_in, kpi_bands_out, kpi_bands_send, kpi_bands_recv,
	 32, {"22P02", "22003", "22023"}},
	{"kpi.tally", kpi_tally_in, kpi_tally_out, kpi_tally_send, kpi_tally_recv,
	 112, {"22P02"}},
};

static const char *const stage_names[] = {
	"", "input", "output", "input of the output", "output of the re-read value",
	"binary send", "binary receive"
};

/* Print s with C escapes for anything not printable ASCII. */
static void
print_escaped(const char *s)
{
	const unsigned char *p;

	fputc('"', stderr);
	for (p = (const unsigned char *) s; *p; p++)
	{
		if (*p == '"' || *p == '\\')
			fprintf(stderr, "\\%c", *p);
		else if (*p >= 0x20 && *p < 0x7f)
			fputc(*p, stderr);
		else
			fprintf(stderr, "\\x%02x", *p);
	}
	fputc('"', stderr);
}

static void
print_bytes(const char *label, Datum v, const KpiType *t)
{
	const unsigned char *b;
	int64		byval;
	int			n,
				i;

	if (t->size == 0)
	{
		byval = DatumGetInt64(v);
		b = (const unsigned char *) &byval;
		n = sizeof(byval);
	}
	else
	{
		b = (const unsigned char *) DatumGetPointer(v);
		n = t->size;
	}
	fprintf(stderr, "  %s:", label);
	for (i = 0; i < n; i++)
		fprintf(stderr, "%s%02x", i % 8 ? "" : " ", b[i]);
	fputc('\n', stderr);
}

static void fail(const KpiType *t, const char *input, const char *what) pg_attribute_noreturn();

static void
fail(const KpiType *t, const char *input, const char *what)
{
	fprintf(stderr, "\nkpi fuzz: %s: %s\n  input: ", t->name, what);
	print_escaped(input);
	fputc('\n', stderr);
	abort();
}

static bool
same_value(const KpiType *t, Datum a, Datum b)
{
	if (t->size == 0)
		return DatumGetInt64(a) == DatumGetInt64(b);
	return memcmp(DatumGetPointer(a), DatumGetPointer(b), t->size) == 0;
}

static bool
documented(const KpiType *t, int sqlerrcode)
{
	char		code[6];
	int			i;

	pgstub_sqlstate(sqlerrcode, code);
	for (i = 0; i < lengthof(t->sqlstates) && t->sqlstates[i]; i++)
		if (strcmp(code, t->sqlstates[i]) == 0)
			return true;
	return false;
}

static void
check_one(const KpiType *t, const char *input)
{
	sigjmp_buf	jb;
	volatile int stage = 0;
	/* set before a call that may longjmp, read after: volatile */
	Datum volatile v1 = 0;
	Datum volatile v2 = 0;
	char	   *volatile t1 = NULL;

	PG_exception_stack = &jb;
	if (sigsetjmp(jb, 0) != 0)
	{
		const PgStubError *e = pgstub_last_error();
		char		code[6];

		PG_exception_stack = NULL;
		if (stage == 1 && documented(t, e->sqlerrcode))
		{
			pgstub_clear_error();
			return;
		}
		fprintf(stderr, "\nkpi fuzz: %s: error %s in %s: %s\n",
				t->name, pgstub_sqlstate(e->sqlerrcode, code), stage_names[stage],
				e->message ? e->message : "(no message)");
		if (e->detail)
			fprintf(stderr, "  detail: %s\n", e->detail);
		fprintf(stderr, "  raised at %s:%d (%s)\n  input: ",
				e->filename ? e->filename : "?", e->lineno,
				e->funcname ? e->funcname : "?");
		print_escaped(input);
		fputc('\n', stderr);
		if (t1)
		{
			fprintf(stderr, "  output: ");
			print_escaped(t1);
			fputc('\n', stderr);
		}
		abort();
	}

	stage = 1;
	v1 = DirectFunctionCall1(t->in, CStringGetDatum(input));

	stage = 2;
	t1 = DatumGetCString(DirectFunctionCall1(t->out, v1));
	if (t1[0] == '\0')
		fail(t, input, "empty output");

	stage = 3;
	v2 = DirectFunctionCall1(t->in, CStringGetDatum(t1));
	if (!same_value(t, v1, v2))
	{
		fprintf(stderr, "\nkpi fuzz: %s: the output does not read back as the same value\n  output: ",
				t->name);
		print_escaped(t1);
		fputc('\n', stderr);
		print_bytes("value   ", v1, t);
		print_bytes("re-read ", v2, t);
		fail(t, input, "text round trip changed the value");
	}

	stage = 4;
	{
		char	   *t2 = DatumGetCString(DirectFunctionCall1(t->out, v2));

		if (strcmp(t1, t2) != 0)
		{
			fprintf(stderr, "\nkpi fuzz: %s: output ", t->name);
			print_escaped(t1);
			fprintf(stderr, " reads back and prints as ");
			print_escaped(t2);
			fputc('\n', stderr);
			fail(t, input, "text round trip changed the text");
		}
	}

	stage = 5;
	{
		bytea	   *msg = (bytea *) DatumGetPointer(DirectFunctionCall1(t->send, v1));
		StringInfoData buf;
		Datum		v3;

		buf.data = VARDATA(msg);
		buf.len = VARSIZE(msg) - VARHDRSZ;
		buf.maxlen = buf.len;
		buf.cursor = 0;
		stage = 6;
		v3 = DirectFunctionCall1(t->recv, PointerGetDatum(&buf));
		if (buf.cursor != buf.len)
			fail(t, input, "binary receive left bytes of the message unread");
		if (!same_value(t, v2, v3))
		{
			print_bytes("value   ", v2, t);
			print_bytes("received", v3, t);
			fail(t, input, "binary round trip changed the value");
		}
	}

	PG_exception_stack = NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *input;

	if (size < 1)
		return 0;
	input = malloc(size);
	memcpy(input, data + 1, size - 1);
	input[size - 1] = '\0';

	check_one(&types[data[0] % 4], input);

	pgstub_free_all();
	free(input);
	return 0;
}
