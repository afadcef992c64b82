/*
 * kpi.c
 *	  Module entry of the kpi extension (the magic block that lets PostgreSQL
 *	  check the library was built for this server), and what the C files
 *	  share: kept SPI plans that follow a re-created extension, statements
 *	  run on the latest snapshot, and the test for a dump restore.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "utils/guc.h"
#include "utils/lsyscache.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"

#include "kpi.h"

PG_MODULE_MAGIC;

/*
 * Every kept plan is registered by the address of the static variable that
 * holds it.  Plans carry the OIDs of the extension's types in their
 * parameter lists, so when the extension is dropped and created again in
 * the same backend (connection pools keep sessions for days) every plan is
 * freed and its variable reset to NULL: the owner prepares it again.
 */
#define KPI_MAX_KEPT_PLANS 64

static SPIPlanPtr *kept_slots[KPI_MAX_KEPT_PLANS];
static int	n_kept_slots = 0;
static Oid	kept_for_period = InvalidOid;	/* kpi.period's OID the plans use */

/* Free every registered plan and forget it. */
static void
forget_kept_plans(void)
{
	int			i;

	for (i = 0; i < n_kept_slots; i++)
	{
		if (*kept_slots[i] != NULL)
			SPI_freeplan(*kept_slots[i]);
		*kept_slots[i] = NULL;
	}
	n_kept_slots = 0;
}

/*
 * Make sure the kept plans belong to the extension as it is now; call at
 * the start of every entry point that uses them.  Returns kpi.period's OID.
 */
Oid
kpi_plans_check(void)
{
	Oid			period = kpi_type_oid("period");

	if (period != kept_for_period)
	{
		forget_kept_plans();
		kept_for_period = period;
	}
	return period;
}

/*
 * Prepare a statement once and keep it in *slot for the life of the
 * extension in this backend (SPI_keepplan); a no-op when *slot is set.
 * Every statement names its objects with their schema, so a kept plan never
 * depends on the caller's search_path.
 */
void
kpi_prepare_into(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes,
				 int cursor_options)
{
	if (*slot != NULL)
		return;
	if (n_kept_slots >= KPI_MAX_KEPT_PLANS)
		elog(ERROR, "kpi: too many kept plans");
	*slot = kpi_prepare_kept(sql, nargs, argtypes, cursor_options);
	kept_slots[n_kept_slots++] = slot;
}

/* Prepare and keep a statement (the caller keeps track of it). */
SPIPlanPtr
kpi_prepare_kept(const char *sql, int nargs, Oid *argtypes, int cursor_options)
{
	SPIPlanPtr	plan = SPI_prepare_cursor(sql, nargs, argtypes, cursor_options);

	if (plan == NULL)
		elog(ERROR, "kpi: SPI_prepare failed for \"%s\": %s", sql,
			 SPI_result_code_string(SPI_result));
	if (SPI_keepplan(plan) != 0)
		elog(ERROR, "kpi: SPI_keepplan failed");
	return plan;
}

/*
 * Run a kept plan read-only through a cursor and hand each row to fn, batch
 * rows at a time, so that a query with many rows never holds them all at
 * once.  fn runs in memory context cxt, the caller's state's; the tuples
 * are freed after each batch.
 */
void
kpi_spi_each_row(SPIPlanPtr plan, Datum *args, const char *nulls, long batch,
				 MemoryContext cxt, KpiRowFn fn, void *state, void *arg)
{
	Portal		portal = SPI_cursor_open(NULL, plan, args, nulls, true);

	for (;;)
	{
		MemoryContext old;
		uint64		i;

		SPI_cursor_fetch(portal, true, batch);
		if (SPI_processed == 0)
			break;
		old = MemoryContextSwitchTo(cxt);
		for (i = 0; i < SPI_processed; i++)
			fn(state, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, arg);
		MemoryContextSwitchTo(old);
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_freetuptable(SPI_tuptable);
	SPI_cursor_close(portal);
}

/*
 * An array of n 64-bit values of type elemtype (bigint, or kpi.period,
 * whose datum is the same int64), in the current memory context.
 */
Datum
kpi_int64_array(const int64 *v, int n, Oid elemtype)
{
	Datum	   *d = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
		d[i] = Int64GetDatum(v[i]);
	return PointerGetDatum(construct_array(d, n, elemtype, sizeof(int64),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * Run a kept plan on the latest snapshot, seeing every committed row and
 * this transaction's own, whatever the isolation level.  Derived state is
 * read and written this way after the rows it depends on are locked: under
 * REPEATABLE READ the transaction's snapshot may predate a concurrent
 * writer that committed while we waited for its lock.
 */
int
kpi_spi_latest(SPIPlanPtr plan, Datum *args, const char *nulls, long tcount)
{
	return SPI_execute_snapshot(plan, args, nulls, GetLatestSnapshot(),
								InvalidSnapshot, false, true, tcount);
}

/*
 * Is this session restoring a dump?  pg_dump's scripts and pg_restore (in
 * each of its parallel workers too) turn off check_function_bodies and
 * row_security before loading; ordinary writers keep both on.  In such a
 * session the rows kpi derives elsewhere (history, alerts) arrive from the
 * dump, so the triggers must not derive them a second time.
 */
bool
kpi_restoring(void)
{
	/*
	 * Anyone may turn both settings off, but only a restore by a superuser
	 * or the owner counts: a restore skips checks and history, and
	 * kpi.restore_guard() switches session_replication_role, which is not
	 * an ordinary role's to change.  GetOuterUserId(): the session's role,
	 * not the owner an owner-rights trigger runs as.
	 */
	return !check_function_bodies && !row_security && kpi_is_owner(GetOuterUserId());
}

PG_FUNCTION_INFO_V1(kpi_in_restore);
/* kpi.in_restore(): kpi_restoring() for the PL/pgSQL triggers. */
Datum
kpi_in_restore(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(kpi_restoring());
}

/*
 * The OID of table kpi.<name>, or InvalidOid when the installed release
 * has no such table (a library newer than the objects, during ALTER
 * EXTENSION UPDATE).  Looked up each time: an update may add it while
 * this backend lives.
 */
Oid
kpi_relation(const char *name)
{
	Oid			nsp = get_namespace_oid("kpi", true);

	return OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
}

/* The OID of a type of schema kpi, by name (the schema is fixed). */
Oid
kpi_type_oid(const char *name)
{
	TypeName   *tn = makeTypeNameFromNameList(list_make2(makeString("kpi"),
														 makeString(pstrdup(name))));

	return typenameTypeId(NULL, tn);
}
