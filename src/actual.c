/*
 * actual.c
 *	  The trigger that keeps kpi.actual in step with kpi.measurement.
 *
 * It fires once per statement, with transition tables.  Inserted rows are
 * summarised in C into one tally per (indicator, scope, period) for each of
 * the indicator's grains, and all keys are then written and evaluated in one
 * set-oriented statement (keys and tallies passed as arrays): a bulk load of
 * 100k rows over 1,000 keys is one statement for 3,000 rows, not hundreds of
 * thousands.  Updated and deleted rows mark their keys for recomputation
 * from kpi.measurement, which is exact whatever changed.  Keys are written
 * in sorted order so that concurrent writers lock the kpi.actual rows they
 * share in the same order and cannot deadlock on them.  What the statement
 * returns goes to the alert rules (alert.c), in the same transaction.
 *
 * Every SQL statement is prepared once per backend (SPI_keepplan) and names
 * every object with its schema: the function runs as SECURITY DEFINER and
 * must not depend on the caller's search_path.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "kpi.h"

/* What the trigger needs to know of an indicator. */
typedef struct IndicatorInfo
{
	int64		id;				/* hash key */
	KpiAggKind	agg;
	uint8		grains;			/* bit per KpiGrain */
	bool		retired;
	char		code[NAMEDATALEN * 2];
} IndicatorInfo;

/* One kpi.actual row to write. */
typedef struct ActualKey
{
	int64		indicator_id;
	int64		scope_id;
	KpiPeriod	period;
} ActualKey;

typedef struct ActualEntry
{
	ActualKey	key;			/* hash key */
	KpiTally	delta;			/* tally of the inserted rows */
	bool		recompute;		/* rows were updated or deleted: rebuild */
} ActualEntry;

/* Column numbers of kpi.measurement, looked up once per call. */
typedef struct MeasurementCols
{
	int			indicator_id;
	int			scope_id;
	int			at;
	int			value;
	int			denominator;
} MeasurementCols;

static SPIPlanPtr plan_indicator = NULL;
static SPIPlanPtr plan_upsert = NULL;
static SPIPlanPtr plan_delete = NULL;
static SPIPlanPtr plan_scan = NULL;
static Oid	tally_type_oid = InvalidOid;
static Oid	period_type_oid = InvalidOid;

/* Prepare the statements of the trigger (first call in a backend). */
static void
prepare_plans(void)
{
	Oid			types[6];

	if (plan_scan != NULL)
		return;
	tally_type_oid = kpi_type_oid("tally");
	period_type_oid = kpi_type_oid("period");

	types[0] = INT8OID;
	plan_indicator = kpi_prepare_kept(
		"SELECT i.agg::pg_catalog.text, i.grains, i.lifecycle, i.code "
		"FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) $1",
		1, types, 0);

	/* keys travel as three parallel arrays, tallies as a fourth */
	types[0] = INT8ARRAYOID;
	types[1] = INT8ARRAYOID;
	types[2] = get_array_type(period_type_oid);
	types[3] = get_array_type(tally_type_oid);
	types[4] = BOOLOID;
	/*
	 * One statement writes and evaluates a batch: new keys are evaluated in
	 * the SELECT, existing ones in the DO UPDATE from the merged tally, so
	 * each kpi.actual row gets one new version per statement.  Rows go in
	 * key order, the order every writer locks them in.
	 */
	types[5] = BOOLOID;
	plan_upsert = kpi_prepare_kept(
		"INSERT INTO kpi.actual AS a (indicator_id, scope_id, period, tally, value, target,"
		"                             attainment, status, updated_at) "
		"SELECT k.i, k.s, k.p, k.t, e.v, kpi.target(t.goal), kpi.attainment(e.v, t.goal),"
		"       kpi.status(kpi.attainment(e.v, t.goal), i.bands), pg_catalog.now() "
		"FROM ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3),"
		"                pg_catalog.unnest($4)) AS k(i, s, p, t) "
		"JOIN kpi.indicator i ON i.id OPERATOR(pg_catalog.=) k.i "
		"CROSS JOIN LATERAL (SELECT kpi.value(k.t, i.agg) AS v) e "
		"LEFT JOIN kpi.target t ON t.indicator_id OPERATOR(pg_catalog.=) k.i"
		" AND t.scope_id OPERATOR(pg_catalog.=) k.s AND t.period OPERATOR(kpi.=) k.p "
		"ORDER BY k.i, k.s, k.p "
		"ON CONFLICT (indicator_id, scope_id, period) DO UPDATE SET"
		" (tally, value, target, attainment, status, updated_at) = ("
		"  SELECT x.t, x.v, kpi.target(x.g), kpi.attainment(x.v, x.g),"
		"         kpi.status(kpi.attainment(x.v, x.g), x.b), pg_catalog.now()"
		"  FROM (SELECT m.t, kpi.value(m.t, i2.agg) AS v, i2.bands AS b, t2.goal AS g"
		"        FROM (SELECT CASE WHEN $5 THEN excluded.tally"
		"                          ELSE a.tally OPERATOR(kpi.+) excluded.tally END AS t) m"
		"        JOIN kpi.indicator i2 ON i2.id OPERATOR(pg_catalog.=) a.indicator_id"
		"        LEFT JOIN kpi.target t2 ON t2.indicator_id OPERATOR(pg_catalog.=) a.indicator_id"
		"         AND t2.scope_id OPERATOR(pg_catalog.=) a.scope_id"
		"         AND t2.period OPERATOR(kpi.=) a.period) x) "
		"RETURNING a.indicator_id, a.scope_id, a.period, a.value, a.attainment,"
		" CASE WHEN $6 THEN kpi.pace(a.value, (SELECT t3.goal FROM kpi.target t3"
		"  WHERE t3.indicator_id OPERATOR(pg_catalog.=) a.indicator_id"
		"  AND t3.scope_id OPERATOR(pg_catalog.=) a.scope_id"
		"  AND t3.period OPERATOR(kpi.=) a.period), kpi.progress(a.period, pg_catalog.now())) END",
		6, types, 0);

	plan_delete = kpi_prepare_kept(
		"DELETE FROM kpi.actual a USING ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS k(i, s, p) "
		"WHERE a.indicator_id OPERATOR(pg_catalog.=) k.i AND a.scope_id OPERATOR(pg_catalog.=) k.s"
		" AND a.period OPERATOR(kpi.=) k.p",
		3, types, 0);

	types[0] = INT8OID;
	types[1] = INT8OID;
	types[2] = TIMESTAMPTZOID;
	types[3] = TIMESTAMPTZOID;
	plan_scan = kpi_prepare_kept(
		"SELECT m.value, m.denominator, m.at FROM kpi.measurement m "
		"WHERE m.indicator_id OPERATOR(pg_catalog.=) $1 AND m.scope_id OPERATOR(pg_catalog.=) $2"
		" AND m.at OPERATOR(pg_catalog.>=) $3 AND m.at OPERATOR(pg_catalog.<) $4",
		4, types, 0);
}

/* Load what the trigger needs of one indicator. */
static void
load_indicator(IndicatorInfo *info)
{
	Datum		arg = Int64GetDatum(info->id);
	bool		isnull;
	HeapTuple	tup;
	TupleDesc	desc;
	ArrayType  *grains;
	Datum	   *elems;
	int			nelems,
				i;

	if (SPI_execute_plan(plan_indicator, &arg, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "kpi: indicator " INT64_FORMAT " not found", info->id);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;

	info->agg = kpi_agg_kind_from_name(TextDatumGetCString(SPI_getbinval(tup, desc, 1, &isnull)));
	grains = DatumGetArrayTypeP(SPI_getbinval(tup, desc, 2, &isnull));
	deconstruct_array(grains, TEXTOID, -1, false, TYPALIGN_INT, &elems, NULL, &nelems);
	info->grains = 0;
	for (i = 0; i < nelems; i++)
		info->grains |= 1 << kpi_grain_from_name(TextDatumGetCString(elems[i]));
	info->retired = strcmp(TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull)),
						   "retired") == 0;
	strlcpy(info->code, TextDatumGetCString(SPI_getbinval(tup, desc, 4, &isnull)),
			sizeof(info->code));
	SPI_freetuptable(SPI_tuptable);
}

/* The cached info of an indicator, loading it on first sight. */
static IndicatorInfo *
indicator_info(HTAB *indicators, int64 id)
{
	bool		found;
	IndicatorInfo *info = hash_search(indicators, &id, HASH_ENTER, &found);

	if (!found)
		load_indicator(info);
	return info;
}

/* Find a column of kpi.measurement by name. */
static int
column_number(TupleDesc desc, const char *name)
{
	int			attnum = SPI_fnumber(desc, name);

	if (attnum <= 0)
		elog(ERROR, "kpi: kpi.measurement has no column \"%s\"", name);
	return attnum;
}

/* The date of a timestamp in the session time zone. */
static DateADT
session_date(TimestampTz at)
{
	return DatumGetDateADT(DirectFunctionCall1(timestamptz_date, TimestampTzGetDatum(at)));
}

/*
 * Walk one transition table.  With add, each row's value is added to the
 * tallies of its keys (inserted rows); otherwise its keys are marked for
 * recomputation (updated or deleted rows).
 */
static void
collect_rows(Tuplestorestate *rows, TupleDesc desc, const MeasurementCols *cols,
			 HTAB *indicators, HTAB *actuals, bool add)
{
	TupleTableSlot *slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);

	tuplestore_rescan(rows);
	while (tuplestore_gettupleslot(rows, true, false, slot))
	{
		bool		isnull,
					den_null;
		int64		ind = DatumGetInt64(slot_getattr(slot, cols->indicator_id, &isnull));
		int64		scope = DatumGetInt64(slot_getattr(slot, cols->scope_id, &isnull));
		TimestampTz at = DatumGetTimestampTz(slot_getattr(slot, cols->at, &isnull));
		float8		value = DatumGetFloat8(slot_getattr(slot, cols->value, &isnull));
		float8		den = DatumGetFloat8(slot_getattr(slot, cols->denominator, &den_null));
		IndicatorInfo *info = indicator_info(indicators, ind);
		DateADT		day = session_date(at);
		int			g;

		if (add && info->retired)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("indicator \"%s\" is retired", info->code),
					 errhint("Set its lifecycle back to active to record values.")));
		if (add && info->agg == KPI_AGG_RATIO && den_null)
			ereport(ERROR,
					(errcode(ERRCODE_NOT_NULL_VIOLATION),
					 errmsg("ratio indicator \"%s\" needs a denominator", info->code),
					 errhint("Record numerator and denominator, e.g. with kpi.record_ratio().")));

		for (g = 0; g < KPI_GRAIN_COUNT; g++)
		{
			ActualKey	key;
			ActualEntry *entry;
			bool		found;

			if ((info->grains & (1 << g)) == 0)
				continue;
			memset(&key, 0, sizeof(key));
			key.indicator_id = ind;
			key.scope_id = scope;
			key.period = kpi_period_containing(day, (KpiGrain) g);
			entry = hash_search(actuals, &key, HASH_ENTER, &found);
			if (!found)
			{
				kpi_tally_init(&entry->delta);
				entry->recompute = false;
			}
			if (!add)
				entry->recompute = true;
			else if (info->agg == KPI_AGG_RATIO)
				kpi_tally_add_ratio(&entry->delta, value, den, at);
			else
				kpi_tally_add(&entry->delta, value, at);
		}
	}
	ExecDropSingleTupleTableSlot(slot);
}

/* Rebuild the tally of one key from kpi.measurement. */
static void
recompute_tally(const ActualKey *key, KpiAggKind agg, KpiTally *tally)
{
	Datum		args[4];
	int			overflow = 0;
	uint64		i;

	args[0] = Int64GetDatum(key->indicator_id);
	args[1] = Int64GetDatum(key->scope_id);
	args[2] = TimestampTzGetDatum(date2timestamptz_opt_overflow(kpi_period_start(key->period),
																&overflow));
	args[3] = TimestampTzGetDatum(date2timestamptz_opt_overflow(kpi_period_end(key->period) + 1,
																&overflow));
	/* read_only = false: a fresh snapshot that sees this statement's rows */
	if (SPI_execute_plan(plan_scan, args, NULL, false, 0) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.measurement");
	kpi_tally_init(tally);
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull,
					den_null;
		float8		value = DatumGetFloat8(SPI_getbinval(tup, desc, 1, &isnull));
		float8		den = DatumGetFloat8(SPI_getbinval(tup, desc, 2, &den_null));
		TimestampTz at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));

		if (agg == KPI_AGG_RATIO)
		{
			if (!den_null)
				kpi_tally_add_ratio(tally, value, den, at);
		}
		else
			kpi_tally_add(tally, value, at);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* Order keys so that concurrent writers lock shared rows in one order. */
static int
actual_key_cmp(const void *a, const void *b)
{
	const ActualKey *x = &(*(ActualEntry *const *) a)->key;
	const ActualKey *y = &(*(ActualEntry *const *) b)->key;

	return kpi_key_cmp(x->indicator_id, x->scope_id, x->period,
					   y->indicator_id, y->scope_id, y->period);
}

/*
 * Is the alert machinery installed (release 0.4 on)?  Looked up on every
 * statement: ALTER EXTENSION UPDATE may add it while this backend lives.
 */
static bool
alerts_installed(void)
{
	Oid			nsp = get_namespace_oid("kpi", true);

	return OidIsValid(nsp) && OidIsValid(get_relname_relid("alert_rule", nsp));
}

/*
 * The alert rules of the statement's indicators, loaded up front; NULL when
 * alerts are not installed or none of these indicators has a rule, so that
 * the write path skips alert work altogether.  *need_pace tells whether any
 * rule judges pace, the only case the trigger computes it for.
 */
static HTAB *
alert_rules(HTAB *indicators, bool *need_pace)
{
	HTAB	   *rules;
	HASH_SEQ_STATUS seq;
	IndicatorInfo *info;
	int			need = 0;

	*need_pace = false;
	if (!alerts_installed())
		return NULL;
	rules = kpi_alert_rules_create();
	hash_seq_init(&seq, indicators);
	while ((info = hash_seq_search(&seq)) != NULL)
		need = Max(need, kpi_alert_rules_need(rules, info->id, period_type_oid));
	*need_pace = (need == 2);
	return need > 0 ? rules : NULL;
}

/* Keys of a batch as the parallel arrays the plans take. */
typedef struct KeyArrays
{
	int			n;
	Datum	   *ind;
	Datum	   *scope;
	Datum	   *period;
	Datum	   *tally;
} KeyArrays;

/* Room for n keys. */
static void
key_arrays_init(KeyArrays *ka, long n)
{
	ka->n = 0;
	ka->ind = palloc(sizeof(Datum) * Max(n, 1));
	ka->scope = palloc(sizeof(Datum) * Max(n, 1));
	ka->period = palloc(sizeof(Datum) * Max(n, 1));
	ka->tally = palloc(sizeof(Datum) * Max(n, 1));
}

/* Append a key, and its tally if it has one. */
static void
key_arrays_add(KeyArrays *ka, const ActualKey *key, const KpiTally *tally)
{
	ka->ind[ka->n] = Int64GetDatum(key->indicator_id);
	ka->scope[ka->n] = Int64GetDatum(key->scope_id);
	ka->period[ka->n] = KpiPeriodGetDatum(key->period);
	ka->tally[ka->n] = PointerGetDatum(tally);
	ka->n++;
}

/*
 * The three key arrays (indicator ids, scope ids, periods) that the
 * set-oriented statements of the trigger and of alert.c take as $1..$3.
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

/* The array arguments of a batch: keys, and the tallies when asked. */
static void
key_arrays_args(const KeyArrays *ka, Datum *args, bool with_tally)
{
	kpi_key_array_args(ka->ind, ka->scope, ka->period, ka->n, period_type_oid, args);
	if (with_tally)
		args[3] = PointerGetDatum(construct_array(ka->tally, ka->n, tally_type_oid,
												  sizeof(KpiTally), false, TYPALIGN_DOUBLE));
}

/*
 * Merge (or, for rebuilt keys, replace) and evaluate the tallies of a batch
 * in one statement; hand what it returns to the alert rules, if any.
 */
static void
write_batch(const KeyArrays *ka, bool replace, HTAB *rules, bool need_pace)
{
	Datum		args[6];
	KpiAlertInput *in;
	int			n;
	int			i;

	if (ka->n == 0)
		return;
	key_arrays_args(ka, args, true);
	args[4] = BoolGetDatum(replace);
	args[5] = BoolGetDatum(rules != NULL && need_pace);
	if (SPI_execute_plan(plan_upsert, args, NULL, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "kpi: could not write kpi.actual");
	n = (int) SPI_processed;
	if (rules == NULL || n == 0)
	{
		SPI_freetuptable(SPI_tuptable);
		return;
	}
	in = palloc(sizeof(KpiAlertInput) * n);
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		in[i].indicator_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		in[i].scope_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		in[i].period = DatumGetKpiPeriod(SPI_getbinval(tup, desc, 3, &isnull));
		in[i].value = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
		in[i].has_value = !isnull;
		in[i].att = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &isnull));
		in[i].has_att = !isnull;
		in[i].pace = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
		in[i].has_pace = !isnull;
	}
	SPI_freetuptable(SPI_tuptable);
	kpi_alert_evaluate_batch(rules, period_type_oid, in, n);
}

/*
 * Write a statement's keys, in key order: tallies of inserted rows are
 * merged, keys of updated or deleted rows are rebuilt from kpi.measurement
 * (and deleted when nothing is left); each written key is evaluated as it
 * is written.  A handful of set-oriented statements, however many keys.
 */
static void
write_actuals(ActualEntry **sorted, long n, HTAB *indicators, HTAB *rules, bool need_pace)
{
	KeyArrays	merged,
				replaced,
				emptied;
	KpiTally   *rebuilt = palloc(sizeof(KpiTally) * Max(n, 1));
	long		i;

	key_arrays_init(&merged, n);
	key_arrays_init(&replaced, n);
	key_arrays_init(&emptied, n);
	for (i = 0; i < n; i++)
	{
		ActualEntry *e = sorted[i];

		if (!e->recompute)
			key_arrays_add(&merged, &e->key, &e->delta);
		else
		{
			recompute_tally(&e->key, indicator_info(indicators, e->key.indicator_id)->agg,
							&rebuilt[i]);
			if (rebuilt[i].count == 0)
			{
				key_arrays_add(&emptied, &e->key, NULL);
				continue;
			}
			key_arrays_add(&replaced, &e->key, &rebuilt[i]);
		}
	}
	write_batch(&merged, false, rules, need_pace);
	write_batch(&replaced, true, rules, need_pace);
	if (emptied.n > 0)
	{
		Datum		args[3];

		key_arrays_args(&emptied, args, false);
		if (SPI_execute_plan(plan_delete, args, NULL, false, 0) != SPI_OK_DELETE)
			elog(ERROR, "kpi: could not delete from kpi.actual");
	}
}

/* Apply a statement's changes of kpi.measurement to kpi.actual. */
static void
sync_actuals(TriggerData *trigdata)
{
	TupleDesc	desc = RelationGetDescr(trigdata->tg_relation);
	MeasurementCols cols;
	HASHCTL		ctl;
	HTAB	   *indicators;
	HTAB	   *actuals;
	HASH_SEQ_STATUS seq;
	ActualEntry *entry;
	ActualEntry **sorted;
	HTAB	   *rules;
	bool		need_pace;
	long		n = 0;

	cols.indicator_id = column_number(desc, "indicator_id");
	cols.scope_id = column_number(desc, "scope_id");
	cols.at = column_number(desc, "at");
	cols.value = column_number(desc, "value");
	cols.denominator = column_number(desc, "denominator");

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(IndicatorInfo);
	ctl.hcxt = CurrentMemoryContext;
	indicators = hash_create("kpi indicators", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	ctl.keysize = sizeof(ActualKey);
	ctl.entrysize = sizeof(ActualEntry);
	actuals = hash_create("kpi actuals", 1024, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);

	if (trigdata->tg_oldtable)
		collect_rows(trigdata->tg_oldtable, desc, &cols, indicators, actuals, false);
	if (trigdata->tg_newtable)
		collect_rows(trigdata->tg_newtable, desc, &cols, indicators, actuals,
					 !TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event));

	sorted = palloc(sizeof(ActualEntry *) * Max(hash_get_num_entries(actuals), 1));
	hash_seq_init(&seq, actuals);
	while ((entry = hash_seq_search(&seq)) != NULL)
		sorted[n++] = entry;
	qsort(sorted, n, sizeof(ActualEntry *), actual_key_cmp);
	rules = alert_rules(indicators, &need_pace);
	write_actuals(sorted, n, indicators, rules, need_pace);
}

PG_FUNCTION_INFO_V1(kpi_measurement_sync);
/*
 * Trigger on kpi.measurement, AFTER ... FOR EACH STATEMENT with transition
 * tables (kpi_new_rows, kpi_old_rows), and AFTER TRUNCATE.
 */
Datum
kpi_measurement_sync(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("kpi.measurement_sync() must be called as a trigger")));
	if (!TRIGGER_FIRED_AFTER(trigdata->tg_event) ||
		!TRIGGER_FIRED_FOR_STATEMENT(trigdata->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("kpi.measurement_sync() must fire AFTER ... FOR EACH STATEMENT")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	prepare_plans();

	if (TRIGGER_FIRED_BY_TRUNCATE(trigdata->tg_event))
	{
		/* DELETE, not TRUNCATE: kpi.actual may be in the same TRUNCATE list */
		if (SPI_execute("DELETE FROM kpi.actual", false, 0) != SPI_OK_DELETE)
			elog(ERROR, "kpi: could not empty kpi.actual");
	}
	else
	{
		if (!TRIGGER_FIRED_BY_UPDATE(trigdata->tg_event) &&
			trigdata->tg_newtable == NULL && trigdata->tg_oldtable == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
					 errmsg("kpi.measurement_sync() needs transition tables"),
					 errhint("Create the trigger with REFERENCING NEW TABLE / OLD TABLE.")));
		sync_actuals(trigdata);
	}
	SPI_finish();
	return PointerGetDatum(NULL);
}
