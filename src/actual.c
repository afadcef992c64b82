/*
 * actual.c
 *	  Keeping kpi.actual equal to a fresh computation from its sources:
 *	  the measurements, the targets, the indicators and the company's zone.
 *
 * kpi.actual has one row per key (indicator, scope, period of one of the
 * indicator's grains) that has measurements or a target.  The row holds the
 * tally of the key's measurements, and the value, target, attainment and
 * status they give.  Every path that changes a source ends here:
 *
 *	kpi.measurement  statement trigger: inserted rows are merged in as one
 *	                 tally per key; keys of updated and deleted rows are
 *	                 recomputed from kpi.measurement.  The table is
 *	                 partitioned (0.11): a restore that loads a partition
 *	                 directly is folded in row by row instead
 *	kpi.target       statement trigger: its keys are evaluated again
 *	kpi.indicator    statement trigger: new bands or agg evaluate its keys
 *	                 again, new grains rebuild them
 *	kpi.setting      a new time_zone rebuilds every key
 *
 * The one rule that makes every interleaving of these paths come out right
 * is: lock the keys, then read.  A batch first locks the kpi.actual rows of
 * all its keys, in key order (creating the missing ones), so that writers
 * of one key queue up and writers cannot deadlock; only then does it read
 * the current tally, the measurements, the target and the indicator, on the
 * latest snapshot, and write.  A writer that waited for a key therefore
 * sees what the one before it committed, under READ COMMITTED and
 * REPEATABLE READ alike.  Changes that decide which keys exist (grains, the
 * zone) lock kpi.measurement against writers for their rebuild.
 *
 * The tally of a key does not depend on the indicator's agg: a value
 * recorded with a denominator adds to the numerator and denominator sums as
 * well as to the plain statistics, so a change of agg only evaluates again.
 *
 * What a batch evaluates goes to the alert rules (alert.c), in the same
 * transaction, except in a session that restores a dump: there the alerts
 * arrive with the dump.
 *
 * Every statement is prepared once (kpi_prepare_into) and names every object
 * with its schema: the trigger functions run as SECURITY DEFINER.
 */
#include "postgres.h"

#include <math.h>

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/partition.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "access/xact.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"

#include "kpi.h"

/* What a batch needs to know of an indicator. */
typedef struct IndicatorInfo
{
	int64		id;				/* hash key */
	KpiAggKind	agg;
	uint8		grains;			/* bit per KpiGrain */
	bool		retired;
	char		code[NAMEDATALEN * 2];
} IndicatorInfo;

/* An (indicator, scope, period) key. */
typedef struct ActualKey
{
	int64		indicator_id;
	int64		scope_id;
	KpiPeriod	period;
} ActualKey;

/* How a key's new tally is found, strongest last. */
typedef enum KeyMode
{
	KEY_REEVAL,					/* the tally stands; evaluate again */
	KEY_MERGE,					/* current tally + delta */
	KEY_RECOMPUTE,				/* from kpi.measurement */
	KEY_REPLACE					/* delta is the whole tally (rebuilds) */
} KeyMode;

typedef struct ActualEntry
{
	ActualKey	key;			/* hash key */
	KeyMode		mode;
	KpiTally	delta;			/* merge: rows to add; replace: all rows */
	KpiTally	tally;			/* the new tally */
	bool		keep;			/* the row stays: data or a target */
	bool		has_value,
				has_target,
				has_att;
	float8		value,
				target,
				att;
	int			status;			/* KpiStatusLevel, -1 = none */
} ActualEntry;

/* One batch of keys, from one trigger call or one rebuild. */
typedef struct Batch
{
	HTAB	   *indicators;		/* IndicatorInfo by id */
	HTAB	   *keys;			/* ActualEntry by key */
	pg_tz	   *tz;				/* the company's zone */
	Oid			period_type;
	Oid			tally_type;
	bool		has_tally;		/* kpi.measurement.tally exists (0.10) */
} Batch;

/* Column numbers of kpi.measurement, looked up once per call. */
typedef struct MeasurementCols
{
	int			id;
	int			indicator_id;
	int			scope_id;
	int			at;
	int			value;
	int			denominator;
	int			tally;			/* 0: the column is absent (before 0.10) */
} MeasurementCols;

/* Keys applied by one round of statements (see batch_apply). */
#define BATCH_SLICE 100000

/* Indicators rebuilt in one batch by kpi.actual_rebuild() (rebuild_each). */
#define REBUILD_GROUP 64

static SPIPlanPtr plan_indicator = NULL;
static SPIPlanPtr plan_prelock = NULL;
static SPIPlanPtr plan_lock = NULL;
static SPIPlanPtr plan_read = NULL;
static SPIPlanPtr plan_recompute = NULL;
static SPIPlanPtr plan_recompute_tally = NULL;
static SPIPlanPtr plan_write = NULL;
static SPIPlanPtr plan_delete = NULL;
static SPIPlanPtr plan_keys_of = NULL;
static SPIPlanPtr plan_scan = NULL;
static SPIPlanPtr plan_scan_tally = NULL;
static SPIPlanPtr plan_no_den = NULL;
static SPIPlanPtr plan_grain_targets = NULL;
static SPIPlanPtr plan_moved = NULL;
static SPIPlanPtr plan_mark = NULL;

static const char *const status_names[] = {"red", "amber", "green", "blue"};

/* Prepare the statements of this file (after kpi_plans_check). */
static void
prepare_plans(Oid period_type, Oid tally_type)
{
	Oid			t[8];
	Oid			period_array = get_array_type(period_type);
	Oid			tally_array = get_array_type(tally_type);

	t[0] = INT8OID;
	kpi_prepare_into(&plan_indicator,
					 "SELECT i.agg::pg_catalog.text, i.grains, i.lifecycle, i.code "
					 "FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) $1",
					 1, t, 0);

	kpi_prepare_into(&plan_prelock, "LOCK TABLE kpi.target, kpi.indicator IN ACCESS SHARE MODE",
					 0, NULL, 0);

	/*
	 * Lock every key of a batch in key order (kpi_key_cmp: period first),
	 * creating the rows that are missing (with an empty tally): ON
	 * CONFLICT DO UPDATE ... WHERE false locks an existing row without
	 * writing it.
	 */
	t[0] = INT8ARRAYOID;
	t[1] = INT8ARRAYOID;
	t[2] = period_array;
	t[3] = tally_type;
	kpi_prepare_into(&plan_lock,
					 "INSERT INTO kpi.actual AS a (indicator_id, scope_id, period, tally) "
					 "SELECT k.i, k.s, k.p, $4 "
					 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS k(i, s, p) "
					 "ORDER BY k.p, k.i, k.s "
					 "ON CONFLICT (indicator_id, scope_id, period) DO UPDATE "
					 "SET updated_at = a.updated_at WHERE false",
					 4, t, 0);

	/* The current tally, target, agg and bands of every key (locked). */
	kpi_prepare_into(&plan_read,
					 "SELECT k.n, a.tally, t.goal, i.agg::pg_catalog.text, i.bands "
					 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3))"
					 "     WITH ORDINALITY AS k(i, s, p, n) "
					 "JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) k.i "
					 "LEFT JOIN kpi.actual a ON a.indicator_id OPERATOR(pg_catalog.=) k.i"
					 " AND a.scope_id OPERATOR(pg_catalog.=) k.s AND a.period OPERATOR(kpi.=) k.p "
					 "LEFT JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) k.i"
					 " AND t.scope_id OPERATOR(pg_catalog.=) k.s AND t.period OPERATOR(kpi.=) k.p",
					 3, t, 0);


	t[2] = period_array;
	t[3] = tally_array;
	t[4] = FLOAT8ARRAYOID;
	t[5] = FLOAT8ARRAYOID;
	t[6] = FLOAT8ARRAYOID;
	t[7] = TEXTARRAYOID;
	kpi_prepare_into(&plan_write,
					 "UPDATE kpi.actual a SET tally = k.t, value = k.v, target = k.g, attainment = k.att,"
					 " status = k.st::kpi.status, updated_at = pg_catalog.now() "
					 "FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),"
					 "                pg_catalog.unnest($4), pg_catalog.unnest($5), pg_catalog.unnest($6),"
					 "                pg_catalog.unnest($7), pg_catalog.unnest($8)) AS k(i, s, p, t, v, g, att, st) "
					 "WHERE a.indicator_id OPERATOR(pg_catalog.=) k.i AND a.scope_id OPERATOR(pg_catalog.=) k.s"
					 " AND a.period OPERATOR(kpi.=) k.p",
					 8, t, 0);
	kpi_prepare_into(&plan_delete,
					 "DELETE FROM kpi.actual a USING ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2),"
					 " pg_catalog.unnest($3)) AS k(i, s, p) "
					 "WHERE a.indicator_id OPERATOR(pg_catalog.=) k.i AND a.scope_id OPERATOR(pg_catalog.=) k.s"
					 " AND a.period OPERATOR(kpi.=) k.p",
					 3, t, 0);

}

/*
 * The statements that read kpi.measurement or scan whole tables are
 * prepared only where they are used: preparing a statement locks the
 * tables it names, and a batch that does not read measurements must not
 * lock kpi.measurement after kpi.actual (see kpi.lock_for_change()).
 */
static SPIPlanPtr
plan_one(SPIPlanPtr *slot, const char *sql, Oid argtype, int cursor_options)
{
	kpi_prepare_into(slot, sql, 1, &argtype, cursor_options);
	return *slot;
}

/* Indicator ids as the int8[] of those statements. */
static inline Datum
ids_datum(const int64 *ids, int n)
{
	return kpi_int64_array(ids, n, INT8OID);
}

/*
 * Does kpi.measurement have the tally column of release 0.10?  Asked once
 * per batch (batch_init): ALTER EXTENSION UPDATE may add it while this
 * backend lives, and the library must work with an older release's tables
 * until then.
 */
static bool
measurement_has_tally(void)
{
	Oid			rel = get_relname_relid("measurement", get_namespace_oid("kpi", false));

	return OidIsValid(rel) && get_attnum(rel, "tally") != InvalidAttrNumber;
}

/* The measurements of keys ($1..$4: indicators, scopes, from, to), by key. */
#define RECOMPUTE_FROM \
	"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)," \
	"                pg_catalog.unnest($4)) WITH ORDINALITY AS k(i, s, lo, hi, n) " \
	"JOIN kpi.measurement m ON m.indicator_id OPERATOR(pg_catalog.=) k.i" \
	" AND m.scope_id OPERATOR(pg_catalog.=) k.s" \
	" AND m.at OPERATOR(pg_catalog.>=) k.lo AND m.at OPERATOR(pg_catalog.<) k.hi " \
	"GROUP BY k.n"

/* The tally of keys from their measurements, between two instants each. */
static SPIPlanPtr
recompute_plan(bool has_tally)
{
	Oid			t[4] = {INT8ARRAYOID, INT8ARRAYOID, TIMESTAMPTZARRAYOID, TIMESTAMPTZARRAYOID};

	/*
	 * Between the period's midnights in the company's zone: values without
	 * a denominator, values with one (which also feed the ratio sums), and
	 * measurements that carry a tally of their own (0.10), merged whole.
	 */
	if (has_tally)
	{
		kpi_prepare_into(&plan_recompute_tally,
						 "SELECT k.n,"
						 "  kpi.tally(m.value, m.at) FILTER (WHERE m.denominator IS NULL AND m.tally IS NULL),"
						 "  kpi.tally(m.value, m.denominator, m.at) FILTER (WHERE m.denominator IS NOT NULL AND m.tally IS NULL),"
						 "  kpi.merge(m.tally) " RECOMPUTE_FROM,
						 4, t, 0);
		return plan_recompute_tally;
	}
	kpi_prepare_into(&plan_recompute,
					 "SELECT k.n,"
					 "  kpi.tally(m.value, m.at) FILTER (WHERE m.denominator IS NULL),"
					 "  kpi.tally(m.value, m.denominator, m.at) FILTER (WHERE m.denominator IS NOT NULL),"
					 "  NULL::kpi.tally " RECOMPUTE_FROM,
					 4, t, 0);
	return plan_recompute;
}

/* The keys some indicators (NULL = every indicator) have now: rows and targets. */
static SPIPlanPtr
keys_of_plan(void)
{
	return plan_one(&plan_keys_of,
					"SELECT a.indicator_id, a.scope_id, a.period FROM kpi.actual a "
					"WHERE $1 IS NULL OR a.indicator_id OPERATOR(pg_catalog.=) ANY ($1) "
					"UNION "
					"SELECT t.indicator_id, t.scope_id, t.period FROM kpi.target t "
					"WHERE $1 IS NULL OR t.indicator_id OPERATOR(pg_catalog.=) ANY ($1)",
					INT8ARRAYOID, 0);
}

/*
 * The three key arrays (indicator ids, scope ids, periods) that the
 * set-oriented statements of this file and of alert.c take as $1..$3.
 */
void
kpi_key_array_args(const Datum *ind, const Datum *scope, const Datum *period, int n,
				   Oid period_type, Datum *args)
{
	args[0] = PointerGetDatum(construct_array((Datum *) ind, n, INT8OID, sizeof(int64),
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[1] = PointerGetDatum(construct_array((Datum *) scope, n, INT8OID, sizeof(int64),
											  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	args[2] = PointerGetDatum(construct_array((Datum *) period, n, period_type,
											  sizeof(KpiPeriod), true, TYPALIGN_DOUBLE));
}

/* ---------------------------------------------------------------------
 * Batches
 * ---------------------------------------------------------------------
 */

/* Start a batch: plans ready, hashes empty, the company's zone resolved. */
static void
batch_init(Batch *b)
{
	HASHCTL		ctl;

	b->period_type = kpi_plans_check();
	b->tally_type = kpi_type_oid("tally");
	prepare_plans(b->period_type, b->tally_type);

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(IndicatorInfo);
	ctl.hcxt = CurrentMemoryContext;
	b->indicators = hash_create("kpi indicators", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(ActualKey);
	ctl.entrysize = sizeof(ActualEntry);
	b->keys = hash_create("kpi actual keys", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	b->tz = kpi_company_zone();
	b->has_tally = measurement_has_tally();
}

/*
 * The info of an indicator, loaded (latest snapshot) on first sight; NULL
 * for an indicator that does not exist yet in a restore session.
 */
static IndicatorInfo *
indicator_info(Batch *b, int64 id)
{
	bool		found;
	IndicatorInfo *info = hash_search(b->indicators, &id, HASH_ENTER, &found);
	Datum		arg = Int64GetDatum(id);
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Datum	   *elems;
	int			nelems,
				i;

	if (found)
		return info;
	if (kpi_spi_latest(plan_indicator, &arg, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.indicator");
	if (SPI_processed != 1)
	{
		/*
		 * pg_restore -j may load measurements or targets before their
		 * indicator: they are left out here, and the indicator's arrival
		 * rebuilds everything (kpi.indicator_restored()).
		 */
		if (kpi_restoring())
		{
			hash_search(b->indicators, &id, HASH_REMOVE, NULL);
			return NULL;
		}
		ereport(ERROR,
				(errcode(ERRCODE_FOREIGN_KEY_VIOLATION),
				 errmsg("indicator " INT64_FORMAT " does not exist", id)));
	}
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	info->agg = kpi_agg_kind_from_name(TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull)));
	deconstruct_array(DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull)),
					  TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
	info->grains = 0;
	for (i = 0; i < nelems; i++)
		info->grains |= 1 << kpi_grain_from_name(TextDatumGetCString(elems[i]));
	info->retired = strcmp(TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull)),
						   "retired") == 0;
	strlcpy(info->code, TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull)),
			sizeof(info->code));
	SPI_freetuptable(SPI_tuptable);
	return info;
}

/* Add a key to the batch with a mode; the stronger of two modes wins. */
static ActualEntry *
batch_key(Batch *b, int64 indicator_id, int64 scope_id, KpiPeriod period, KeyMode mode)
{
	ActualKey	key;
	ActualEntry *e;
	bool		found;

	memset(&key, 0, sizeof(key));
	key.indicator_id = indicator_id;
	key.scope_id = scope_id;
	key.period = period;
	e = hash_search(b->keys, &key, HASH_ENTER, &found);
	if (!found)
	{
		memset(((char *) e) + sizeof(ActualKey), 0, sizeof(ActualEntry) - sizeof(ActualKey));
		kpi_tally_init(&e->delta);
		e->mode = mode;
	}
	else if (mode > e->mode)
	{
		/* a merge's delta is dropped once the key is recomputed anyway */
		e->mode = mode;
	}
	return e;
}

/*
 * Add the keys some indicators (ids NULL: every indicator) have now, with
 * a row or a target, to the batch with a mode.
 */
static void
batch_current_keys(Batch *b, const int64 *ids, int n, KeyMode mode)
{
	Datum		arg = ids ? ids_datum(ids, n) : (Datum) 0;
	uint64		i;

	if (kpi_spi_latest(keys_of_plan(), &arg, ids ? NULL : "n", 0) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.actual");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		batch_key(b, DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)),
				  DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)),
				  DatumGetKpiPeriod(SPI_getbinval(tup, desc, 3, &isnull)), mode);
	}
	SPI_freetuptable(SPI_tuptable);
}

/*
 * Add one measurement to a tally: a tally it carries is merged whole; a
 * value with a denominator feeds the ratio sums too.
 */
static void
tally_add_value(KpiTally *t, float8 value, bool has_den, float8 den, TimestampTz at,
				const KpiTally *carried)
{
	if (carried != NULL)
		kpi_tally_merge(t, carried);
	else if (has_den)
		kpi_tally_add_ratio(t, value, den, at);
	else
		kpi_tally_add(t, value, at);
}

/*
 * Add one measurement's value to the keys of every grain of its indicator
 * (mode MERGE or REPLACE), or mark those keys for recomputation.
 */
static void
batch_measurement(Batch *b, IndicatorInfo *info, int64 scope_id, TimestampTz at,
				  float8 value, bool has_den, float8 den, const KpiTally *carried, KeyMode mode)
{
	DateADT		day = kpi_zone_date(at, b->tz);
	int			g;

	for (g = 0; g < KPI_GRAIN_COUNT; g++)
	{
		ActualEntry *e;

		if ((info->grains & (1 << g)) == 0)
			continue;
		e = batch_key(b, info->id, scope_id, kpi_period_containing(day, (KpiGrain) g), mode);
		if (mode == e->mode && mode != KEY_RECOMPUTE)
			tally_add_value(&e->delta, value, has_den, den, at, carried);
	}
}

/* The entries of a batch in key order: the one order every writer locks in. */
static int
entry_cmp(const void *a, const void *b)
{
	const ActualKey *x = &(*(ActualEntry *const *) a)->key;
	const ActualKey *y = &(*(ActualEntry *const *) b)->key;

	return kpi_key_cmp(x->indicator_id, x->scope_id, x->period,
					   y->indicator_id, y->scope_id, y->period);
}

/* A Datum array as a SQL array of a fixed-length, by-value or not, type. */
static Datum
datum_array(Datum *elems, bool *nulls, int n, Oid type, int len, bool byval)
{
	int			dims[1] = {n};
	int			lbs[1] = {1};

	return PointerGetDatum(construct_md_array(elems, nulls, 1, dims, lbs, type, len,
											  byval, TYPALIGN_DOUBLE));
}

/* The key arrays ($1..$3) of the entries. */
static void
key_args(Batch *b, ActualEntry **e, int n, Datum *args)
{
	Datum	   *ind = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *scope = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *period = palloc(sizeof(Datum) * Max(n, 1));
	int			i;

	for (i = 0; i < n; i++)
	{
		ind[i] = Int64GetDatum(e[i]->key.indicator_id);
		scope[i] = Int64GetDatum(e[i]->key.scope_id);
		period[i] = KpiPeriodGetDatum(e[i]->key.period);
	}
	kpi_key_array_args(ind, scope, period, n, b->period_type, args);
}

/* Lock (and create where missing) the rows of the entries, in key order. */
static void
lock_keys(Batch *b, ActualEntry **e, int n)
{
	Datum		args[4];
	KpiTally	empty;

	kpi_tally_init(&empty);
	key_args(b, e, n, args);
	args[3] = PointerGetDatum(&empty);
	if (kpi_spi_latest(plan_lock, args, NULL, 0) != SPI_OK_INSERT)
		elog(ERROR, "kpi: could not lock kpi.actual");
}

/* Recompute the tallies of the RECOMPUTE entries from kpi.measurement. */
static void
recompute_tallies(Batch *b, ActualEntry **e, int n)
{
	ActualEntry **r = palloc(sizeof(ActualEntry *) * Max(n, 1));
	Datum	   *ind = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *scope = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *lo = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *hi = palloc(sizeof(Datum) * Max(n, 1));
	Datum		args[4];
	int			nr = 0,
				i;
	uint64		j;

	for (i = 0; i < n; i++)
	{
		if (e[i]->mode != KEY_RECOMPUTE)
			continue;
		r[nr] = e[i];
		ind[nr] = Int64GetDatum(e[i]->key.indicator_id);
		scope[nr] = Int64GetDatum(e[i]->key.scope_id);
		lo[nr] = TimestampTzGetDatum(kpi_zone_midnight(kpi_period_start(e[i]->key.period), b->tz));
		hi[nr] = TimestampTzGetDatum(kpi_zone_midnight(kpi_period_end(e[i]->key.period) + 1, b->tz));
		kpi_tally_init(&e[i]->tally);
		nr++;
	}
	if (nr == 0)
		return;
	args[0] = datum_array(ind, NULL, nr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL);
	args[1] = datum_array(scope, NULL, nr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL);
	args[2] = datum_array(lo, NULL, nr, TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL);
	args[3] = datum_array(hi, NULL, nr, TIMESTAMPTZOID, sizeof(TimestampTz), FLOAT8PASSBYVAL);
	if (kpi_spi_latest(recompute_plan(b->has_tally), args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.measurement");
	for (j = 0; j < SPI_processed; j++)
	{
		HeapTuple	tup = SPI_tuptable->vals[j];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		int64		k = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		Datum		d;
		int			c;

		for (c = 2; c <= 4; c++)
		{
			d = SPI_getbinval(tup, desc, c, &isnull);
			if (!isnull)
				kpi_tally_merge(&r[k - 1]->tally, DatumGetKpiTallyP(d));
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Refuse a tally whose sums left the float8 range (22003). */
static void
check_finite(Batch *b, const ActualEntry *e)
{
	const KpiTally *t = &e->tally;

	if (t->count > 0 &&
		(!isfinite(t->sum + t->comp) || !isfinite(t->num_sum + t->num_comp) ||
		 !isfinite(t->den_sum + t->den_comp)))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("the sum of the measurements of indicator \"%s\" is out of range",
						indicator_info(b, e->key.indicator_id)->code),
				 errdetail("Scope " INT64_FORMAT ", period starting %s.", e->key.scope_id,
						   DatumGetCString(DirectFunctionCall1(date_out,
															   DateADTGetDatum(kpi_period_start(e->key.period))))),
				 errhint("A sum of float8 values must stay below 1.8e308 in magnitude.")));
}

/*
 * Evaluate an entry from its new tally, its goal (NULL if none), the
 * indicator's agg and bands: value, target, attainment, status and pace.
 */
static void
evaluate_entry(Batch *b, ActualEntry *e, const KpiGoal *goal, KpiAggKind agg,
			   const KpiBands *bands)
{
	bool		isnull;

	check_finite(b, e);
	e->value = kpi_tally_value(&e->tally, agg, &isnull);
	e->has_value = !isnull;
	e->has_target = goal != NULL;
	e->has_att = false;
	e->status = -1;
	e->keep = e->tally.count > 0 || goal != NULL;
	if (goal == NULL)
		return;
	e->target = kpi_goal_target_value(goal);
	if (!e->has_value)
		return;
	e->att = kpi_goal_attainment(goal, e->value, &isnull);
	e->has_att = !isnull && !isnan(e->att);
	if (e->has_att)
		e->status = kpi_bands_level(bands, e->att);
}

/* Read what each locked key needs, and evaluate it. */
static void
read_and_evaluate(Batch *b, ActualEntry **e, int n)
{
	Datum		args[3];
	uint64		j;

	key_args(b, e, n, args);
	if (kpi_spi_latest(plan_read, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.actual");
	for (j = 0; j < SPI_processed; j++)
	{
		HeapTuple	tup = SPI_tuptable->vals[j];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull,
					goal_null;
		ActualEntry *x = e[DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)) - 1];
		Datum		cur = SPI_getbinval(tup, desc, 2, &isnull);
		Datum		goal = SPI_getbinval(tup, desc, 3, &goal_null);
		KpiAggKind	agg = kpi_agg_kind_from_name(TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull)));
		KpiBands	bands = *DatumGetKpiBandsP(SPI_getbinval(tup, desc, 5, &isnull));

		switch (x->mode)
		{
			case KEY_REEVAL:
			case KEY_MERGE:
				kpi_tally_init(&x->tally);
				if (cur != (Datum) 0)
					kpi_tally_merge(&x->tally, DatumGetKpiTallyP(cur));
				if (x->mode == KEY_MERGE)
					kpi_tally_merge(&x->tally, &x->delta);
				break;
			case KEY_REPLACE:
				x->tally = x->delta;
				break;
			case KEY_RECOMPUTE:
				break;			/* done by recompute_tallies */
		}
		evaluate_entry(b, x, goal_null ? NULL : DatumGetKpiGoalP(goal), agg, &bands);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Write the rows that stay and delete the others. */
static void
write_keys(Batch *b, ActualEntry **e, int n)
{
	Datum	   *ind = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *scope = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *period = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *tally = palloc(sizeof(Datum) * Max(n, 1));
	Datum	   *num[3];
	bool	   *nul[3];
	Datum	   *st = palloc(sizeof(Datum) * Max(n, 1));
	bool	   *st_null = palloc(sizeof(bool) * Max(n, 1));
	ActualEntry **gone = palloc(sizeof(ActualEntry *) * Max(n, 1));
	int			nw = 0,
				ng = 0,
				i,
				c;
	Datum		args[8];

	for (c = 0; c < 3; c++)
	{
		num[c] = palloc(sizeof(Datum) * Max(n, 1));
		nul[c] = palloc(sizeof(bool) * Max(n, 1));
	}
	for (i = 0; i < n; i++)
	{
		ActualEntry *x = e[i];

		if (!x->keep)
		{
			gone[ng++] = x;
			continue;
		}
		ind[nw] = Int64GetDatum(x->key.indicator_id);
		scope[nw] = Int64GetDatum(x->key.scope_id);
		period[nw] = KpiPeriodGetDatum(x->key.period);
		tally[nw] = PointerGetDatum(&x->tally);
		num[0][nw] = Float8GetDatum(x->value);
		nul[0][nw] = !x->has_value;
		num[1][nw] = Float8GetDatum(x->target);
		nul[1][nw] = !x->has_target;
		num[2][nw] = Float8GetDatum(x->att);
		nul[2][nw] = !x->has_att;
		st_null[nw] = x->status < 0;
		st[nw] = st_null[nw] ? (Datum) 0 : CStringGetTextDatum(status_names[x->status]);
		nw++;
	}
	if (nw > 0)
	{
		kpi_key_array_args(ind, scope, period, nw, b->period_type, args);
		args[3] = datum_array(tally, NULL, nw, b->tally_type, sizeof(KpiTally), false);
		for (c = 0; c < 3; c++)
			args[4 + c] = datum_array(num[c], nul[c], nw, FLOAT8OID, sizeof(float8), FLOAT8PASSBYVAL);
		args[7] = PointerGetDatum(construct_md_array(st, st_null, 1, (int[]) {nw}, (int[]) {1},
													 TEXTOID, -1, false, TYPALIGN_INT));
		if (kpi_spi_latest(plan_write, args, NULL, 0) != SPI_OK_UPDATE)
			elog(ERROR, "kpi: could not write kpi.actual");
	}
	if (ng > 0)
	{
		key_args(b, gone, ng, args);
		if (kpi_spi_latest(plan_delete, args, NULL, 0) != SPI_OK_DELETE)
			elog(ERROR, "kpi: could not delete from kpi.actual");
	}
}

/*
 * Is the alert judgement of release 0.7 installed?  Looked up on every
 * batch: ALTER EXTENSION UPDATE may add it while this backend lives (with
 * the 0.7 library and an older release's objects, alerts wait for it).
 */
static bool
alerts_installed(void)
{
	return OidIsValid(kpi_relation("alert_queue"));
}

/*
 * Mark the (indicator, period) of every key of the batch stale in
 * kpi.subtree: its subtree tallies (and row counts) may have changed.
 * Only appended, so writers on different branches never wait on one
 * another for the company's key; kpi.subtree_refresh() takes the marks.
 * The entries come in key order, period and indicator first, so equal
 * pairs are neighbours.
 */
static void
mark_subtrees(Batch *b, ActualEntry **e, int n)
{
	Datum	   *ind,
			   *period;
	Datum		args[2];
	Oid			t[2];
	int			m = 0,
				i;

	/* release 0.14's table, looked up as alerts_installed() does */
	if (n == 0 || !OidIsValid(kpi_relation("subtree_stale")))
		return;
	ind = palloc(sizeof(Datum) * n);
	period = palloc(sizeof(Datum) * n);
	for (i = 0; i < n; i++)
	{
		if (m > 0 && DatumGetInt64(ind[m - 1]) == e[i]->key.indicator_id &&
			DatumGetKpiPeriod(period[m - 1]) == e[i]->key.period)
			continue;
		ind[m] = Int64GetDatum(e[i]->key.indicator_id);
		period[m] = KpiPeriodGetDatum(e[i]->key.period);
		m++;
	}
	if (plan_mark == NULL)
	{
		t[0] = INT8ARRAYOID;
		t[1] = get_array_type(b->period_type);
		kpi_prepare_into(&plan_mark,
						 "INSERT INTO kpi.subtree_stale (indicator_id, period) "
						 "SELECT * FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2))",
						 2, t, 0);
	}
	args[0] = datum_array(ind, NULL, m, INT8OID, sizeof(int64), FLOAT8PASSBYVAL);
	args[1] = PointerGetDatum(construct_array(period, m, b->period_type, sizeof(KpiPeriod),
											  true, TYPALIGN_DOUBLE));
	if (kpi_spi_latest(plan_mark, args, NULL, 0) != SPI_OK_INSERT)
		elog(ERROR, "kpi: could not mark kpi.subtree stale");
}

/*
 * Hand every key of the batch, kept or removed, to the alert judgement:
 * removing a key's last data or its target withdraws its alert.
 */
static void
judge_alerts(Batch *b, ActualEntry **e, int n)
{
	Datum	   *ind,
			   *scope,
			   *period;
	int			i;

	if (kpi_restoring() || !alerts_installed())
		return;
	ind = palloc(sizeof(Datum) * Max(n, 1));
	scope = palloc(sizeof(Datum) * Max(n, 1));
	period = palloc(sizeof(Datum) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		ind[i] = Int64GetDatum(e[i]->key.indicator_id);
		scope[i] = Int64GetDatum(e[i]->key.scope_id);
		period[i] = KpiPeriodGetDatum(e[i]->key.period);
	}
	kpi_alert_written(b->period_type, ind, scope, period, n);
}

/*
 * Keys recomputed from kpi.measurement by the current statement.  One
 * statement can fire several batches: an upsert fires its INSERT and its
 * UPDATE triggers, a CTE that deletes and inserts fires both.  A recompute
 * already sees the rows the statement inserted, so a later merge batch of
 * the same statement must not add them again: it recomputes those keys.
 * The set lives in the transaction's memory and belongs to one statement.
 */
static HTAB *recomputed_keys = NULL;
static LocalTransactionId recomputed_lxid = InvalidLocalTransactionId;
static TimestampTz recomputed_stmt = 0;

/* The set of the current statement (NULL if none and !create). */
static HTAB *
statement_recomputed(bool create)
{
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	HASHCTL		ctl;

	if (recomputed_keys != NULL && recomputed_lxid == KPI_MY_LXID && recomputed_stmt == stmt)
		return recomputed_keys;
	recomputed_keys = NULL;
	if (!create)
		return NULL;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(ActualKey);
	ctl.entrysize = sizeof(ActualKey);
	ctl.hcxt = TopTransactionContext;
	recomputed_keys = hash_create("kpi recomputed keys", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	recomputed_lxid = KPI_MY_LXID;
	recomputed_stmt = stmt;
	return recomputed_keys;
}

/* Merge entries whose key this statement recomputed before: recompute. */
static void
merge_after_recompute(ActualEntry **e, int n)
{
	HTAB	   *done = statement_recomputed(false);
	int			i;

	if (done == NULL)
		return;
	for (i = 0; i < n; i++)
		if (e[i]->mode == KEY_MERGE && hash_search(done, &e[i]->key, HASH_FIND, NULL) != NULL)
			e[i]->mode = KEY_RECOMPUTE;
}

/* Remember the keys this batch recomputed (or replaced). */
static void
remember_recomputed(ActualEntry **e, int n)
{
	HTAB	   *done = NULL;
	int			i;

	for (i = 0; i < n; i++)
	{
		if (e[i]->mode != KEY_RECOMPUTE && e[i]->mode != KEY_REPLACE)
			continue;
		if (done == NULL)
			done = statement_recomputed(true);
		(void) hash_search(done, &e[i]->key, HASH_ENTER, NULL);
	}
}

/* Apply a batch: lock its keys, read, evaluate, write, judge alerts. */
static void
batch_apply(Batch *b)
{
	long		n = hash_get_num_entries(b->keys);
	ActualEntry **e;
	HASH_SEQ_STATUS seq;
	ActualEntry *x;
	long		i = 0;

	if (n == 0)
		return;
	/*
	 * Tables before rows: every table the batch reads is locked before any
	 * key, so a TRUNCATE (which holds its table exclusively and then waits
	 * for keys, or for our table) cannot close a cycle with us while we
	 * hold keys.  kpi.measurement is held already by the paths that read it.
	 */
	if (kpi_spi_latest(plan_prelock, NULL, NULL, 0) != SPI_OK_UTILITY)
		elog(ERROR, "kpi: could not lock kpi.target");
	e = palloc(sizeof(ActualEntry *) * n);
	hash_seq_init(&seq, b->keys);
	while ((x = hash_seq_search(&seq)) != NULL)
		e[i++] = x;
	qsort(e, n, sizeof(ActualEntry *), entry_cmp);

	/*
	 * In slices of keys, in key order: each statement below takes arrays
	 * of the slice's keys and tallies, which must stay under 1 GB however
	 * many keys one statement touches.  A key lies in one slice, and the
	 * slices lock in the one key order.
	 */
	for (i = 0; i < n; i += BATCH_SLICE)
	{
		ActualEntry **slice = e + i;
		int			m = (int) Min(BATCH_SLICE, n - i);

		lock_keys(b, slice, m);
		merge_after_recompute(slice, m);
		recompute_tallies(b, slice, m);
		remember_recomputed(slice, m);
		read_and_evaluate(b, slice, m);
		write_keys(b, slice, m);
		mark_subtrees(b, slice, m);
		judge_alerts(b, slice, m);
	}
}

/* ---------------------------------------------------------------------
 * Triggers
 * ---------------------------------------------------------------------
 */

/*
 * Refuse a trigger call that is not the one the function was made for: an
 * AFTER ... FOR EACH STATEMENT trigger on kpi.<table>.  The functions are
 * not executable by PUBLIC, so no one else can attach them; this check
 * stops even the owner from attaching one to a table whose rows it would
 * take for kpi's.
 */
/*
 * Is rel kpi.<table>?  kpi.measurement's default partition, the table of
 * 0.10 (kpi.measurement_default), keeps the statement triggers of
 * kpi.measurement for the statements that name it directly: a restore loads
 * its rows that way.
 */
static bool
is_kpi_table(Relation rel, const char *table)
{
	const char *name = RelationGetRelationName(rel);

	if (RelationGetNamespace(rel) != get_namespace_oid("kpi", false))
		return false;
	return strcmp(name, table) == 0 ||
		(strcmp(table, "measurement") == 0 && strcmp(name, "measurement_default") == 0);
}

static TriggerData *
trigger_check(FunctionCallInfo fcinfo, const char *fname, const char *table)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must be called as a trigger", fname)));
	rel = td->tg_relation;
	if (!is_kpi_table(rel, table))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() fires only on kpi.%s, not on \"%s\"", fname, table,
						RelationGetRelationName(rel))));
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must fire AFTER ... FOR EACH STATEMENT", fname)));
	if (!TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) &&
		((TRIGGER_FIRED_BY_INSERT(td->tg_event) && td->tg_newtable == NULL) ||
		 (TRIGGER_FIRED_BY_DELETE(td->tg_event) && td->tg_oldtable == NULL) ||
		 (TRIGGER_FIRED_BY_UPDATE(td->tg_event) &&
		  (td->tg_oldtable == NULL || td->tg_newtable == NULL))))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() needs the transition tables of its event", fname),
				 errhint("Create the trigger with REFERENCING NEW TABLE / OLD TABLE.")));
	return td;
}

static void reevaluate_indicator(int64 indicator_id);

/* Find a column of a table by name. */
static int
column_number(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "kpi: table has no column \"%s\"", name);
	return attnum;
}

/* One measurement row as the batch reads it. */
typedef struct MeasurementRow
{
	int64		id;				/* hash key (old rows of an UPDATE) */
	int64		indicator_id;
	int64		scope_id;
	TimestampTz at;
	float8		value;
	bool		has_den;
	float8		den;
	bool		has_tally;		/* a tally carried by the row (0.10) */
	KpiTally	tally;
} MeasurementRow;

/* Read a measurement row from a slot. */
static void
measurement_row(TupleTableSlot *slot, const MeasurementCols *cols, MeasurementRow *r)
{
	bool		isnull;

	r->id = DatumGetInt64(slot_getattr(slot, cols->id, &isnull));
	r->indicator_id = DatumGetInt64(slot_getattr(slot, cols->indicator_id, &isnull));
	r->scope_id = DatumGetInt64(slot_getattr(slot, cols->scope_id, &isnull));
	r->at = DatumGetTimestampTz(slot_getattr(slot, cols->at, &isnull));
	r->value = DatumGetFloat8(slot_getattr(slot, cols->value, &isnull));
	r->den = DatumGetFloat8(slot_getattr(slot, cols->denominator, &isnull));
	r->has_den = !isnull;
	r->has_tally = false;
	if (cols->tally > 0)
	{
		Datum		d = slot_getattr(slot, cols->tally, &isnull);

		if (!isnull)
		{
			memcpy(&r->tally, DatumGetKpiTallyP(d), sizeof(KpiTally));
			r->has_tally = true;
		}
	}
}

/* The column numbers of kpi.measurement (or one of its partitions). */
static void
measurement_cols(TupleDesc desc, MeasurementCols *cols)
{
	cols->id = column_number(desc, "id");
	cols->indicator_id = column_number(desc, "indicator_id");
	cols->scope_id = column_number(desc, "scope_id");
	cols->at = column_number(desc, "at");
	cols->value = column_number(desc, "value");
	cols->denominator = column_number(desc, "denominator");
	cols->tally = Max(SPI_fnumber(desc, "tally"), 0);
}

/* Does a new row carry other data than the old row of the same id? */
static bool
data_changed(const MeasurementRow *n, const MeasurementRow *o)
{
	return o == NULL || n->indicator_id != o->indicator_id || n->scope_id != o->scope_id ||
		n->at != o->at || n->value != o->value || n->has_den != o->has_den ||
		(n->has_den && n->den != o->den) || n->has_tally != o->has_tally ||
		(n->has_tally && memcmp(&n->tally, &o->tally, sizeof(KpiTally)) != 0);
}

/*
 * The checks a new measurement (inserted, or updated into new data) must
 * pass, the same for INSERT, UPDATE and COPY.
 */
static void
check_measurement(const IndicatorInfo *info, const MeasurementRow *r)
{
	if (info->retired)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("indicator \"%s\" is retired", info->code),
				 errhint("Set its lifecycle back to active to record values.")));
	if (info->agg == KPI_AGG_RATIO && !r->has_den)
		ereport(ERROR,
				(errcode(ERRCODE_NOT_NULL_VIOLATION),
				 errmsg("ratio indicator \"%s\" needs a denominator", info->code),
				 errhint("Record numerator and denominator, e.g. with kpi.record_ratio().")));
}

/*
 * Walk a transition table of kpi.measurement.  Inserted rows are checked
 * and merged into their keys; old rows of an update or delete mark their
 * keys for recomputation (and, for an update, are kept by id in `old`);
 * new rows of an update are checked when their data changed and mark their
 * keys too.
 */
static void
collect_measurements(Batch *b, Tuplestorestate *rows, TupleDesc desc, const MeasurementCols *cols,
					 bool inserted, HTAB *old)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MeasurementRow r;

	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		IndicatorInfo *info;

		measurement_row(slot, cols, &r);
		info = indicator_info(b, r.indicator_id);
		if (info == NULL)
			continue;			/* restore: its indicator comes later */
		if (inserted)
		{
			check_measurement(info, &r);
			batch_measurement(b, info, r.scope_id, r.at, r.value, r.has_den, r.den,
							  r.has_tally ? &r.tally : NULL, KEY_MERGE);
			continue;
		}
		if (old != NULL)
		{
			if (data_changed(&r, hash_search(old, &r.id, HASH_FIND, NULL)))
				check_measurement(info, &r);
		}
		batch_measurement(b, info, r.scope_id, r.at, 0, false, 0, NULL, KEY_RECOMPUTE);
	}
	ExecDropSingleTupleTableSlot(slot);
}

/* The old rows of an update by id, to tell which new rows changed data. */
static HTAB *
old_rows_by_id(Tuplestorestate *rows, TupleDesc desc, const MeasurementCols *cols)
{
	HASHCTL		ctl;
	HTAB	   *h;
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	MeasurementRow r;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(MeasurementRow);
	ctl.hcxt = CurrentMemoryContext;
	h = hash_create("kpi old measurements", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		measurement_row(slot, cols, &r);
		*(MeasurementRow *) hash_search(h, &r.id, HASH_ENTER, NULL) = r;
	}
	ExecDropSingleTupleTableSlot(slot);
	return h;
}

/*
 * Rebuild the keys of some indicators (ids NULL: every indicator) from scratch:
 * every measurement is summarised again in the company's zone at the
 * indicator's grains, every key with a target is kept, and keys that have
 * neither go.  Writers of measurements and targets are locked out meanwhile
 * (SHARE ROW EXCLUSIVE on both), so what it reads is complete: a restore
 * that loads targets in another worker, say, commits them first.  Returns
 * the number of keys written.
 */
static int64
rebuild(const int64 *ids, int n)
{
	Batch		b;
	Datum		arg = ids ? ids_datum(ids, n) : (Datum) 0;
	Portal		portal;
	uint64		i;

	/* always in this order: measurements, then targets */
	if (SPI_execute("LOCK TABLE kpi.measurement, kpi.target IN SHARE ROW EXCLUSIVE MODE",
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "kpi: could not lock kpi.measurement and kpi.target");
	batch_init(&b);
	batch_current_keys(&b, ids, n, KEY_REPLACE);

	/* a read-only cursor reads the active snapshot: the latest one */
	PushActiveSnapshot(GetLatestSnapshot());
	if (b.has_tally)
		plan_one(&plan_scan_tally,
				 "SELECT m.indicator_id, m.scope_id, m.at, m.value, m.denominator, m.tally "
				 "FROM kpi.measurement m WHERE $1 IS NULL"
				 " OR m.indicator_id OPERATOR(pg_catalog.=) ANY ($1)",
				 INT8ARRAYOID, CURSOR_OPT_NO_SCROLL);
	else
		plan_one(&plan_scan,
				 "SELECT m.indicator_id, m.scope_id, m.at, m.value, m.denominator, NULL::kpi.tally "
				 "FROM kpi.measurement m WHERE $1 IS NULL"
				 " OR m.indicator_id OPERATOR(pg_catalog.=) ANY ($1)",
				 INT8ARRAYOID, CURSOR_OPT_NO_SCROLL);
	portal = SPI_cursor_open(NULL, b.has_tally ? plan_scan_tally : plan_scan,
							 &arg, ids ? NULL : "n", true);
	PopActiveSnapshot();
	for (;;)
	{
		SPITupleTable *rows;
		uint64		nrows;

		SPI_cursor_fetch(portal, true, 10000);
		/* indicator_info() runs queries of its own: keep this batch aside */
		rows = SPI_tuptable;
		nrows = SPI_processed;
		if (nrows == 0)
			break;
		for (i = 0; i < nrows; i++)
		{
			HeapTuple	tup = rows->vals[i];
			TupleDesc	desc = rows->tupdesc;
			bool		isnull,
						den_null,
						tally_null;
			int64		ind = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
			float8		den = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &den_null));
			Datum		carried = SPI_getbinval(tup, desc, 6, &tally_null);
			IndicatorInfo *info = indicator_info(&b, ind);

			if (info == NULL)
				continue;		/* restore: its indicator comes later */
			batch_measurement(&b, info,
							  DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)),
							  DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull)),
							  DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull)),
							  !den_null, den,
							  tally_null ? NULL : DatumGetKpiTallyP(carried), KEY_REPLACE);
		}
		SPI_freetuptable(rows);
	}
	SPI_cursor_close(portal);
	batch_apply(&b);
	return hash_get_num_entries(b.keys);
}

/*
 * Rebuild every indicator, REBUILD_GROUP indicators at a time, each group
 * in an SPI connection of its own that is finished before the next: one
 * batch of every key of a large company (26 million at 10,000 indicators x
 * 100 scopes) would hold gigabytes at once.  The connection, not a memory
 * context switched to here, is what frees a group: every SPI call returns
 * to its connection's context, so a group's hashes and tuple tables land
 * there.  A group's keys are written period first, so a period's rows stay
 * together in runs of a group's.  The tables are locked first, as
 * rebuild() locks them, so every group is rebuilt from one state of the
 * sources.
 */
static int64
rebuild_each(void)
{
	int64	   *ids;
	uint64		nids,
				i;
	int64		n = 0;

	if (SPI_execute("LOCK TABLE kpi.measurement, kpi.target IN SHARE ROW EXCLUSIVE MODE",
					false, 0) != SPI_OK_UTILITY)
		elog(ERROR, "kpi: could not lock kpi.measurement and kpi.target");
	if (SPI_execute("SELECT i.id FROM kpi.indicator i ORDER BY i.id", false, 0) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.indicator");
	nids = SPI_processed;
	ids = palloc(sizeof(int64) * Max(nids, 1));
	for (i = 0; i < nids; i++)
	{
		bool		isnull;

		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);

	for (i = 0; i < nids; i += REBUILD_GROUP)
	{
		CHECK_FOR_INTERRUPTS();
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "kpi: SPI_connect failed");
		n += rebuild(ids + i, (int) Min(REBUILD_GROUP, nids - i));
		SPI_finish();
	}
	return n;
}

/*
 * Refuse a call of a row trigger function on kpi.measurement's partitions
 * other than the one it was made for: BEFORE INSERT (restore_row) or AFTER
 * DELETE (moved_row) ... FOR EACH ROW on a partition of kpi.measurement,
 * where PostgreSQL clones it from the parent.
 */
static Oid	partition_checked = InvalidOid;	/* the last partition found good */

static TriggerData *
partition_row_check(FunctionCallInfo fcinfo, const char *fname, bool before, uint32 event)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Relation	rel;
	Oid			root;
	List	   *ancestors = NIL;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must be called as a trigger", fname)));
	rel = td->tg_relation;
	/* the ancestors once per partition, not per row: these fire per row */
	if (RelationGetRelid(rel) != partition_checked || !rel->rd_rel->relispartition)
	{
		root = get_relname_relid("measurement", get_namespace_oid("kpi", false));
		if (rel->rd_rel->relispartition)
			ancestors = get_partition_ancestors(RelationGetRelid(rel));
		if (ancestors == NIL || llast_oid(ancestors) != root)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("%s() fires only on the partitions of kpi.measurement, not on \"%s\"",
							fname, RelationGetRelationName(rel))));
		partition_checked = RelationGetRelid(rel);
	}
	if (TRIGGER_FIRED_BEFORE(td->tg_event) != before || !TRIGGER_FIRED_FOR_ROW(td->tg_event) ||
		(td->tg_event & TRIGGER_EVENT_OPMASK) != event)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("%s() must fire %s ... FOR EACH ROW", fname,
						before ? "BEFORE INSERT" : "AFTER DELETE")));
	return td;
}

/*
 * Rows a MERGE moved to another partition.  PostgreSQL (15 to 18 alike)
 * leaves a row that a MERGE's UPDATE moves across partitions out of the
 * statement's transition tables: its old version always (the move shows as
 * an insert), its new version too when the MERGE has no INSERT action.
 * The row trigger kpi.measurement_moved_row() (AFTER DELETE, cloned onto
 * every partition) does see the old version; it keeps the row here for its
 * statement, and the statement triggers recompute the row's old keys and
 * the keys it has now.  A plain DELETE or a moving UPDATE passes its rows
 * through here too; both have them in their own transition tables, so the
 * delete trigger ignores the list and the update trigger skips its rows.
 */
typedef struct MovedRow
{
	int64		id;
	int64		indicator_id;
	int64		scope_id;
	TimestampTz at;
} MovedRow;

static MovedRow *moved_rows = NULL;	/* in TopTransactionContext */
static int	moved_n = 0;
static int	moved_cap = 0;
static LocalTransactionId moved_lxid = InvalidLocalTransactionId;
static TimestampTz moved_stmt = 0;

/* Do the kept rows belong to the current statement? */
static bool
moved_current(void)
{
	return moved_rows != NULL && moved_lxid == KPI_MY_LXID &&
		moved_stmt == GetCurrentStatementStartTimestamp();
}

/* Keep a row moved (or deleted) by the current statement. */
static void
moved_row_add(const MeasurementRow *r)
{
	if (!moved_current())
	{
		moved_cap = 64;
		moved_rows = MemoryContextAlloc(TopTransactionContext, sizeof(MovedRow) * moved_cap);
		moved_n = 0;
		moved_lxid = KPI_MY_LXID;
		moved_stmt = GetCurrentStatementStartTimestamp();
	}
	else if (moved_n == moved_cap)
	{
		moved_cap *= 2;
		moved_rows = repalloc(moved_rows, sizeof(MovedRow) * moved_cap);
	}
	moved_rows[moved_n].id = r->id;
	moved_rows[moved_n].indicator_id = r->indicator_id;
	moved_rows[moved_n].scope_id = r->scope_id;
	moved_rows[moved_n].at = r->at;
	moved_n++;
}

/*
 * Mark the keys of the rows kept for this statement for recomputation: the
 * old versions' keys, and the keys of the rows as they are now (a MERGE
 * without an INSERT action leaves the new version of a moved row out of
 * every transition table too).  Only the insert and update triggers take
 * them: a plain DELETE has all its rows in its own transition table.
 */
static void
collect_moved(Batch *b, HTAB *old)
{
	Datum	   *ids;
	Datum		arg;
	int			i,
				n = 0;
	uint64		j,
				nfound;
	SPITupleTable *found;

	if (!moved_current() || moved_n == 0)
		return;
	ids = palloc(sizeof(Datum) * moved_n);
	for (i = 0; i < moved_n; i++)
	{
		IndicatorInfo *info;

		/* an UPDATE has its moved rows in its own transition tables */
		if (old != NULL && hash_search(old, &moved_rows[i].id, HASH_FIND, NULL) != NULL)
			continue;
		info = indicator_info(b, moved_rows[i].indicator_id);
		ids[n++] = Int64GetDatum(moved_rows[i].id);
		if (info != NULL)
			batch_measurement(b, info, moved_rows[i].scope_id, moved_rows[i].at, 0, false, 0, NULL,
							  KEY_RECOMPUTE);
	}
	moved_n = 0;
	if (n == 0)
		return;
	arg = PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	if (plan_moved == NULL)
	{
		Oid			t[1] = {INT8ARRAYOID};

		kpi_prepare_into(&plan_moved,
						 "SELECT m.indicator_id, m.scope_id, m.at FROM kpi.measurement m "
						 "WHERE m.id OPERATOR(pg_catalog.=) ANY ($1)", 1, t, 0);
	}
	if (kpi_spi_latest(plan_moved, &arg, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read moved measurements");
	/* kept: indicator_info() below may run statements of its own */
	found = SPI_tuptable;
	nfound = SPI_processed;
	for (j = 0; j < nfound; j++)
	{
		HeapTuple	tup = found->vals[j];
		TupleDesc	desc = found->tupdesc;
		bool		isnull;
		IndicatorInfo *info = indicator_info(b, DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)));

		if (info != NULL)
			batch_measurement(b, info, DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)),
							  DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull)), 0, false, 0, NULL,
							  KEY_RECOMPUTE);
	}
}

PG_FUNCTION_INFO_V1(kpi_measurement_moved_row);
/*
 * Trigger on kpi.measurement, AFTER DELETE ... FOR EACH ROW, cloned by
 * PostgreSQL onto every partition: keep the old row for the statement
 * triggers (see above).
 */
Datum
kpi_measurement_moved_row(PG_FUNCTION_ARGS)
{
	TriggerData *td = partition_row_check(fcinfo, "kpi.measurement_moved_row", false,
										  TRIGGER_EVENT_DELETE);
	MeasurementCols cols;
	MeasurementRow r;

	measurement_cols(RelationGetDescr(td->tg_relation), &cols);
	measurement_row(td->tg_trigslot, &cols, &r);
	moved_row_add(&r);
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(kpi_measurement_sync);
/*
 * Trigger on kpi.measurement, AFTER INSERT / UPDATE / DELETE ... FOR EACH
 * STATEMENT with transition tables, and AFTER TRUNCATE.
 */
Datum
kpi_measurement_sync(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_check(fcinfo, "kpi.measurement_sync", "measurement");
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	MeasurementCols cols;
	Batch		b;
	HTAB	   *old = NULL;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
	{
		(void) rebuild(NULL, 0);
		SPI_finish();
		return PointerGetDatum(NULL);
	}
	measurement_cols(desc, &cols);
	batch_init(&b);
	if (td->tg_oldtable)
	{
		if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
			old = old_rows_by_id(td->tg_oldtable, desc, &cols);
		collect_measurements(&b, td->tg_oldtable, desc, &cols, false, NULL);
	}
	if (td->tg_newtable)
		collect_measurements(&b, td->tg_newtable, desc, &cols,
							 TRIGGER_FIRED_BY_INSERT(td->tg_event), old);
	if (!TRIGGER_FIRED_BY_DELETE(td->tg_event))
		collect_moved(&b, old);
	batch_apply(&b);
	SPI_finish();
	return PointerGetDatum(NULL);
}

/*
 * Fold one new row of a partition into kpi.actual, as an insert of that
 * row alone through kpi.measurement would.
 */
static void
fold_row(TriggerData *td)
{
	MeasurementCols cols;
	MeasurementRow r;
	IndicatorInfo *info;
	Batch		b;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	measurement_cols(RelationGetDescr(td->tg_relation), &cols);
	measurement_row(td->tg_trigslot, &cols, &r);
	batch_init(&b);
	info = indicator_info(&b, r.indicator_id);
	if (info != NULL)			/* else its indicator comes later and rebuilds */
	{
		check_measurement(info, &r);
		batch_measurement(&b, info, r.scope_id, r.at, r.value, r.has_den, r.den,
						  r.has_tally ? &r.tally : NULL, KEY_MERGE);
		batch_apply(&b);
	}
	SPI_finish();
}

PG_FUNCTION_INFO_V1(kpi_measurement_restore_row);
/*
 * Trigger on kpi.measurement, BEFORE INSERT ... FOR EACH ROW WHEN
 * (kpi.in_restore()), cloned by PostgreSQL onto every partition.  pg_dump
 * loads the rows of a partition made outside the extension straight into
 * the partition (unless --load-via-partition-root), where the statement
 * triggers of kpi.measurement do not fire: this folds each such row into
 * kpi.actual, and switches the session to replica for the rest of the
 * transaction, as kpi.restore_guard() does for kpi's own tables (the
 * partition's foreign keys, cloned from kpi.measurement, must not check an
 * indicator that another worker has not restored yet).  The statements of
 * kpi's own tables (kpi.measurement, kpi.measurement_default) are marked by
 * kpi.restore_guard(): their statement triggers take their rows.
 */
Datum
kpi_measurement_restore_row(PG_FUNCTION_ARGS)
{
	TriggerData *td = partition_row_check(fcinfo, "kpi.measurement_restore_row", true,
										   TRIGGER_EVENT_INSERT);
	const char *marked = GetConfigOption("kpi.restore_statement", true, false);

	if (!kpi_restoring() || (marked != NULL && strcmp(marked, "on") == 0))
		return PointerGetDatum(td->tg_trigtuple);
	if (SessionReplicationRole != SESSION_REPLICATION_ROLE_REPLICA)
		(void) set_config_option("session_replication_role", "replica", PGC_SUSET, PGC_S_SESSION,
								 GUC_ACTION_LOCAL, true, 0, false);
	fold_row(td);
	return PointerGetDatum(td->tg_trigtuple);
}

/*
 * A target must be set at a grain its indicator keeps, or it would never
 * be evaluated (23514), the same for INSERT, UPDATE and COPY.
 */
static void
check_target_grain(IndicatorInfo *info, KpiPeriod period)
{
	KpiGrain	g = kpi_period_grain(period);

	if ((info->grains & (1 << g)) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("indicator \"%s\" is not kept at grain %s", info->code, kpi_grain_name(g)),
				 errhint("Add %s to the indicator's grains first, or set the target for a period of a kept grain.",
						 kpi_grain_name(g))));
}

/* Add the keys of a transition table of kpi.target, checking new rows. */
static void
collect_targets(Batch *b, Tuplestorestate *rows, TupleDesc desc, bool check)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	int			c_ind = column_number(desc, "indicator_id");
	int			c_scope = column_number(desc, "scope_id");
	int			c_period = column_number(desc, "period");

	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		bool		isnull;
		int64		ind = DatumGetInt64(slot_getattr(slot, c_ind, &isnull));
		KpiPeriod	p = DatumGetKpiPeriod(slot_getattr(slot, c_period, &isnull));

		if (check)
		{
			IndicatorInfo *info = indicator_info(b, ind);

			if (info == NULL)
				continue;		/* restore: its indicator comes later */
			check_target_grain(info, p);
		}
		batch_key(b, ind, DatumGetInt64(slot_getattr(slot, c_scope, &isnull)), p, KEY_REEVAL);
	}
	ExecDropSingleTupleTableSlot(slot);
}

PG_FUNCTION_INFO_V1(kpi_target_sync);
/*
 * Trigger on kpi.target, AFTER INSERT / UPDATE / DELETE ... FOR EACH
 * STATEMENT with transition tables, and AFTER TRUNCATE: the keys whose
 * target changed are evaluated again (and their alerts judged).
 */
Datum
kpi_target_sync(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_check(fcinfo, "kpi.target_sync", "target");
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	Batch		b;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	/* no targets left: every key is evaluated again (no measurement lock) */
	if (TRIGGER_FIRED_BY_TRUNCATE(td->tg_event))
		reevaluate_indicator(0);
	else
	{
		batch_init(&b);
		if (td->tg_oldtable)
			collect_targets(&b, td->tg_oldtable, desc, false);
		if (td->tg_newtable)
			collect_targets(&b, td->tg_newtable, desc, true);
		batch_apply(&b);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}

/* An indicator's row as the indicator trigger compares it (text forms). */
typedef struct IndicatorRow
{
	int64		id;				/* hash key */
	char	   *agg;
	char	   *grains;
	char	   *bands;
	char	   *code;
} IndicatorRow;

/* Read the fields of kpi.indicator the derived state depends on. */
static void
indicator_row(TupleTableSlot *slot, TupleDesc desc, IndicatorRow *r)
{
	HeapTuple	tup = ExecCopySlotHeapTuple(slot);
	bool		isnull;

	r->id = DatumGetInt64(SPI_getbinval(tup, desc, column_number(desc, "id"), &isnull));
	r->agg = SPI_getvalue(tup, desc, column_number(desc, "agg"));
	r->grains = SPI_getvalue(tup, desc, column_number(desc, "grains"));
	r->bands = SPI_getvalue(tup, desc, column_number(desc, "bands"));
	r->code = SPI_getvalue(tup, desc, column_number(desc, "code"));
}

/* Refuse new grains that would leave targets unevaluated (23514). */
static void
check_grains_cover_targets(const IndicatorRow *r)
{
	Datum		arg = Int64GetDatum(r->id);

	if (kpi_spi_latest(plan_one(&plan_grain_targets,
								"SELECT kpi.grain(t.period) FROM kpi.target t "
								"JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) t.indicator_id "
								"WHERE t.indicator_id OPERATOR(pg_catalog.=) $1"
								" AND NOT kpi.grain(t.period) OPERATOR(pg_catalog.=) ANY (i.grains) LIMIT 1", INT8OID, 0),
					   &arg, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.target");
	if (SPI_processed > 0)
	{
		char	   *g = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);

		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("indicator \"%s\" has targets at grain %s, which its new grains leave out",
						r->code, g),
				 errhint("Delete those targets first, or keep grain %s.", g)));
	}
}

/* Refuse agg ratio while measurements lack a denominator (23514). */
static void
check_ratio_denominators(const IndicatorRow *r)
{
	Datum		arg = Int64GetDatum(r->id);
	bool		isnull;
	int64		n;

	if (kpi_spi_latest(plan_one(&plan_no_den,
								"SELECT pg_catalog.count(*) FROM kpi.measurement m "
								"WHERE m.indicator_id OPERATOR(pg_catalog.=) $1 AND m.denominator IS NULL", INT8OID, 0),
					   &arg, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.measurement");
	n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	if (n > 0)
		ereport(ERROR,
				(errcode(ERRCODE_CHECK_VIOLATION),
				 errmsg("indicator \"%s\" cannot become a ratio: " INT64_FORMAT " of its measurements have no denominator",
						r->code, n),
				 errhint("Record their denominators first.")));
}

/* The keys of an indicator (0 = every key), all to be evaluated again. */
static void
reevaluate_indicator(int64 indicator_id)
{
	Batch		b;

	batch_init(&b);
	batch_current_keys(&b, indicator_id ? &indicator_id : NULL, 1, KEY_REEVAL);
	batch_apply(&b);
}

PG_FUNCTION_INFO_V1(kpi_indicator_sync);
/*
 * Trigger on kpi.indicator, AFTER UPDATE ... FOR EACH STATEMENT with
 * transition tables: new grains rebuild the indicator's keys (kpi.measurement
 * is already locked by the BEFORE statement trigger), a new agg or new bands
 * evaluate them again.
 */
Datum
kpi_indicator_sync(PG_FUNCTION_ARGS)
{
	TriggerData *td = trigger_check(fcinfo, "kpi.indicator_sync", "indicator");
	TupleDesc	desc = RelationGetDescr(td->tg_relation);
	HASHCTL		ctl;
	HTAB	   *old;
	TupleTableSlot *slot;
	IndicatorRow r;

	if (!TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("kpi.indicator_sync() fires only on UPDATE")));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	prepare_plans(kpi_plans_check(), kpi_type_oid("tally"));

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(IndicatorRow);
	ctl.hcxt = CurrentMemoryContext;
	old = hash_create("kpi old indicators", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(td->tg_oldtable);
	while (tuplestore_gettupleslot(td->tg_oldtable, true, false, slot))
	{
		indicator_row(slot, desc, &r);
		*(IndicatorRow *) hash_search(old, &r.id, HASH_ENTER, NULL) = r;
	}
	tuplestore_rescan(td->tg_newtable);
	while (tuplestore_gettupleslot(td->tg_newtable, true, false, slot))
	{
		IndicatorRow *o;

		indicator_row(slot, desc, &r);
		o = hash_search(old, &r.id, HASH_FIND, NULL);
		if (o == NULL)
			continue;			/* an id changed: its rows cascade or fail */
		if (strcmp(r.agg, "ratio") == 0 && strcmp(o->agg, "ratio") != 0)
			check_ratio_denominators(&r);
		if (strcmp(r.grains, o->grains) != 0)
		{
			check_grains_cover_targets(&r);
			(void) rebuild(&r.id, 1);
		}
		else if (strcmp(r.agg, o->agg) != 0 || strcmp(r.bands, o->bands) != 0)
			reevaluate_indicator(r.id);
	}
	ExecDropSingleTupleTableSlot(slot);
	SPI_finish();
	return PointerGetDatum(NULL);
}

PG_FUNCTION_INFO_V1(kpi_actual_rebuild);
/*
 * kpi.actual_rebuild(indicator_id DEFAULT NULL): rebuild kpi.actual for one
 * indicator, or for all; returns the number of keys written or removed.
 * Owner rights; used when the company's zone changes, and by kpi.repair().
 */
Datum
kpi_actual_rebuild(PG_FUNCTION_ARGS)
{
	int64		n;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	if (PG_ARGISNULL(0))
		n = rebuild_each();
	else
	{
		int64		id = PG_GETARG_INT64(0);

		n = rebuild(&id, 1);
	}
	SPI_finish();
	PG_RETURN_INT64(n);
}
