/*
 * forecast.c
 *	  kpi.forecast_each(indicators, scopes, p, at): the end-of-period forecast
 *	  of many keys (indicator, scope) of one period in one pass (release
 *	  0.15).  kpi.forecast (one key) and kpi.forecasts (every key with a
 *	  target) both call it, so the method exists once.
 *
 * The method (docs/analysis.md, "Will we make it?") compares the running
 * period with up to eleven earlier ones of its grain (the eight before it,
 * the same period of three earlier years): where each ended (its final
 * value) against what it had reached by the same point of its time.  Up to
 * 0.14 that took two statements per earlier period and key.  Here every
 * key's figures of one period are read together, as kpi.rollup reads them:
 *
 *	  * a scope with scopes below it that the caller sees (and so sees
 *		whole): its kpi.subtree rows, kept by kpi.evaluate(), unless its
 *		indicator has a change waiting in kpi.subtree_stale;
 *	  * a scope with none below it: its own kpi.actual rows;
 *	  * any other key (a mark waiting, a scope seen only in part): one
 *		kpi.rolled_up and one kpi.reached per period, with the caller's
 *		rights, as before.
 *
 * What a period had reached by a point inside a quarter or a year is the
 * merge of its kept month tallies when they tell it whole: each month
 * wholly before the point, or before it by its last data (and after the
 * start by its first).  First and last over several scopes add up each
 * scope's own value, so the month that decides (the latest with data for
 * last, the earliest for first) serves only when it has data from every
 * scope that has any in the period.  Any other window (a month split by
 * the point, a period of a month or a week, a scope seen in part) is
 * summarised from its measurements by kpi.reached.  The answers are
 * kpi.reached's and kpi.rolled_up's either way.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "pgtime.h"

#include "compat.h"
#include "kpi.h"

#define FC_MAX_WINDOWS	12		/* the period and up to eleven before it */
#define FC_FETCH		2000	/* rows per cursor fetch */
#define FC_NCOLS		14
#define FC_Z80			1.2816	/* the 80% interval: +- 1.2816 sd */

/* The period (window 0) or one earlier period compared with it. */
typedef struct FcWindow
{
	KpiPeriod	q;
	bool		seasonal;		/* the same period of an earlier year */
	TimestampTz lo;				/* its start and end in the company's zone */
	TimestampTz hi;
} FcWindow;

/* One key's figures for one window. */
typedef struct FcFig
{
	bool		has_final;		/* where the period ended */
	float8		final;
	bool		final_timed;
	TimestampTz final_last_at;
	bool		has_reached;	/* what it had reached by point */
	float8		reached;
	bool		reached_timed;
	TimestampTz reached_last_at;
	TimestampTz point;
} FcFig;

/* A target of a period inside a window: the plan of the key's goal. */
typedef struct FcPlan
{
	KpiPeriod	p;
	int			win;
	float8		target;
} FcPlan;

/* What the rows of one window have told about a key so far. */
typedef struct FcAcc
{
	KpiTally	tally;			/* the month tallies merged */
	bool		any;			/* a month row was merged */
	bool		raw;			/* a month cannot tell: read measurements */
	bool		has_final;
	float8		final;
	bool		final_null;
	KpiTally	final_tally;
	int64		final_nscopes;	/* scopes with values; -1 unknown */
	bool		has_dec;		/* the month that decides first or last */
	DateADT		dec_start;
	float8		dec_level;
	bool		dec_level_null;
	int64		dec_nscopes;
	bool		lvl_has;		/* merged first, last: the scopes' values */
	float8		lvl_sum;
	bool		final_lvl_has;
	float8		final_lvl_sum;
} FcAcc;

typedef enum FcSource
{
	FC_OWN,						/* a scope with none below it: its rows */
	FC_KEPT,					/* kpi.subtree rows */
	FC_MERGED					/* kpi.rolled_up and kpi.reached */
} FcSource;

typedef struct FcKey
{
	int64		iid;
	int64		sid;
	bool		known;			/* the indicator exists */
	bool		scope_known;	/* the scope exists */
	bool		emitted;		/* its row is out */
	KpiAggKind	agg;
	bool		level;			/* first, last: each scope's value adds up */
	bool		cumulative;		/* sum, count: the period fills up */
	bool		monthly;		/* windows can be told from kept months */
	bool		inner;			/* has scopes below it */
	FcSource	source;
	bool		has_goal;
	KpiGoal		goal;
	int			nplan;
	int			plancap;
	FcPlan	   *plan;
	int			next_ind;		/* the next key of the same indicator, or -1 */
	int			next_scope;		/* the next key of the same scope, or -1 */
	FcAcc		acc;
	FcFig		fig[FC_MAX_WINDOWS];
} FcKey;

/* (scope, indicator) -> index of the key */
typedef struct FcKeyId
{
	int64		sid;
	int64		iid;
} FcKeyId;

typedef struct FcKeyEntry
{
	FcKeyId		id;
	int			key;
	char		status;			/* used by simplehash */
} FcKeyEntry;

static inline uint32
fc_key_hash(int64 sid, int64 iid)
{
	return hash_combine(murmurhash32((uint32) (sid ^ (sid >> 32))),
						murmurhash32((uint32) (iid ^ (iid >> 32))));
}

#define SH_PREFIX		fckey
#define SH_ELEMENT_TYPE FcKeyEntry
#define SH_KEY_TYPE		FcKeyId
#define SH_KEY			id
#define SH_HASH_KEY(tb, key) fc_key_hash((key).sid, (key).iid)
#define SH_EQUAL(tb, a, b) ((a).sid == (b).sid && (a).iid == (b).iid)
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* id -> the first key with it (the rest chained through the keys) */
typedef struct FcIdEntry
{
	int64		id;
	int			first;
	char		status;			/* used by simplehash */
} FcIdEntry;

#define SH_PREFIX		fcid
#define SH_ELEMENT_TYPE FcIdEntry
#define SH_KEY_TYPE		int64
#define SH_KEY			id
#define SH_HASH_KEY(tb, key) murmurhash32((uint32) ((uint64) (key) ^ ((uint64) (key) >> 32)))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* scope -> its parent (0: none) */
typedef struct FcParentEntry
{
	int64		id;
	int64		parent;
	char		status;			/* used by simplehash */
} FcParentEntry;

#define SH_PREFIX		fcparent
#define SH_ELEMENT_TYPE FcParentEntry
#define SH_KEY_TYPE		int64
#define SH_KEY			id
#define SH_HASH_KEY(tb, key) murmurhash32((uint32) ((uint64) (key) ^ ((uint64) (key) >> 32)))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/*
 * The rows of one (indicator, scope) read for merged keys, and the keys
 * above the scope they count in, each with the scope's window so far
 * (first and last add up each scope's own value).
 */
typedef struct FcGroup
{
	bool		active;
	int64		iid;
	int64		sid;
	bool		has_final;
	KpiTally	final;
	int			nkeys;
	int		   *keys;			/* max_depth of each */
	KpiTally   *win;
	bool	   *any;
} FcGroup;

typedef struct FcState
{
	MemoryContext cxt;
	pg_tz	   *zone;
	KpiPeriod	p;
	TimestampTz at;
	bool		finished;		/* the period is over at `at` */
	bool		most_indicators;	/* keys of over a quarter of them */
	int			nwin;
	FcWindow	win[FC_MAX_WINDOWS];
	int			nkeys;
	FcKey	   *keys;
	int			ninput;
	int		   *input_key;		/* input position -> key */
	fckey_hash *index;
	fcid_hash  *by_ind;
	fcid_hash  *by_scope;
	fcparent_hash *parents;		/* every scope's parent (merged keys) */
	int			max_depth;
	Datum		merged_scopes;	/* the scopes below merged keys' scopes */
	FcGroup		group;
	Oid			period_type;
	Oid			goal_type;
	Oid			agg_type;
} FcState;

static SPIPlanPtr plan_indicators = NULL;
static SPIPlanPtr plan_scopes = NULL;
static SPIPlanPtr plan_visible = NULL;
static SPIPlanPtr plan_zone = NULL;
static SPIPlanPtr plan_marks = NULL;
static SPIPlanPtr plan_goals = NULL;
static SPIPlanPtr plan_plans = NULL;
static SPIPlanPtr plan_kept = NULL;
static SPIPlanPtr plan_own = NULL;
static SPIPlanPtr plan_kept_all = NULL;
static SPIPlanPtr plan_own_all = NULL;
static SPIPlanPtr plan_count = NULL;
static SPIPlanPtr plan_parents = NULL;
static SPIPlanPtr plan_merged = NULL;
static SPIPlanPtr plan_merged_all = NULL;
static SPIPlanPtr plan_reached = NULL;

/* Prepare the statements (names qualified: the caller's path is not read). */
static void
prepare_plans(FcState *st)
{
	Oid			t[5];

	t[0] = INT8ARRAYOID;
	kpi_prepare_into(&plan_indicators,
		"SELECT i.id, i.agg::pg_catalog.text, i.code, "
		"       'month' OPERATOR(pg_catalog.=) ANY (i.grains), "
		"       kpi.grain($2) OPERATOR(pg_catalog.=) ANY (i.grains) "
		"FROM kpi.indicator i WHERE i.id OPERATOR(pg_catalog.=) ANY ($1)",
		2, (Oid[]) {INT8ARRAYOID, st->period_type}, CURSOR_OPT_NO_SCROLL);
	kpi_prepare_into(&plan_scopes,
		"SELECT s.id, EXISTS (SELECT FROM kpi.scope c WHERE c.parent_id OPERATOR(pg_catalog.=) s.id) "
		"FROM kpi.scope s WHERE s.id OPERATOR(pg_catalog.=) ANY ($1)",
		1, t, CURSOR_OPT_NO_SCROLL);
	kpi_prepare_into(&plan_visible, "SELECT kpi.visible_scopes()", 0, NULL, 0);
	kpi_prepare_into(&plan_count, "SELECT pg_catalog.count(*) FROM kpi.indicator", 0, NULL, 0);
	kpi_prepare_into(&plan_parents, "SELECT s.id, s.parent_id FROM kpi.scope s", 0, NULL, CURSOR_OPT_NO_SCROLL);
	kpi_prepare_into(&plan_zone, "SELECT kpi.time_zone()", 0, NULL, 0);
	kpi_prepare_into(&plan_marks,
		"SELECT DISTINCT s.indicator_id, s.period FROM kpi.subtree_stale s",
		0, NULL, CURSOR_OPT_NO_SCROLL);
	t[0] = st->period_type;
	t[1] = INT8ARRAYOID;
	t[2] = INT8ARRAYOID;
	kpi_prepare_into(&plan_goals,
		"SELECT t.indicator_id, t.scope_id, t.goal FROM kpi.target t "
		"WHERE t.period OPERATOR(kpi.=) $1 AND t.scope_id OPERATOR(pg_catalog.=) ANY ($2) "
		"  AND t.indicator_id OPERATOR(pg_catalog.=) ANY ($3)",
		3, t, CURSOR_OPT_NO_SCROLL);
	/* the plan: targets of the periods inside a window, of another grain */
	t[3] = get_array_type(st->period_type);
	kpi_prepare_into(&plan_plans,
		"SELECT t.indicator_id, t.scope_id, t.period, kpi.target(t.goal) FROM kpi.target t "
		"WHERE t.scope_id OPERATOR(pg_catalog.=) ANY ($2) "
		"  AND t.indicator_id OPERATOR(pg_catalog.=) ANY ($3) "
		"  AND t.period OPERATOR(kpi.<@) ANY ($4) "
		"  AND kpi.grain(t.period) OPERATOR(pg_catalog.<>) kpi.grain($1) "
		"ORDER BY t.period",
		4, t, CURSOR_OPT_NO_SCROLL);
	t[0] = INT8ARRAYOID;
	t[1] = get_array_type(st->period_type);
	t[2] = INT8ARRAYOID;
	kpi_prepare_into(&plan_kept,
		"SELECT k.scope_id, k.indicator_id, k.period, k.tally, k.level_sum, k.nscopes "
		"FROM kpi.subtree k WHERE k.scope_id OPERATOR(pg_catalog.=) ANY ($1) "
		"  AND k.period OPERATOR(kpi.=) ANY ($2) AND k.indicator_id OPERATOR(pg_catalog.=) ANY ($3)",
		3, t, CURSOR_OPT_NO_SCROLL);
	/* most indicators asked for: every indicator of the scopes and periods */
	kpi_prepare_into(&plan_kept_all,
		"SELECT k.scope_id, k.indicator_id, k.period, k.tally, k.level_sum, k.nscopes "
		"FROM kpi.subtree k WHERE k.scope_id OPERATOR(pg_catalog.=) ANY ($1) "
		"  AND k.period OPERATOR(kpi.=) ANY ($2)",
		2, t, CURSOR_OPT_NO_SCROLL);
	kpi_prepare_into(&plan_own_all,
		"SELECT a.scope_id, a.indicator_id, a.period, a.tally, NULL::pg_catalog.float8, NULL::pg_catalog.int8 "
		"FROM kpi.actual a WHERE a.scope_id OPERATOR(pg_catalog.=) ANY ($1) "
		"  AND a.period OPERATOR(kpi.=) ANY ($2)",
		2, t, CURSOR_OPT_NO_SCROLL);
	/* merged keys: every scope's rows, scope by scope */
	kpi_prepare_into(&plan_merged,
		"SELECT a.scope_id, a.indicator_id, a.period, a.tally FROM kpi.actual a "
		"WHERE a.indicator_id OPERATOR(pg_catalog.=) ANY ($3) AND a.scope_id OPERATOR(pg_catalog.=) ANY ($1) "
		"  AND a.period OPERATOR(kpi.=) ANY ($2) "
		"ORDER BY a.indicator_id, a.scope_id",
		3, t, CURSOR_OPT_NO_SCROLL);
	kpi_prepare_into(&plan_merged_all,
		"SELECT a.scope_id, a.indicator_id, a.period, a.tally FROM kpi.actual a "
		"WHERE a.scope_id OPERATOR(pg_catalog.=) ANY ($1) AND a.period OPERATOR(kpi.=) ANY ($2) "
		"ORDER BY a.indicator_id, a.scope_id",
		2, t, CURSOR_OPT_NO_SCROLL);
	kpi_prepare_into(&plan_own,
		"SELECT a.scope_id, a.indicator_id, a.period, a.tally, NULL::pg_catalog.float8, NULL::pg_catalog.int8 "
		"FROM kpi.actual a WHERE a.scope_id OPERATOR(pg_catalog.=) ANY ($1) "
		"  AND a.period OPERATOR(kpi.=) ANY ($2) AND a.indicator_id OPERATOR(pg_catalog.=) ANY ($3)",
		3, t, CURSOR_OPT_NO_SCROLL);
	/* called once per key and window: planned once (generic) */
	t[0] = INT8OID;
	t[1] = TEXTOID;
	t[2] = INT8OID;
	t[3] = TIMESTAMPTZOID;
	t[4] = TIMESTAMPTZOID;
	kpi_prepare_into(&plan_reached,
		"SELECT r.value, r.last_at FROM kpi.reached($1, $2::kpi.agg_kind, kpi.scope_descendants($3), $4, $5) r",
		5, t, CURSOR_OPT_GENERIC_PLAN);
}

/* Run a kept plan through a cursor, each row to fn in the state's context. */
static inline void
each_row(FcState *st, SPIPlanPtr plan, Datum *args, KpiRowFn fn, void *arg)
{
	kpi_spi_each_row(plan, args, NULL, FC_FETCH, st->cxt, fn, st, arg);
}

/* A kpi.period[] of n periods. */
static inline Datum
period_array(FcState *st, const KpiPeriod *v, int n)
{
	return kpi_int64_array(v, n, st->period_type);
}

static FcKey *
find_key(FcState *st, int64 sid, int64 iid)
{
	FcKeyId		k;
	FcKeyEntry *e;

	k.sid = sid;
	k.iid = iid;
	e = fckey_lookup(st->index, k);
	return e ? &st->keys[e->key] : NULL;
}

static int64
get_int8(HeapTuple tup, TupleDesc desc, int col)
{
	bool		isnull;

	return DatumGetInt64(SPI_getbinval(tup, desc, col, &isnull));
}

/* ---------------------------------------------------------------------
 * The keys
 * ---------------------------------------------------------------------
 */

/* The keys asked for, each once, in the order first asked. */
static void
load_keys(FcState *st, ArrayType *ind, ArrayType *scp)
{
	Datum	   *iv,
			   *sv;
	bool	   *in,
			   *sn;
	int			ni,
				ns,
				i;

	if (ARR_NDIM(ind) > 1 || ARR_NDIM(scp) > 1)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kpi.forecast_each takes one-dimensional arrays")));
	deconstruct_array(ind, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &iv, &in, &ni);
	deconstruct_array(scp, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &sv, &sn, &ns);
	if (ni != ns)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("kpi.forecast_each needs as many scopes as indicators (%d, %d)", ns, ni)));
	st->ninput = ni;
	st->input_key = palloc(sizeof(int) * Max(ni, 1));
	st->keys = palloc0(sizeof(FcKey) * Max(ni, 1));
	st->index = fckey_create(st->cxt, Max(ni, 16), NULL);
	st->by_ind = fcid_create(st->cxt, 64, NULL);
	st->by_scope = fcid_create(st->cxt, 64, NULL);
	for (i = 0; i < ni; i++)
	{
		FcKeyId		k;
		FcKeyEntry *e;
		bool		found;

		if (in[i] || sn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("kpi.forecast_each needs keys without NULLs")));
		k.sid = DatumGetInt64(sv[i]);
		k.iid = DatumGetInt64(iv[i]);
		e = fckey_insert(st->index, k, &found);
		if (!found)
		{
			e->key = st->nkeys++;
			st->keys[e->key].sid = k.sid;
			st->keys[e->key].iid = k.iid;
		}
		st->input_key[i] = e->key;
		if (!found)
		{
			FcKey	   *key = &st->keys[e->key];
			FcIdEntry  *x;

			x = fcid_insert(st->by_ind, k.iid, &found);
			key->next_ind = found ? x->first : -1;
			x->first = e->key;
			x = fcid_insert(st->by_scope, k.sid, &found);
			key->next_scope = found ? x->first : -1;
			x->first = e->key;
		}
	}
}

/* The first key of an id (-1: none). */
static int
first_key(fcid_hash *h, int64 id)
{
	FcIdEntry  *e = fcid_lookup(h, id);

	return e ? e->first : -1;
}

/* The ids of the keys' indicators, or of their scopes, each once. */
static Datum
distinct_ids(FcState *st, bool scopes, bool (*which) (const FcKey *))
{
	fcid_hash  *h = scopes ? st->by_scope : st->by_ind;
	fcid_iterator it;
	FcIdEntry  *e;
	int64	   *v = palloc(sizeof(int64) * Max(h->members, 1));
	int			n = 0;

	fcid_start_iterate(h, &it);
	while ((e = fcid_iterate(h, &it)) != NULL)
	{
		int			k;

		for (k = e->first; k >= 0; k = scopes ? st->keys[k].next_scope : st->keys[k].next_ind)
			if (which == NULL || which(&st->keys[k]))
			{
				v[n++] = e->id;
				break;
			}
	}
	return kpi_int64_array(v, n, INT8OID);
}

/* An indicator's kind and grains, onto each of its keys. */
static void
indicator_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	FcState *st = (FcState *) state;
	bool		isnull;
	char	   *agg = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
	bool		months = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));
	bool		keeps = DatumGetBool(SPI_getbinval(tup, desc, 5, &isnull));
	KpiGrain	g = kpi_period_grain(st->p);
	int			k;

	if (!keeps)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s keeps no %s actuals",
						TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull)),
						kpi_grain_name(g)),
				 errhint("kpi.forecast reads kept grains; add the grain to the indicator's grains.")));
	for (k = first_key(st->by_ind, get_int8(tup, desc, 1)); k >= 0; k = st->keys[k].next_ind)
	{
		FcKey	   *key = &st->keys[k];

		key->known = true;
		key->agg = kpi_agg_kind_from_name(agg);
		key->level = key->agg == KPI_AGG_FIRST || key->agg == KPI_AGG_LAST;
		key->cumulative = key->agg == KPI_AGG_SUM || key->agg == KPI_AGG_COUNT;
		key->monthly = months && (g == KPI_GRAIN_QUARTER || g == KPI_GRAIN_YEAR);
	}
}

/* A scope that exists: whether scopes lie below it, onto each of its keys. */
static void
scope_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	FcState *st = (FcState *) state;
	bool		isnull;
	bool		inner = DatumGetBool(SPI_getbinval(tup, desc, 2, &isnull));
	int			k;

	for (k = first_key(st->by_scope, get_int8(tup, desc, 1)); k >= 0; k = st->keys[k].next_scope)
	{
		st->keys[k].inner = inner;
		st->keys[k].scope_known = true;
	}
}

/*
 * The company's zone, read at the statement's snapshot (kpi_company_zone()
 * reads the latest, which a parallel worker may not take).
 */
static pg_tz *
company_zone(void)
{
	bool		isnull;
	Datum		d;

	if (SPI_execute_plan(plan_zone, NULL, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "kpi: could not read kpi.time_zone()");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return kpi_zone_lookup(isnull ? "UTC" : TextDatumGetCString(d));
}

/* The scopes the caller sees: NULL when it sees every one. */
static fcid_hash *
load_visible(FcState *st)
{
	bool		isnull;
	Datum		d;
	Datum	   *v;
	int			n,
				i;
	fcid_hash  *h;

	if (SPI_execute_plan(plan_visible, NULL, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "kpi: could not read kpi.visible_scopes()");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (isnull)
		return NULL;
	deconstruct_array(DatumGetArrayTypeP(d), INT8OID, sizeof(int64), FLOAT8PASSBYVAL,
					  TYPALIGN_DOUBLE, &v, NULL, &n);
	h = fcid_create(st->cxt, Max(n, 16), NULL);
	for (i = 0; i < n; i++)
	{
		bool		found;

		fcid_insert(h, DatumGetInt64(v[i]), &found);
	}
	return h;
}

/* Does period m lie in (or equal) one of the windows? */
static bool
in_windows(FcState *st, KpiPeriod m)
{
	int			j;

	for (j = 0; j < st->nwin; j++)
		if (kpi_period_start(st->win[j].q) <= kpi_period_start(m) &&
			kpi_period_end(m) <= kpi_period_end(st->win[j].q))
			return true;
	return false;
}

/* One mark of kpi.subtree_stale: the keys whose kept rows it concerns. */
static void
mark_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	FcState *st = (FcState *) state;
	bool		isnull,
				pnull;
	int64		iid = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	KpiPeriod	p = DatumGetKpiPeriod(SPI_getbinval(tup, desc, 2, &pnull));
	bool	   *everything = (bool *) arg;
	int			k;

	if (isnull)
	{
		*everything = true;
		return;
	}
	if (!pnull && !in_windows(st, p))
		return;
	for (k = first_key(st->by_ind, iid); k >= 0; k = st->keys[k].next_ind)
		st->keys[k].source = FC_MERGED;
}

/*
 * How each key is read: its own rows (no scope below it), its kept
 * kpi.subtree rows (a scope seen whole, no mark waiting, the caller
 * granted SELECT on kpi.subtree and kpi.subtree_stale), or merged by
 * kpi.rolled_up and kpi.reached.  A key of an unknown indicator or scope
 * gets no row.
 */
static void
choose_sources(FcState *st)
{
	fcid_hash  *visible = load_visible(st);
	bool		everything = false;
	int			k;

	for (k = 0; k < st->nkeys; k++)
		st->keys[k].source = FC_KEPT;
	/* a role not granted the kept tables reads as before 0.14: merged */
	if (pg_class_aclcheck(kpi_relation("subtree"), GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		pg_class_aclcheck(kpi_relation("subtree_stale"), GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		everything = true;
	else
		each_row(st, plan_marks, NULL, mark_row, &everything);
	for (k = 0; k < st->nkeys; k++)
	{
		FcKey	   *key = &st->keys[k];

		if (!key->inner)
			key->source = FC_OWN;
		else if (everything || (visible != NULL && fcid_lookup(visible, key->sid) == NULL))
			key->source = FC_MERGED;
	}
}

/* A key's goal for the period. */
static void
goal_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	FcState *st = (FcState *) state;
	bool		isnull;
	FcKey	   *key = find_key(st, get_int8(tup, desc, 2), get_int8(tup, desc, 1));

	if (key == NULL)
		return;
	key->has_goal = true;
	memcpy(&key->goal, DatumGetPointer(SPI_getbinval(tup, desc, 3, &isnull)), sizeof(KpiGoal));
}

/* A target of a period inside one of the windows: part of a plan. */
static void
plan_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	FcState *st = (FcState *) state;
	bool		isnull;
	FcKey	   *key = find_key(st, get_int8(tup, desc, 2), get_int8(tup, desc, 1));
	KpiPeriod	p = DatumGetKpiPeriod(SPI_getbinval(tup, desc, 3, &isnull));
	float8		target = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
	int			j;

	if (key == NULL || !key->cumulative || isnull)
		return;
	for (j = 0; j < st->nwin; j++)
	{
		if (!(kpi_period_start(st->win[j].q) <= kpi_period_start(p) &&
			  kpi_period_end(p) <= kpi_period_end(st->win[j].q)))
			continue;
		if (key->nplan == key->plancap)
		{
			key->plancap = Max(8, key->plancap * 2);
			key->plan = key->plan ? repalloc(key->plan, sizeof(FcPlan) * key->plancap)
				: palloc(sizeof(FcPlan) * key->plancap);
		}
		key->plan[key->nplan].p = p;
		key->plan[key->nplan].win = j;
		key->plan[key->nplan].target = target;
		key->nplan++;
		break;
	}
}

/* The number of periods of grain g inside q. */
static int
periods_inside(KpiPeriod q, KpiGrain g)
{
	KpiPeriod	x = kpi_period_containing(kpi_period_start(q), g);
	int			n = 0;

	while (kpi_period_start(x) <= kpi_period_end(q))
	{
		if (kpi_period_start(q) <= kpi_period_start(x) && kpi_period_end(x) <= kpi_period_end(q))
			n++;
		if (!kpi_period_shift(x, 1, &x))
			break;
	}
	return n;
}

/*
 * kpi.planned_share for one key, window and time: when the periods of one
 * grain inside the window all have positive targets at the scope, the
 * share of their sum due by t (each counted by the part of it elapsed);
 * false without such a plan.  The grain with the most periods wins.
 */
static bool
planned_share(FcState *st, const FcKey *key, int j, TimestampTz t, float8 *share)
{
	int			count[KPI_GRAIN_COUNT] = {0};
	bool		bad[KPI_GRAIN_COUNT] = {0};
	float8		sum[KPI_GRAIN_COUNT] = {0};
	float8		due[KPI_GRAIN_COUNT] = {0};
	int			best = -1;
	int			i,
				g;

	for (i = 0; i < key->nplan; i++)
	{
		const FcPlan *pl = &key->plan[i];

		if (pl->win != j)
			continue;
		g = kpi_period_grain(pl->p);
		count[g]++;
		bad[g] |= !(pl->target > 0);
		sum[g] += pl->target;
		due[g] += pl->target * kpi_zone_progress(pl->p, t, st->zone);
	}
	for (g = 0; g < KPI_GRAIN_COUNT; g++)
		if (count[g] > 0 && !bad[g] && (best < 0 || count[g] > count[best]) &&
			count[g] == periods_inside(st->win[j].q, (KpiGrain) g))
			best = g;
	if (best < 0 || sum[best] == 0)
		return false;
	*share = due[best] / sum[best];
	return true;
}

/* ---------------------------------------------------------------------
 * The figures of one window
 * ---------------------------------------------------------------------
 */

static bool
is_kept(const FcKey *k)
{
	return k->known && k->scope_known && k->source == FC_KEPT;
}

static bool
is_own(const FcKey *k)
{
	return k->known && k->scope_known && k->source == FC_OWN;
}

/* The end of window j for a key: `at` for the period, else its point. */
static inline TimestampTz
window_end(FcState *st, const FcKey *key, int j)
{
	return j == 0 ? st->at : key->fig[j].point;
}

typedef enum FcMonth
{
	FC_OUTSIDE,					/* none of its data in the window */
	FC_INSIDE,					/* all of them */
	FC_SPLIT					/* some: the window needs its measurements */
} FcMonth;

/*
 * Where the data of month m (tally t) lie against the window [lo, hi): a
 * month wholly inside is inside; one the window's end splits is inside or
 * outside by its first and last data when both are on one side.
 */
static FcMonth
month_in_window(FcState *st, KpiPeriod m, const KpiTally *t, TimestampTz lo, TimestampTz hi)
{
	TimestampTz mlo = kpi_zone_midnight(kpi_period_start(m), st->zone);
	TimestampTz mhi = kpi_zone_midnight(kpi_period_end(m) + 1, st->zone);

	if (mlo >= hi || mhi <= lo || t->count == 0)
		return FC_OUTSIDE;
	if (mlo >= lo && mhi <= hi)
		return FC_INSIDE;
	if (t->flags & KPI_TALLY_UNTIMED)
		return FC_SPLIT;
	if (t->first_at >= hi || t->last_at < lo)
		return FC_OUTSIDE;
	if (t->first_at >= lo && t->last_at < hi)
		return FC_INSIDE;
	return FC_SPLIT;
}

/*
 * One kept row (kpi.subtree, or a scope's own kpi.actual): the window's
 * final figure, or one of its months, merged when it lies before the
 * window's end whole or by its data.
 */
static void
kept_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	FcState *st = (FcState *) state;
	int			j = *(int *) arg;
	bool		isnull,
				lnull;
	FcKey	   *key = find_key(st, get_int8(tup, desc, 1), get_int8(tup, desc, 2));
	KpiPeriod	p = DatumGetKpiPeriod(SPI_getbinval(tup, desc, 3, &isnull));
	const KpiTally *t = (const KpiTally *) DatumGetPointer(SPI_getbinval(tup, desc, 4, &isnull));
	Datum		ls = SPI_getbinval(tup, desc, 5, &lnull);
	Datum		ns = SPI_getbinval(tup, desc, 6, &isnull);
	int64		nscopes = isnull ? -1 : DatumGetInt64(ns);
	FcAcc	   *acc;
	float8		level;
	bool		level_null;

	if (key == NULL || key->source == FC_MERGED)
		return;
	acc = &key->acc;
	/* a scope's own row: its value is its level */
	if (key->source == FC_OWN)
	{
		level = kpi_tally_value(t, key->agg, &level_null);
		nscopes = t->count > 0;
	}
	else
	{
		level = lnull ? 0.0 : DatumGetFloat8(ls);
		level_null = lnull;
	}
	if (p == st->win[j].q)
	{
		acc->has_final = true;
		if (key->level)
		{
			acc->final = level;
			acc->final_null = level_null;
		}
		else
			acc->final = kpi_tally_value(t, key->agg, &acc->final_null);
		acc->final_tally = *t;
		acc->final_nscopes = nscopes;
		return;
	}
	if (!key->monthly || st->finished)
		return;
	switch (month_in_window(st, p, t, st->win[j].lo, window_end(st, key, j)))
	{
		case FC_OUTSIDE:
			return;
		case FC_SPLIT:
			acc->raw = true;
			return;
		case FC_INSIDE:
			break;
	}
	kpi_tally_merge(&acc->tally, t);
	acc->any = true;
	if (key->level && key->inner && t->count > 0 &&
		(!acc->has_dec ||
		 (key->agg == KPI_AGG_LAST ? kpi_period_start(p) > acc->dec_start
		  : kpi_period_start(p) < acc->dec_start)))
	{
		acc->has_dec = true;
		acc->dec_start = kpi_period_start(p);
		acc->dec_level = level;
		acc->dec_level_null = level_null;
		acc->dec_nscopes = nscopes;
	}
}

/* What a key had reached in window j, from its measurements (kpi.reached). */
static void
raw_reached(FcState *st, FcKey *key, int j)
{
	FcFig	   *f = &key->fig[j];
	Datum		args[5];
	bool		isnull;

	args[0] = Int64GetDatum(key->iid);
	args[1] = CStringGetTextDatum(kpi_agg_kind_name(key->agg));
	args[2] = Int64GetDatum(key->sid);
	args[3] = TimestampTzGetDatum(st->win[j].lo);
	args[4] = TimestampTzGetDatum(window_end(st, key, j));
	if (SPI_execute_plan(plan_reached, args, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "kpi: kpi.reached failed");
	if (SPI_processed == 1)
	{
		HeapTuple	tup = SPI_tuptable->vals[0];
		Datum		d;

		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 1, &isnull);
		f->reached = isnull ? get_float8_nan() : DatumGetFloat8(d);
		f->has_reached = !isnull;
		d = SPI_getbinval(tup, SPI_tuptable->tupdesc, 2, &isnull);
		f->reached_timed = !isnull;
		if (!isnull)
			f->reached_last_at = DatumGetTimestampTz(d);
	}
	SPI_freetuptable(SPI_tuptable);
}

/* ---------------------------------------------------------------------
 * Merged keys: every scope's rows
 * ---------------------------------------------------------------------
 */

static bool
is_merged(const FcKey *k)
{
	return k->known && k->scope_known && k->source == FC_MERGED;
}

/* The parent of a scope (0: none or unknown). */
static int64
parent_of(FcState *st, int64 sid)
{
	FcParentEntry *e = fcparent_lookup(st->parents, sid);

	return e ? e->parent : 0;
}

static void
parent_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	FcState *st = (FcState *) state;
	bool		isnull,
				found;
	FcParentEntry *e = fcparent_insert(st->parents, get_int8(tup, desc, 1), &found);
	Datum		p = SPI_getbinval(tup, desc, 2, &isnull);

	e->parent = isnull ? 0 : DatumGetInt64(p);
}

/* Is a merged key at this scope? */
static bool
merged_at(FcState *st, int64 sid)
{
	int			k;

	for (k = first_key(st->by_scope, sid); k >= 0; k = st->keys[k].next_scope)
		if (st->keys[k].source == FC_MERGED)
			return true;
	return false;
}

/*
 * The scope tree, and the scopes whose rows merged keys read: each merged
 * key's scope and every scope below it.
 */
static void
load_merged_scopes(FcState *st)
{
	fcparent_iterator it;
	FcParentEntry *e;
	int64	   *v;
	int			n = 0,
				k;

	st->merged_scopes = kpi_int64_array(NULL, 0, INT8OID);
	for (k = 0; k < st->nkeys && !is_merged(&st->keys[k]); k++)
		;
	if (k == st->nkeys)
		return;
	st->parents = fcparent_create(st->cxt, 256, NULL);
	each_row(st, plan_parents, NULL, parent_row, NULL);
	v = palloc(sizeof(int64) * Max(st->parents->members, 1));
	fcparent_start_iterate(st->parents, &it);
	while ((e = fcparent_iterate(st->parents, &it)) != NULL)
	{
		int64		s = e->id;
		int			depth = 0;
		bool		below = false;

		/* a cycle cannot be stored (kpi.scope refuses it); the bound is a guard */
		for (; s != 0 && depth <= (int) st->parents->members; s = parent_of(st, s), depth++)
			below |= merged_at(st, s);
		st->max_depth = Max(st->max_depth, depth);
		if (below)
			v[n++] = e->id;
	}
	st->merged_scopes = kpi_int64_array(v, n, INT8OID);
	st->group.keys = MemoryContextAlloc(st->cxt, sizeof(int) * Max(st->max_depth, 1));
	st->group.win = MemoryContextAlloc(st->cxt, sizeof(KpiTally) * Max(st->max_depth, 1));
	st->group.any = MemoryContextAlloc(st->cxt, sizeof(bool) * Max(st->max_depth, 1));
}


/*
 * The rows of one (indicator, scope) are all in: count its final figure and
 * its window in each merged key above it.
 */
static void
flush_group(FcState *st)
{
	FcGroup    *g = &st->group;
	int			i;

	for (i = 0; i < g->nkeys; i++)
	{
		FcKey	   *key = &st->keys[g->keys[i]];
		FcAcc	   *acc = &key->acc;
		bool		isnull;
		float8		v;

		if (g->has_final)
		{
			acc->has_final = true;
			kpi_tally_merge(&acc->final_tally, &g->final);
			v = kpi_tally_value(&g->final, key->agg, &isnull);
			if (key->level && !isnull)
			{
				acc->final_lvl_sum += v;
				acc->final_lvl_has = true;
			}
		}
		if (key->level && g->any[i])
		{
			acc->any = true;
			kpi_tally_merge(&acc->tally, &g->win[i]);
			v = kpi_tally_value(&g->win[i], key->agg, &isnull);
			if (!isnull)
			{
				acc->lvl_sum += v;
				acc->lvl_has = true;
			}
		}
	}
	g->active = false;
}

/*
 * One kpi.actual row of a scope below merged keys (rows come by indicator,
 * then scope): the period's final figure, or a month, counted in each
 * merged key above the scope against that key's window.
 */
static void
merged_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	FcState *st = (FcState *) state;
	int			j = *(int *) arg;
	FcGroup    *g = &st->group;
	bool		isnull;
	int64		sid = get_int8(tup, desc, 1);
	int64		iid = get_int8(tup, desc, 2);
	KpiPeriod	p = DatumGetKpiPeriod(SPI_getbinval(tup, desc, 3, &isnull));
	const KpiTally *t = (const KpiTally *) DatumGetPointer(SPI_getbinval(tup, desc, 4, &isnull));
	int			i;

	if (g->active && (g->iid != iid || g->sid != sid))
		flush_group(st);
	if (!g->active)
	{
		int64		s = sid;

		g->active = true;
		g->iid = iid;
		g->sid = sid;
		g->has_final = false;
		g->nkeys = 0;
		for (; s != 0 && g->nkeys < st->max_depth; s = parent_of(st, s))
		{
			FcKey	   *key = find_key(st, s, iid);

			if (key == NULL || !is_merged(key))
				continue;
			g->keys[g->nkeys] = key - st->keys;
			kpi_tally_init(&g->win[g->nkeys]);
			g->any[g->nkeys] = false;
			g->nkeys++;
		}
	}
	if (p == st->win[j].q)
	{
		g->has_final = true;
		g->final = *t;
		return;
	}
	if (st->finished)
		return;
	for (i = 0; i < g->nkeys; i++)
	{
		FcKey	   *key = &st->keys[g->keys[i]];

		if (!key->monthly)
			continue;
		switch (month_in_window(st, p, t, st->win[j].lo, window_end(st, key, j)))
		{
			case FC_OUTSIDE:
				break;
			case FC_SPLIT:
				key->acc.raw = true;
				break;
			case FC_INSIDE:
				if (key->level)
				{
					kpi_tally_merge(&g->win[i], t);
					g->any[i] = true;
				}
				else
				{
					kpi_tally_merge(&key->acc.tally, t);
					key->acc.any = true;
				}
				break;
		}
	}
}

/* A merged key's figures for window j. */
static void
finish_merged(FcState *st, FcKey *key, int j)
{
	FcFig	   *f = &key->fig[j];
	FcAcc	   *acc = &key->acc;
	bool		isnull;

	if (acc->has_final)
	{
		if (key->level)
		{
			f->final = acc->final_lvl_sum;
			f->has_final = acc->final_lvl_has;
		}
		else
		{
			f->final = kpi_tally_value(&acc->final_tally, key->agg, &isnull);
			f->has_final = !isnull;
		}
		f->final_timed = acc->final_tally.count > 0 && !(acc->final_tally.flags & KPI_TALLY_UNTIMED);
		f->final_last_at = acc->final_tally.last_at;
	}
	if (st->finished)
		return;
	if (!key->monthly || acc->raw)
	{
		raw_reached(st, key, j);
		return;
	}
	if (!acc->any)
		return;
	f->reached_timed = acc->tally.count > 0 && !(acc->tally.flags & KPI_TALLY_UNTIMED);
	f->reached_last_at = acc->tally.last_at;
	if (key->level)
	{
		f->reached = acc->lvl_sum;
		isnull = !acc->lvl_has;
	}
	else
		f->reached = kpi_tally_value(&acc->tally, key->agg, &isnull);
	f->has_reached = !isnull;
}

/* A key's figures for window j, from what its kept rows told. */
static void
finish_window(FcState *st, FcKey *key, int j)
{
	FcFig	   *f = &key->fig[j];
	FcAcc	   *acc = &key->acc;
	bool		isnull;

	if (key->source == FC_MERGED)
	{
		finish_merged(st, key, j);
		return;
	}
	if (acc->has_final)
	{
		f->has_final = !acc->final_null;
		f->final = acc->final;
		f->final_timed = acc->final_tally.count > 0 && !(acc->final_tally.flags & KPI_TALLY_UNTIMED);
		f->final_last_at = acc->final_tally.last_at;
	}
	if (st->finished)
		return;
	if (!key->monthly || acc->raw ||
		(key->level && key->inner && acc->any &&
		 !(acc->has_dec && acc->has_final && acc->dec_nscopes >= 0 &&
		   acc->dec_nscopes == acc->final_nscopes)))
	{
		raw_reached(st, key, j);
		return;
	}
	if (!acc->any)
		return;
	f->reached_timed = acc->tally.count > 0 && !(acc->tally.flags & KPI_TALLY_UNTIMED);
	f->reached_last_at = acc->tally.last_at;
	if (key->level && key->inner)
	{
		f->reached = acc->dec_level;
		isnull = acc->dec_level_null;
	}
	else
		f->reached = kpi_tally_value(&acc->tally, key->agg, &isnull);
	f->has_reached = !isnull;
}

/* The number of elements of an array. */
static int
n_elements(Datum a)
{
	ArrayType  *arr = DatumGetArrayTypeP(a);

	return ArrayGetNItems(ARR_NDIM(arr), ARR_DIMS(arr));
}

/* Read every key's figures for window j. */
static void
read_window(FcState *st, int j)
{
	KpiPeriod	periods[1 + 12];
	int			np = 0;
	bool		months = false;
	int			k;
	Datum		args[3];

	for (k = 0; k < st->nkeys; k++)
	{
		memset(&st->keys[k].acc, 0, sizeof(FcAcc));
		kpi_tally_init(&st->keys[k].acc.tally);
		kpi_tally_init(&st->keys[k].acc.final_tally);
		months |= st->keys[k].monthly;
	}
	periods[np++] = st->win[j].q;
	if (months && !st->finished)
	{
		KpiPeriod	m = kpi_period_containing(kpi_period_start(st->win[j].q), KPI_GRAIN_MONTH);

		while (np < lengthof(periods) && kpi_period_start(m) <= kpi_period_end(st->win[j].q))
		{
			periods[np++] = m;
			if (!kpi_period_shift(m, 1, &m))
				break;
		}
	}
	args[1] = period_array(st, periods, np);
	args[0] = distinct_ids(st, true, is_kept);
	if (n_elements(args[0]) > 0)
	{
		args[2] = distinct_ids(st, false, is_kept);
		each_row(st, st->most_indicators ? plan_kept_all : plan_kept, args, kept_row, &j);
	}
	args[0] = distinct_ids(st, true, is_own);
	if (n_elements(args[0]) > 0)
	{
		args[2] = distinct_ids(st, false, is_own);
		each_row(st, st->most_indicators ? plan_own_all : plan_own, args, kept_row, &j);
	}
	if (n_elements(st->merged_scopes) > 0)
	{
		args[0] = st->merged_scopes;
		args[2] = distinct_ids(st, false, is_merged);
		if (n_elements(args[2]) > 0)
		{
			each_row(st, st->most_indicators ? plan_merged_all : plan_merged, args, merged_row, &j);
			if (st->group.active)
				flush_group(st);
		}
	}
	for (k = 0; k < st->nkeys; k++)
		if (st->keys[k].known && st->keys[k].scope_known)
			finish_window(st, &st->keys[k], j);
}

/* ---------------------------------------------------------------------
 * The windows and their points
 * ---------------------------------------------------------------------
 */

/* Add q to the windows (once; seasonal if either asks), in period order. */
static void
add_window(FcState *st, KpiPeriod q, bool seasonal)
{
	int			j,
				i;

	for (j = 1; j < st->nwin; j++)
		if (st->win[j].q == q)
		{
			st->win[j].seasonal |= seasonal;
			return;
		}
	Assert(st->nwin < FC_MAX_WINDOWS);
	for (j = st->nwin; j > 1 && kpi_period_start(st->win[j - 1].q) > kpi_period_start(q); j--)
		;
	for (i = st->nwin; i > j; i--)
		st->win[i] = st->win[i - 1];
	st->win[j].q = q;
	st->win[j].seasonal = seasonal;
	st->win[j].lo = kpi_zone_midnight(kpi_period_start(q), st->zone);
	st->win[j].hi = kpi_zone_midnight(kpi_period_end(q) + 1, st->zone);
	st->nwin++;
}

/*
 * Window 0 is the period; the others are the eight periods before it and
 * the same period of three earlier years (where the calendar has them).
 */
static void
set_windows(FcState *st)
{
	KpiPeriod	q = st->p;
	int			k;

	st->nwin = 1;
	st->win[0].q = st->p;
	st->win[0].lo = kpi_zone_midnight(kpi_period_start(st->p), st->zone);
	st->win[0].hi = kpi_zone_midnight(kpi_period_end(st->p) + 1, st->zone);
	if (st->finished)
		return;
	if (kpi_period_start(st->p) > date2j(10, 1, 1) - POSTGRES_EPOCH_JDATE)
		for (k = 1; k <= 8; k++)
		{
			KpiPeriod	e;

			if (kpi_period_shift(st->p, -k, &e))
				add_window(st, e, false);
		}
	for (k = 0; k < 3 && kpi_period_last_year_of(q, &q); k++)
		add_window(st, q, true);
}

/*
 * lo plus a span of time as an interval of whole days and the rest (what
 * timestamptz - timestamptz gives), the days counted in the company's zone.
 */
static TimestampTz
zone_plus(FcState *st, DateADT start, int64 span)
{
	int64		days = span / USECS_PER_DAY;

	return kpi_zone_midnight(start + (DateADT) days, st->zone) + (span - days * USECS_PER_DAY);
}

/*
 * The same point of each earlier period for a key: as long after its start
 * as the latest data (t) are after this period's (the end of a first month
 * is the end of a first month), the latest data's instant included, and
 * no further than its end.
 */
static void
set_points(FcState *st, FcKey *key, TimestampTz t)
{
	int64		off = t - st->win[0].lo + 1;
	int			j;

	for (j = 1; j < st->nwin; j++)
		key->fig[j].point = zone_plus(st, kpi_period_start(st->win[j].q),
									  Min(off, st->win[j].hi - st->win[j].lo));
}

/* ---------------------------------------------------------------------
 * The method
 * ---------------------------------------------------------------------
 */

typedef struct FcRow
{
	bool		has_as_of;
	TimestampTz as_of;
	float8		elapsed;
	const char *method;
	bool		has_actual;
	float8		actual;
	bool		has_share;
	float8		share;			/* expected_share */
	bool		has_projected;
	float8		projected;
	bool		has_sigma;
	float8		sigma;
	int			history;
} FcRow;

/* The latest data of the period (t), for a key's running period. */
static TimestampTz
as_of(FcState *st, const FcKey *key)
{
	const FcFig *cur = &key->fig[0];

	return (cur->reached_timed && cur->reached_last_at < st->at) ? cur->reached_last_at : st->at;
}

/* m of window j: where it ended over what it had reached by its point. */
static bool
window_ratio(const FcKey *key, int j, float8 *m)
{
	const FcFig *f = &key->fig[j];

	if (!f->has_final || !f->has_reached || f->reached == 0)
		return false;
	*m = f->final / f->reached;
	return isfinite(*m);
}

/* A finished period: its final figure. */
static void
final_row(FcState *st, const FcKey *key, FcRow *r)
{
	const FcFig *f = &key->fig[0];

	r->has_as_of = f->final_timed;
	r->as_of = f->final_last_at;
	r->elapsed = 1;
	r->method = "final";
	r->has_actual = f->has_final;
	r->actual = f->final;
	r->has_share = true;
	r->share = 1;
	r->has_projected = f->has_final;
	r->projected = f->final;
	r->has_sigma = true;
	r->sigma = 0;
	r->history = 0;
}

/*
 * A running period: the projection (actual / the share expected by now:
 * the plan's, else the seasonal one of earlier years, else time's; 1 for a
 * level), and its spread: how far each earlier period ended from what the
 * same method would have projected for it at the same point, shrunk
 * towards 10% of the rest of the period when fewer than 3 tell.
 */
static void
running_row(FcState *st, const FcKey *key, FcRow *r)
{
	TimestampTz t = as_of(st, key);
	float8		f = kpi_zone_progress(st->p, t, st->zone);
	float8		share = 0;
	bool		has_share = false;
	float8		sq = 0;
	bool		has_sq = false;
	int			n = 0;
	int			j;

	r->has_as_of = true;
	r->as_of = t;
	r->elapsed = f;
	r->has_actual = key->fig[0].has_reached;
	r->actual = key->fig[0].reached;
	if (!r->has_actual)
		r->method = "no data";
	else if (!key->cumulative)
	{
		r->method = "level";
		share = 1;
		has_share = true;
	}
	else
	{
		r->method = "plan";
		has_share = planned_share(st, key, 0, t, &share);
		if (!has_share)
		{
			float8		s = 0;
			int			c = 0;
			float8		m;

			for (j = 1; j < st->nwin; j++)
				if (st->win[j].seasonal && window_ratio(key, j, &m) && m > 0)
				{
					s += m;
					c++;
				}
			if (c > 0)
			{
				share = 1.0 / (s / c);
				has_share = true;
				r->method = "seasonal";
			}
		}
		if (!has_share)
		{
			share = f;
			has_share = true;
			r->method = "linear";
		}
		r->has_share = true;
		r->share = share;
	}
	r->has_projected = r->has_actual && has_share && share != 0;
	if (r->has_projected)
		r->projected = r->actual / share;

	for (j = 1; j < st->nwin; j++)
	{
		float8		m,
					factor = share;
		bool		has_factor = has_share;

		if (!window_ratio(key, j, &m))
			continue;
		if (strcmp(r->method, "plan") == 0)
		{
			has_factor = key->cumulative &&
				planned_share(st, key, j, key->fig[j].point, &factor);
			if (!has_factor)
				continue;
		}
		else if (strcmp(r->method, "linear") == 0)
			factor = kpi_zone_progress(st->win[j].q, key->fig[j].point, st->zone);
		else if (strcmp(r->method, "level") == 0)
			factor = 1;
		n++;
		if (has_factor)
		{
			sq += pow(m * factor - 1, 2);
			has_sq = true;
		}
	}
	r->history = n;
	if (n >= 3)
	{
		r->has_sigma = has_sq;
		r->sigma = sqrt(sq / n);
	}
	else
	{
		r->has_sigma = true;
		r->sigma = sqrt((sq + pow(0.1 * (1 - f), 2)) / (n + 1));
	}
}

/* One output row. */
static void
emit_row(FcState *st, FunctionCallInfo fcinfo, const FcKey *key)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Datum		values[FC_NCOLS];
	bool		nulls[FC_NCOLS];
	FcRow		r;
	bool		isnull;

	memset(&r, 0, sizeof(r));
	if (st->finished)
		final_row(st, key, &r);
	else
		running_row(st, key, &r);
	memset(nulls, 0, sizeof(nulls));
	values[0] = Int64GetDatum(key->iid);
	values[1] = Int64GetDatum(key->sid);
	values[2] = TimestampTzGetDatum(r.as_of);
	nulls[2] = !r.has_as_of;
	values[3] = Float8GetDatum(r.elapsed);
	values[4] = CStringGetTextDatum(r.method);
	values[5] = Float8GetDatum(r.actual);
	nulls[5] = !r.has_actual;
	values[6] = Float8GetDatum(r.share);
	nulls[6] = !r.has_share;
	values[7] = Float8GetDatum(r.projected);
	nulls[7] = !r.has_projected;
	values[8] = Float8GetDatum(r.projected - FC_Z80 * r.sigma * fabs(r.projected));
	values[9] = Float8GetDatum(r.projected + FC_Z80 * r.sigma * fabs(r.projected));
	nulls[8] = nulls[9] = !r.has_projected || !r.has_sigma;
	nulls[10] = nulls[11] = nulls[12] = !key->has_goal;
	if (key->has_goal)
	{
		KpiGoal    *g = palloc(sizeof(KpiGoal));

		*g = key->goal;
		values[10] = Float8GetDatum(kpi_goal_target_value(g));
		values[11] = PointerGetDatum(g);
		values[12] = Float8GetDatum(kpi_goal_probability_value(g, r.projected, r.sigma * fabs(r.projected),
															   &isnull));
		nulls[12] = isnull || !r.has_projected || !r.has_sigma;
	}
	values[13] = Int32GetDatum(r.history);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/* ---------------------------------------------------------------------
 * The entry point
 * ---------------------------------------------------------------------
 */

/* Load what the keys need: indicators, scopes, sources, goals, plans. */
static void
load_setup(FcState *st)
{
	Datum		args[4];
	int			k;
	bool		plans = false;

	args[0] = distinct_ids(st, false, NULL);
	args[1] = KpiPeriodGetDatum(st->p);
	each_row(st, plan_indicators, args, indicator_row, NULL);
	/*
	 * Keys of most indicators: read every indicator's rows of the scopes
	 * and periods (a range of the index each) rather than look each one up.
	 */
	if (SPI_execute_plan(plan_count, NULL, NULL, true, 1) == SPI_OK_SELECT && SPI_processed == 1)
	{
		bool		isnull;
		int64		all = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));

		st->most_indicators = (int64) n_elements(args[0]) * 4 > all;
	}
	args[0] = distinct_ids(st, true, NULL);
	each_row(st, plan_scopes, args, scope_row, NULL);
	choose_sources(st);
	load_merged_scopes(st);
	args[0] = KpiPeriodGetDatum(st->p);
	args[1] = distinct_ids(st, true, NULL);
	args[2] = distinct_ids(st, false, NULL);
	each_row(st, plan_goals, args, goal_row, NULL);
	for (k = 0; k < st->nkeys; k++)
		plans |= st->keys[k].cumulative;
	if (plans && !st->finished)
	{
		KpiPeriod	qs[FC_MAX_WINDOWS];
		int			j;

		for (j = 0; j < st->nwin; j++)
			qs[j] = st->win[j].q;
		args[3] = period_array(st, qs, st->nwin);
		each_row(st, plan_plans, args, plan_row, NULL);
	}
}

PG_FUNCTION_INFO_V1(kpi_forecast_each);
/*
 * kpi.forecast_each(indicators bigint[], scopes bigint[], p kpi.period,
 * at timestamptz): kpi.forecast of each key (indicators[i], scopes[i]) of
 * period p as of `at`, each key once, with its ids; a key whose indicator
 * or scope does not exist has no row.
 */
Datum
kpi_forecast_each(PG_FUNCTION_ARGS)
{
	FcState		st;
	int			k,
				j;
	MemoryContext old;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2) || PG_ARGISNULL(3) ||
		TIMESTAMP_NOT_FINITE(PG_GETARG_TIMESTAMPTZ(3)))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("kpi.forecast needs a period and a finite time")));
	memset(&st, 0, sizeof(st));
	st.p = PG_GETARG_KPI_PERIOD(2);
	st.at = PG_GETARG_TIMESTAMPTZ(3);
	st.cxt = AllocSetContextCreate(CurrentMemoryContext, "kpi forecast",
								   ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	st.period_type = kpi_plans_check();
	prepare_plans(&st);
	st.zone = company_zone();
	st.finished = kpi_zone_progress(st.p, st.at, st.zone) >= 1;
	set_windows(&st);

	old = MemoryContextSwitchTo(st.cxt);
	load_keys(&st, PG_GETARG_ARRAYTYPE_P(0), PG_GETARG_ARRAYTYPE_P(1));
	MemoryContextSwitchTo(old);
	load_setup(&st);

	/* the period first: its latest data set the points of the others */
	read_window(&st, 0);
	if (!st.finished)
	{
		for (k = 0; k < st.nkeys; k++)
			set_points(&st, &st.keys[k], as_of(&st, &st.keys[k]));
		for (j = 1; j < st.nwin; j++)
			read_window(&st, j);
	}
	SPI_finish();

	old = MemoryContextSwitchTo(st.cxt);
	for (k = 0; k < st.ninput; k++)
	{
		FcKey	   *key = &st.keys[st.input_key[k]];

		/* each key once, at its first position */
		if (!key->emitted && key->known && key->scope_known)
			emit_row(&st, fcinfo, key);
		key->emitted = true;
	}
	MemoryContextSwitchTo(old);
	MemoryContextDelete(st.cxt);
	PG_RETURN_NULL();
}
