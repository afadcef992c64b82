/*
 * rollup.c
 *	  kpi.rollup(p, scope): the whole indicator tree (指标树) scored for one
 *	  period and one scope (a scope's subtree, or the whole organisation).
 *
 * The work is done in a handful of set-oriented queries and one pass over
 * the tree in C, so the cost is linear in indicators + links + the rows that
 * matter (kpi.actual rows of the period, or measurements of the period for
 * indicators that do not keep its grain):
 *
 *	1. kpi.scope (id, parent_id): the scopes whose data count are the chosen
 *	   scope and every scope below it, found by a walk in C.
 *	2. kpi.indicator: the indicators that are not retired, in code order.
 *	3. kpi.link: the edges between them, turned into child lists sorted by
 *	   code without a sort (see load_links).
 *	4. kpi.actual rows of the period: their tallies merged per indicator
 *	   (rows of scopes outside the chosen subtree are skipped in C; under
 *	   one indicator of a large tree only its subtree's rows are read; a
 *	   scope with few scopes below it reads only theirs).  For a scope
 *	   with scopes below it, the kpi.subtree row of each indicator instead
 *	   (its whole subtree, merged by kpi.evaluate()), except for the
 *	   indicators with a change that waits in kpi.subtree_stale.
 *	5. kpi.measurement rows of the period, only for indicators that do not
 *	   keep the period's grain in kpi.actual: summarised into tallies in C.
 *	6. kpi.target rows of the period at the target scope.
 *
 * Then one iterative depth-first walk from the roots records the output
 * order (pre-order, depth at first visit) and scores every node after its
 * children (post-order): a node with its own target and actual is scored
 * from its attainment, clamped to [0, score_cap]; any other node takes the
 * weighted mean of its scored children.  A child with two parents is scored
 * once and counts in both.
 *
 * Every statement is prepared once per backend (SPI_keepplan) and names
 * every object with its schema, so the caller's search_path does not matter.
 * Rows are read through cursors in batches, so memory stays bounded however
 * many rows the period has.
 */
#include "postgres.h"

#include <math.h>

#include "access/relation.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "storage/bufmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"
#include "utils/array.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/tuplestore.h"
#include "pgtime.h"

#include "kpi.h"

PG_FUNCTION_INFO_V1(kpi_rollup);

/*
 * A subtree's rows are read by indicator when it holds at most one in this
 * many of the tree's indicators (an indicator has rows for some tens of
 * periods, of which the scan by indicator passes over every one).
 */
#define ROLLUP_SUBTREE_SHARE 32

/*
 * A scope's own rows of a period are read through (period, scope_id) when
 * its subtree holds at most one in this many of the scopes.
 */
#define ROLLUP_SCOPE_SHARE 8

/*
 * The kept rows serve while the marks waiting for kpi.evaluate() take at
 * most one page in this many of kpi.actual's (and at least 8 pages): where
 * the evaluation never runs and the marks pile up, reading them would
 * cost more than the kept rows save, and the branches are merged instead.
 */
#define ROLLUP_MARKS_SHARE 64

/* Rows fetched from a cursor at a time. */
#define ROLLUP_FETCH 10000

/* Columns of the result, in order. */
#define ROLLUP_NCOLS 9

/* DFS marks. */
#define NODE_NEW	0
#define NODE_OPEN	1			/* on the walk's stack */
#define NODE_DONE	2			/* scored */

/* One indicator of the tree, with what was loaded and what is computed. */
typedef struct RollupNode
{
	int64		id;
	char	   *code;
	KpiAggKind	agg;
	KpiBands	bands;
	bool		has_cap;
	float8		cap;
	bool		keeps_grain;	/* kpi.actual holds the period's grain */

	/* loaded */
	bool		has_goal;
	KpiGoal		goal;
	int64		nrows;			/* actual or measurement rows merged */
	KpiTally	tally;
	bool		has_level;		/* first/last: Σ over scopes of each one's value */
	float8		level_sum;

	/* tree: children[child_start .. child_start + nchildren) */
	int			nparents;
	int			nchildren;
	int			child_start;
	uint8		mark;

	/* results */
	bool		has_actual;
	bool		has_target;
	bool		has_attainment;
	bool		has_score;
	bool		own_score;		/* scored from its own target and actual */
	float8		actual;
	float8		target;
	float8		attainment;
	float8		score;
	float8		coverage;
} RollupNode;

/* A child in its parent's list. */
typedef struct RollupEdge
{
	int			node;
	float8		weight;
} RollupEdge;

/*
 * Database ids (scopes, indicators) to array indexes.  Every row read is
 * looked up at least once, so this is an open-addressing simplehash, which
 * is markedly faster than dynahash at 100k entries.
 */
typedef struct IdIndex
{
	int64		id;				/* hash key */
	int			index;
	char		status;			/* used by simplehash */
} IdIndex;

#define SH_PREFIX		idmap
#define SH_ELEMENT_TYPE IdIndex
#define SH_KEY_TYPE		int64
#define SH_KEY			id
#define SH_HASH_KEY(tb, key) murmurhash32((uint32) ((uint64) (key) ^ ((uint64) (key) >> 32)))
#define SH_EQUAL(tb, a, b) ((a) == (b))
#define SH_SCOPE		static inline
#define SH_DECLARE
#define SH_DEFINE
#include "lib/simplehash.h"

/* One output row: a node and its depth at first visit. */
typedef struct RollupVisit
{
	int			node;
	int			depth;
} RollupVisit;

/* Everything one call builds, in one memory context. */
typedef struct RollupState
{
	MemoryContext cxt;

	/* scopes */
	int			nscopes;
	bool	   *scope_in;		/* by scope index: its data count */
	bool		all_scopes;		/* scope NULL: every scope counts */
	idmap_hash *scope_index;	/* scope id -> index */
	bool		has_target_scope;
	int64		target_scope;	/* scope whose targets score the tree */
	bool		chosen_inner;	/* the scope asked for has scopes below it */
	bool		one_tree;		/* scope NULL: one top scope, all visible */
	int			nsub;			/* scopes in its subtree */
	Datum		sub_ids;		/* their ids, an int8[] */

	/* indicators */
	int			n;
	int			capacity;
	RollupNode *nodes;
	idmap_hash *node_index;		/* indicator id -> index */
	RollupEdge *children;

	/* kpi.rollup(p, scope, indicator): the subtree under one node */
	int			under;			/* its index, or -1 for the whole tree */
	bool	   *in_tree;		/* by node index: under it (or it) */
	bool		read_subtree;	/* read its rows by indicator, not the period's */

	/* kpi.actual rows read only for these nodes (NULL: for all) */
	bool	   *only;

	/* output order */
	int			nvisits;
	RollupVisit *visits;

	/* first/last indicators summarised from measurements: a tally per scope */
	HTAB	   *levels;
} RollupState;

/* Key and entry of RollupState.levels. */
typedef struct LevelKey
{
	int64		node;
	int64		scope_id;
} LevelKey;

typedef struct LevelEntry
{
	LevelKey	key;
	KpiTally	tally;
} LevelEntry;

/*
 * Levels (agg first or last: stock, headcount) are semi-additive: over time
 * a scope's opening or closing value counts, across scopes they add up.  So
 * a node's actual is the sum of each scope's value, not the latest reading
 * anywhere in the subtree.
 */
static inline bool
is_level(KpiAggKind agg)
{
	return agg == KPI_AGG_FIRST || agg == KPI_AGG_LAST;
}

/* Add a level (one scope's value, or a kept subtree's sum) to its node's sum. */
static void
add_level_value(RollupNode *node, float8 v)
{
	node->level_sum = node->has_level ? node->level_sum + v : v;
	node->has_level = true;
}

/* Add one scope's tally of a level indicator to its node's sum. */
static void
add_level(RollupNode *node, const KpiTally *t)
{
	bool		isnull;
	float8		v = kpi_tally_value(t, node->agg, &isnull);

	if (!isnull)
		add_level_value(node, v);
}

/* Plans, prepared once per extension and backend (kpi_prepare_into). */
static SPIPlanPtr plan_scopes = NULL;
static SPIPlanPtr plan_indicators = NULL;
static SPIPlanPtr plan_links = NULL;
static SPIPlanPtr plan_actuals = NULL;
static SPIPlanPtr plan_actuals_of = NULL;
static SPIPlanPtr plan_actuals_in = NULL;
static SPIPlanPtr plan_stale = NULL;
static SPIPlanPtr plan_kept = NULL;
static SPIPlanPtr plan_kept_of = NULL;
static SPIPlanPtr plan_measurements = NULL;
static SPIPlanPtr plan_targets = NULL;
static SPIPlanPtr plan_targets_of = NULL;

/*
 * Prepare the statements.  kpi_plans_check() has dropped them if the
 * extension was dropped and created again in this session, since a plan's
 * parameter types are fixed when it is prepared.
 */
static void
prepare_plans(Oid period_type)
{
	Oid			types[3];

	types[0] = TEXTOID;
	/*
	 * The scope tree, which scope has the code asked for, and which scopes
	 * the caller may see (kpi.visible_scopes() is NULL for a role that sees
	 * everything; OFFSET 0 keeps it to one call per query).
	 */
	kpi_prepare_into(&plan_scopes,
		"SELECT s.id, s.parent_id, s.code OPERATOR(pg_catalog.=) $1, "
		"       v.ids IS NULL OR s.id OPERATOR(pg_catalog.=) ANY (v.ids) "
		"FROM kpi.scope s, (SELECT kpi.visible_scopes() AS ids OFFSET 0) v",
		1, types, CURSOR_OPT_NO_SCROLL);

	/*
	 * Indicators in code order, byte by byte (COLLATE "C"): the order does
	 * not depend on the database's locale, and dotted codes stay grouped
	 * ("sales" < "sales.revenue" < "sales_ops").
	 */
	types[0] = TEXTOID;
	kpi_prepare_into(&plan_indicators,
		"SELECT i.id, i.code, i.agg::pg_catalog.text, i.bands, i.score_cap, "
		"       $1 OPERATOR(pg_catalog.=) ANY (i.grains) "
		"FROM kpi.indicator i "
		"WHERE i.lifecycle OPERATOR(pg_catalog.<>) 'retired' "
		"ORDER BY i.code COLLATE \"C\"",
		1, types, CURSOR_OPT_NO_SCROLL);

	kpi_prepare_into(&plan_links,
		"SELECT l.parent_id, l.child_id, l.weight FROM kpi.link l",
		0, NULL, CURSOR_OPT_NO_SCROLL);

	types[0] = period_type;
	kpi_prepare_into(&plan_actuals,
		"SELECT a.indicator_id, a.scope_id, a.tally FROM kpi.actual a "
		"WHERE a.period OPERATOR(kpi.=) $1",
		1, types, CURSOR_OPT_NO_SCROLL);
	/* a subtree's indicators: through the primary key, indicator by indicator */
	types[1] = INT8ARRAYOID;
	kpi_prepare_into(&plan_actuals_of,
		"SELECT a.indicator_id, a.scope_id, a.tally FROM kpi.actual a "
		"WHERE a.indicator_id OPERATOR(pg_catalog.=) ANY ($2) AND a.period OPERATOR(kpi.=) $1",
		2, types, CURSOR_OPT_NO_SCROLL);
	/* a few scopes' rows of the period (index on period, scope_id) */
	kpi_prepare_into(&plan_actuals_in,
		"SELECT a.indicator_id, a.scope_id, a.tally FROM kpi.actual a "
		"WHERE a.period OPERATOR(kpi.=) $1 AND a.scope_id OPERATOR(pg_catalog.=) ANY ($2)",
		2, types, CURSOR_OPT_NO_SCROLL);

	types[0] = INT8ARRAYOID;
	types[1] = TIMESTAMPTZOID;
	types[2] = TIMESTAMPTZOID;
	kpi_prepare_into(&plan_measurements,
		"SELECT m.indicator_id, m.scope_id, m.at, m.value, m.denominator "
		"FROM kpi.measurement m "
		"WHERE m.indicator_id OPERATOR(pg_catalog.=) ANY ($1) "
		"  AND m.at OPERATOR(pg_catalog.>=) $2 AND m.at OPERATOR(pg_catalog.<) $3",
		3, types, CURSOR_OPT_NO_SCROLL);

	types[0] = INT8OID;
	types[1] = period_type;
	kpi_prepare_into(&plan_targets,
		"SELECT t.indicator_id, t.goal FROM kpi.target t "
		"WHERE t.scope_id OPERATOR(pg_catalog.=) $1 AND t.period OPERATOR(kpi.=) $2",
		2, types, CURSOR_OPT_NO_SCROLL);
	types[2] = INT8ARRAYOID;
	kpi_prepare_into(&plan_targets_of,
		"SELECT t.indicator_id, t.goal FROM kpi.target t "
		"WHERE t.indicator_id OPERATOR(pg_catalog.=) ANY ($3) "
		"  AND t.scope_id OPERATOR(pg_catalog.=) $1 AND t.period OPERATOR(kpi.=) $2",
		3, types, CURSOR_OPT_NO_SCROLL);
}

/*
 * The statements on kpi.subtree (release 0.14), prepared only once it
 * exists: a library newer than the objects must not name it.
 */
static void
prepare_kept_plans(void)
{
	Oid			types[3];
	Oid			period_type = kpi_type_oid("period");

	types[0] = period_type;
	kpi_prepare_into(&plan_stale,
		"SELECT DISTINCT s.indicator_id FROM kpi.subtree_stale s "
		"WHERE s.period IS NULL OR s.period OPERATOR(kpi.=) $1",
		1, types, CURSOR_OPT_NO_SCROLL);
	types[0] = INT8OID;
	types[1] = period_type;
	kpi_prepare_into(&plan_kept,
		"SELECT k.indicator_id, k.tally, k.level_sum, k.nrows FROM kpi.subtree k "
		"WHERE k.scope_id OPERATOR(pg_catalog.=) $1 AND k.period OPERATOR(kpi.=) $2",
		2, types, CURSOR_OPT_NO_SCROLL);
	types[2] = INT8ARRAYOID;
	kpi_prepare_into(&plan_kept_of,
		"SELECT k.indicator_id, k.tally, k.level_sum, k.nrows FROM kpi.subtree k "
		"WHERE k.scope_id OPERATOR(pg_catalog.=) $1 AND k.period OPERATOR(kpi.=) $2 "
		"  AND k.indicator_id OPERATOR(pg_catalog.=) ANY ($3)",
		3, types, CURSOR_OPT_NO_SCROLL);
}

/*
 * The OID of kpi.period: the declared type of our first argument, or, when
 * called without that information, looked up by name.
 */
static Oid
period_type_oid(FunctionCallInfo fcinfo)
{
	Oid			typid = get_fn_expr_argtype(fcinfo->flinfo, 0);

	if (!OidIsValid(typid))
		typid = LookupTypeNameOid(NULL,
								  makeTypeNameFromNameList(list_make2(makeString("kpi"),
																	  makeString("period"))),
								  false);
	return typid;
}

/* Run a kept plan through a cursor, each row to fn in the state's context. */
static inline void
for_each_row(RollupState *st, SPIPlanPtr plan, Datum *args, const char *nulls,
			 KpiRowFn fn, void *arg)
{
	kpi_spi_each_row(plan, args, nulls, ROLLUP_FETCH, st->cxt, fn, st, arg);
}

/* Remember that database id is at array index i. */
static inline void
id_index_add(idmap_hash *h, int64 id, int i)
{
	bool		found;
	IdIndex    *e = idmap_insert(h, id, &found);

	e->index = i;
}

/* The index of id in h, or -1. */
static inline int
id_index_find(idmap_hash *h, int64 id)
{
	IdIndex    *e = idmap_lookup(h, id);

	return e ? e->index : -1;
}

/* ---------------------------------------------------------------------
 * Scopes
 * ---------------------------------------------------------------------
 */

/* A scope row as loaded. */
typedef struct ScopeRow
{
	int64		id;
	int64		parent_id;		/* 0 when none (ids are positive) */
	bool		has_parent;
	bool		visible;		/* the caller may see its rows */
} ScopeRow;

typedef struct ScopeLoad
{
	int			capacity;
	ScopeRow   *rows;
	int			chosen;			/* index of the scope asked for, or -1 */
} ScopeLoad;

/* Collect one kpi.scope row. */
static void
scope_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	RollupState *st = (RollupState *) state;
	ScopeLoad  *load = (ScopeLoad *) arg;
	ScopeRow   *r;
	bool		isnull;
	Datum		is_chosen;

	if (st->nscopes == load->capacity)
	{
		load->capacity *= 2;
		load->rows = repalloc_huge(load->rows, sizeof(ScopeRow) * load->capacity);
	}
	r = &load->rows[st->nscopes];
	r->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	r->parent_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
	r->has_parent = !isnull;
	is_chosen = SPI_getbinval(tup, desc, 3, &isnull);
	if (!isnull && DatumGetBool(is_chosen))
		load->chosen = st->nscopes;
	r->visible = DatumGetBool(SPI_getbinval(tup, desc, 4, &isnull));

	id_index_add(st->scope_index, r->id, st->nscopes);
	st->nscopes++;
}

/*
 * Find the scopes whose data count, and the scope whose targets apply.
 * scope_code NULL: every scope counts; the targets are those of the single
 * top-level scope, if there is exactly one (an organisation with several
 * top-level scopes has no scope of its own to hold organisation targets).
 * Otherwise: the scope and its subtree, walked in C over child lists.
 */
static void
load_scopes(RollupState *st, text *scope_code)
{
	ScopeLoad	load;
	Datum		arg;
	char		null = ' ';
	int		   *nchild;
	int		   *start;
	int		   *kids;
	int		   *stack;
	int			sp,
				i;

	load.capacity = 64;
	load.rows = MemoryContextAlloc(st->cxt, sizeof(ScopeRow) * load.capacity);
	load.chosen = -1;
	st->nscopes = 0;
	st->scope_index = idmap_create(st->cxt, 256, NULL);

	arg = scope_code ? PointerGetDatum(scope_code) : (Datum) 0;
	if (scope_code == NULL)
		null = 'n';
	for_each_row(st, plan_scopes, &arg, &null, scope_row, &load);

	st->scope_in = MemoryContextAllocZero(st->cxt, sizeof(bool) * Max(st->nscopes, 1));

	/*
	 * NULL: the whole organisation as far as the caller sees it, i.e. every
	 * visible scope; its targets are those of the single top visible scope
	 * (a visible scope whose parent is not), if there is exactly one.  The
	 * rows of other scopes never reach us: row-level security filters the
	 * queries below.
	 */
	if (scope_code == NULL)
	{
		int			top = -1,
					ntop = 0,
					nvisible = 0;

		st->all_scopes = true;
		for (i = 0; i < st->nscopes; i++)
		{
			ScopeRow   *r = &load.rows[i];
			int			p = r->has_parent ? id_index_find(st->scope_index, r->parent_id) : -1;

			st->scope_in[i] = r->visible;
			nvisible += r->visible;
			if (r->visible && (p < 0 || !load.rows[p].visible))
			{
				top = i;
				ntop++;
			}
		}
		st->has_target_scope = (ntop == 1);
		if (ntop == 1)
			st->target_scope = load.rows[top].id;

		/*
		 * One tree, all of it visible: the whole organisation is the top
		 * scope's subtree, whose kept rows can serve (read_kept).
		 */
		st->one_tree = ntop == 1 && nvisible == st->nscopes;
		for (i = 0; st->one_tree && i < st->nscopes; i++)
			if (load.rows[i].has_parent && load.rows[i].parent_id == st->target_scope)
				st->chosen_inner = true;
		return;
	}

	if (load.chosen < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown scope code: \"%s\"", text_to_cstring(scope_code)),
				 errhint("The scopes are listed in kpi.scope; pass NULL for the whole organisation.")));
	/* a scope only partly visible would roll up to a wrong total */
	if (!load.rows[load.chosen].visible)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for scope \"%s\"", text_to_cstring(scope_code)),
				 errdetail("Role \"%s\" is not a member of this scope or of a scope above it.",
						   GetUserNameFromId(GetUserId(), false)),
				 errhint("kpi.scope_member lists who sees which scopes; kpi.visible_scopes() gives yours.")));
	st->all_scopes = false;
	st->has_target_scope = true;
	st->target_scope = load.rows[load.chosen].id;

	/* Child lists by counting: nchild, then start offsets, then fill. */
	nchild = palloc0(sizeof(int) * (st->nscopes + 1));
	for (i = 0; i < st->nscopes; i++)
	{
		if (load.rows[i].has_parent)
		{
			int			p = id_index_find(st->scope_index, load.rows[i].parent_id);

			if (p >= 0)
				nchild[p]++;
		}
	}
	start = palloc(sizeof(int) * (st->nscopes + 1));
	start[0] = 0;
	for (i = 0; i < st->nscopes; i++)
		start[i + 1] = start[i] + nchild[i];
	kids = palloc(sizeof(int) * Max(start[st->nscopes], 1));
	memset(nchild, 0, sizeof(int) * (st->nscopes + 1));
	for (i = 0; i < st->nscopes; i++)
	{
		if (load.rows[i].has_parent)
		{
			int			p = id_index_find(st->scope_index, load.rows[i].parent_id);

			if (p >= 0)
				kids[start[p] + nchild[p]++] = i;
		}
	}

	/*
	 * Walk down from the chosen scope.  kpi.scope refuses cycles, but the
	 * marks make the walk finish even on damaged data.
	 */
	stack = palloc(sizeof(int) * Max(st->nscopes, 1));
	sp = 0;
	stack[sp++] = load.chosen;
	st->scope_in[load.chosen] = true;
	while (sp > 0)
	{
		int			s = stack[--sp];
		int			k;

		for (k = start[s]; k < start[s + 1]; k++)
		{
			if (!st->scope_in[kids[k]])
			{
				st->scope_in[kids[k]] = true;
				stack[sp++] = kids[k];
			}
		}
	}
	st->chosen_inner = start[load.chosen + 1] > start[load.chosen];

	/* the subtree's ids, for reading a few scopes' rows */
	{
		Datum	   *ids = palloc(sizeof(Datum) * Max(st->nscopes, 1));

		st->nsub = 0;
		for (i = 0; i < st->nscopes; i++)
			if (st->scope_in[i])
				ids[st->nsub++] = Int64GetDatum(load.rows[i].id);
		st->sub_ids = PointerGetDatum(construct_array(ids, st->nsub, INT8OID, sizeof(int64),
													  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
	}
}

/* Do the data of this scope id count? */
static inline bool
scope_counts(RollupState *st, int64 scope_id)
{
	int			i;

	if (st->all_scopes)
		return true;
	i = id_index_find(st->scope_index, scope_id);
	return i >= 0 && st->scope_in[i];
}

/* ---------------------------------------------------------------------
 * Indicators and links
 * ---------------------------------------------------------------------
 */

/* Collect one indicator row (they come in code order). */
static void
indicator_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	RollupState *st = (RollupState *) state;
	RollupNode *node;
	bool		isnull;
	Datum		d;

	if (st->n == st->capacity)
	{
		st->capacity *= 2;
		st->nodes = repalloc_huge(st->nodes, sizeof(RollupNode) * st->capacity);
	}
	node = &st->nodes[st->n];
	memset(node, 0, sizeof(RollupNode));
	node->id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
	node->code = TextDatumGetCString(SPI_getbinval(tup, desc, 2, &isnull));
	node->agg = kpi_agg_kind_from_name(TextDatumGetCString(SPI_getbinval(tup, desc, 3, &isnull)));
	memcpy(&node->bands, DatumGetPointer(SPI_getbinval(tup, desc, 4, &isnull)), sizeof(KpiBands));
	d = SPI_getbinval(tup, desc, 5, &isnull);
	node->has_cap = !isnull;
	node->cap = isnull ? 0.0 : DatumGetFloat8(d);
	d = SPI_getbinval(tup, desc, 6, &isnull);
	node->keeps_grain = !isnull && DatumGetBool(d);
	kpi_tally_init(&node->tally);

	id_index_add(st->node_index, node->id, st->n);
	st->n++;
}

/* Load the indicators that are not retired. */
static void
load_indicators(RollupState *st, KpiPeriod p)
{
	Datum		arg = CStringGetTextDatum(kpi_grain_name(kpi_period_grain(p)));

	st->capacity = 256;
	st->n = 0;
	st->nodes = MemoryContextAlloc(st->cxt, sizeof(RollupNode) * st->capacity);
	st->node_index = idmap_create(st->cxt, 1024, NULL);
	for_each_row(st, plan_indicators, &arg, NULL, indicator_row, NULL);
}

/* A link between two loaded indicators. */
typedef struct LinkRow
{
	int			parent;
	int			child;
	float8		weight;
} LinkRow;

typedef struct LinkLoad
{
	int			n;
	int			capacity;
	LinkRow    *rows;
} LinkLoad;

/* Collect one kpi.link row; links touching a retired indicator are dropped. */
static void
link_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	RollupState *st = (RollupState *) state;
	LinkLoad   *load = (LinkLoad *) arg;
	bool		isnull;
	int			parent = id_index_find(st->node_index,
									   DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)));
	int			child = id_index_find(st->node_index,
									  DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull)));

	if (parent < 0 || child < 0)
		return;
	if (load->n == load->capacity)
	{
		load->capacity *= 2;
		load->rows = repalloc_huge(load->rows, sizeof(LinkRow) * load->capacity);
	}
	load->rows[load->n].parent = parent;
	load->rows[load->n].child = child;
	load->rows[load->n].weight = DatumGetFloat8(SPI_getbinval(tup, desc, 3, &isnull));
	load->n++;
}

/*
 * Load the links and build each node's child list, ordered by code, in
 * linear time: links are first grouped by child, then the children are
 * visited in index (= code) order and appended to each of their parents'
 * lists, so every list comes out sorted without a sort.
 */
static void
load_links(RollupState *st)
{
	LinkLoad	load;
	int		   *by_child_start;
	int		   *fill;
	LinkRow   **by_child;
	int			i,
				k,
				total;

	load.n = 0;
	load.capacity = 256;
	load.rows = MemoryContextAlloc(st->cxt, sizeof(LinkRow) * load.capacity);
	for_each_row(st, plan_links, NULL, NULL, link_row, &load);

	/* Group the links by child. */
	by_child_start = palloc0(sizeof(int) * (st->n + 1));
	for (k = 0; k < load.n; k++)
	{
		st->nodes[load.rows[k].child].nparents++;
		st->nodes[load.rows[k].parent].nchildren++;
	}
	for (i = 0; i < st->n; i++)
		by_child_start[i + 1] = by_child_start[i] + st->nodes[i].nparents;
	fill = palloc0(sizeof(int) * Max(st->n, 1));
	by_child = palloc(sizeof(LinkRow *) * Max(load.n, 1));
	for (k = 0; k < load.n; k++)
	{
		int			c = load.rows[k].child;

		by_child[by_child_start[c] + fill[c]++] = &load.rows[k];
	}

	/* Child lists: offsets from the counts, then children in code order. */
	total = 0;
	for (i = 0; i < st->n; i++)
	{
		st->nodes[i].child_start = total;
		total += st->nodes[i].nchildren;
	}
	st->children = MemoryContextAlloc(st->cxt, sizeof(RollupEdge) * Max(total, 1));
	memset(fill, 0, sizeof(int) * Max(st->n, 1));
	for (i = 0; i < st->n; i++)
	{
		for (k = by_child_start[i]; k < by_child_start[i + 1]; k++)
		{
			RollupNode *parent = &st->nodes[by_child[k]->parent];
			RollupEdge *edge = &st->children[parent->child_start + fill[by_child[k]->parent]++];

			edge->node = i;
			edge->weight = by_child[k]->weight;
		}
	}
	pfree(by_child_start);
	pfree(fill);
	pfree(by_child);
	pfree(load.rows);
}

/*
 * kpi.rollup(p, scope, indicator): find the indicator (it must be loaded,
 * that is, known and not retired) and mark it and every indicator below
 * it, so that only their rows are read and only they are scored.  A node's
 * score depends on its subtree alone, so each comes out as in the whole
 * tree.
 */
static void
find_subtree(RollupState *st, text *code)
{
	char	   *c = text_to_cstring(code);
	int		   *stack;
	int			sp = 0;
	int			size = 0;
	int			i;

	st->under = -1;
	for (i = 0; i < st->n; i++)
		if (strcmp(st->nodes[i].code, c) == 0)
			st->under = i;
	if (st->under < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("unknown or retired indicator code: \"%s\"", c),
				 errhint("The indicators are listed in kpi.indicator; a retired one is not scored.")));
	st->in_tree = MemoryContextAllocZero(st->cxt, sizeof(bool) * Max(st->n, 1));
	stack = palloc(sizeof(int) * Max(st->n, 1));
	st->in_tree[st->under] = true;
	stack[sp++] = st->under;
	while (sp > 0)
	{
		const RollupNode *node = &st->nodes[stack[--sp]];
		int			k;

		size++;
		for (k = 0; k < node->nchildren; k++)
		{
			int			child = st->children[node->child_start + k].node;

			if (!st->in_tree[child])
			{
				st->in_tree[child] = true;
				stack[sp++] = child;
			}
		}
	}
	pfree(stack);

	/*
	 * Read the subtree's rows indicator by indicator (the primary key of
	 * kpi.actual leads with it, and holds every period of the indicator)
	 * only when the subtree is a small part of the tree; otherwise the
	 * period's rows, as for the whole tree, skipping the others in C.
	 */
	st->read_subtree = (int64) size * ROLLUP_SUBTREE_SHARE <= st->n;
}

/* ---------------------------------------------------------------------
 * Actuals and targets
 * ---------------------------------------------------------------------
 */

/*
 * The ids of the subtree's indicators as an int8[] (with keeping_only, of
 * those that keep the period's grain in kpi.actual), and their number.
 */
static Datum
subtree_ids(RollupState *st, bool keeping_only, int *count)
{
	Datum	   *ids = palloc(sizeof(Datum) * Max(st->n, 1));
	int			n = 0;
	int			i;

	for (i = 0; i < st->n; i++)
		if (st->in_tree[i] && (!keeping_only || st->nodes[i].keeps_grain))
			ids[n++] = Int64GetDatum(st->nodes[i].id);
	*count = n;
	return PointerGetDatum(construct_array(ids, n, INT8OID, sizeof(int64),
										   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/* Merge one kpi.actual row's tally into its indicator's. */
static void
actual_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	RollupState *st = (RollupState *) state;
	bool		isnull;
	int			i = id_index_find(st->node_index,
								  DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)));
	RollupNode *node;

	if (i < 0 || (st->under >= 0 && !st->in_tree[i]) || (st->only != NULL && !st->only[i]))
		return;
	node = &st->nodes[i];
	/* Only indicators that keep the grain have rows for it; stale rows of a
	 * grain just dropped are ignored, the measurements decide. */
	if (!node->keeps_grain)
		return;
	if (!scope_counts(st, DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull))))
		return;
	{
		const KpiTally *t = (const KpiTally *) DatumGetPointer(SPI_getbinval(tup, desc, 3, &isnull));

		kpi_tally_merge(&node->tally, t);
		if (is_level(node->agg))
			add_level(node, t);	/* one kpi.actual row = one scope */
	}
	node->nrows++;
}

/* Add one measurement to its indicator's tally. */
static void
measurement_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	RollupState *st = (RollupState *) state;
	bool		isnull,
				den_null;
	int			i = id_index_find(st->node_index,
								  DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)));
	RollupNode *node;
	TimestampTz at;
	float8		value,
				den;

	if (i < 0 || st->nodes[i].keeps_grain)
		return;
	if (!scope_counts(st, DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull))))
		return;
	node = &st->nodes[i];
	at = DatumGetTimestampTz(SPI_getbinval(tup, desc, 3, &isnull));
	value = DatumGetFloat8(SPI_getbinval(tup, desc, 4, &isnull));
	den = DatumGetFloat8(SPI_getbinval(tup, desc, 5, &den_null));
	/* As the trigger does: a value with a denominator feeds the ratio sums */
	if (den_null)
		kpi_tally_add(&node->tally, value, at);
	else
		kpi_tally_add_ratio(&node->tally, value, den, at);
	if (is_level(node->agg))
	{
		LevelKey	key;
		LevelEntry *e;
		bool		found;

		key.node = i;
		key.scope_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		e = hash_search(st->levels, &key, HASH_ENTER, &found);
		if (!found)
			kpi_tally_init(&e->tally);
		kpi_tally_add(&e->tally, value, at);
	}
	node->nrows++;
}

/*
 * Read the period's kpi.actual rows that count (of the nodes in st->only,
 * when set): by indicator through the primary key for a few indicators,
 * by scope through (period, scope_id) for a few scopes, else the period's
 * rows, skipping the others in C.
 */
static void
read_actual_rows(RollupState *st, KpiPeriod p)
{
	Datum		args[2];
	Datum	   *ids = palloc(sizeof(Datum) * Max(st->n, 1));
	int			nids = 0,
				i;

	args[0] = KpiPeriodGetDatum(p);
	for (i = 0; i < st->n; i++)
		if (st->nodes[i].keeps_grain && (st->under < 0 || st->in_tree[i]) &&
			(st->only == NULL || st->only[i]))
			ids[nids++] = Int64GetDatum(st->nodes[i].id);
	if (nids == 0)
		return;
	if ((int64) nids * ROLLUP_SUBTREE_SHARE <= st->n)
	{
		args[1] = PointerGetDatum(construct_array(ids, nids, INT8OID, sizeof(int64),
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		for_each_row(st, plan_actuals_of, args, NULL, actual_row, NULL);
	}
	else if (!st->all_scopes && (int64) st->nsub * ROLLUP_SCOPE_SHARE <= st->nscopes)
	{
		args[1] = st->sub_ids;
		for_each_row(st, plan_actuals_in, args, NULL, actual_row, NULL);
	}
	else
		for_each_row(st, plan_actuals, args, NULL, actual_row, NULL);
	pfree(ids);
}

/* Note one indicator whose kept subtree rows are not current. */
static void
stale_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	RollupState *st = (RollupState *) state;
	bool		isnull;
	Datum		id = SPI_getbinval(tup, desc, 1, &isnull);
	int			i;

	if (isnull)
	{
		*(bool *) arg = true;	/* everything is stale */
		return;
	}
	i = id_index_find(st->node_index, DatumGetInt64(id));
	if (i >= 0)
		st->only[i] = true;
}

/* Merge one kpi.subtree row into its indicator's figures. */
static void
kept_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	RollupState *st = (RollupState *) state;
	bool		isnull;
	int			i = id_index_find(st->node_index,
								  DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)));
	RollupNode *node;
	Datum		level;

	if (i < 0 || (st->under >= 0 && !st->in_tree[i]) || st->only[i])
		return;
	node = &st->nodes[i];
	if (!node->keeps_grain)
		return;
	kpi_tally_merge(&node->tally,
					(const KpiTally *) DatumGetPointer(SPI_getbinval(tup, desc, 2, &isnull)));
	level = SPI_getbinval(tup, desc, 3, &isnull);
	if (!isnull && is_level(node->agg))
		add_level_value(node, DatumGetFloat8(level));
	node->nrows += DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
}

/* The number of pages of a table (its main fork). */
static BlockNumber
relation_pages(Oid relid)
{
	Relation	rel = relation_open(relid, AccessShareLock);
	BlockNumber n = RelationGetNumberOfBlocks(rel);

	relation_close(rel, AccessShareLock);
	return n;
}

/*
 * Have the marks outgrown what reading them is worth (ROLLUP_MARKS_SHARE)?
 * The pages of the files, not a count: cheap, and an upper bound.
 */
static bool
marks_piled_up(Oid actual)
{
	BlockNumber marks = relation_pages(kpi_relation("subtree_stale"));

	return marks > 8 && marks > relation_pages(actual) / ROLLUP_MARKS_SHARE;
}

/*
 * A scope with scopes below it: take each indicator's figure from its
 * kpi.subtree row, kept current by kpi.evaluate(), instead of merging
 * every scope's row; the indicators with a change not refreshed yet
 * (kpi.subtree_stale) are merged from kpi.actual as before.  The tables
 * are the owner's: they are read as the owner, for a scope the caller sees
 * whole and only if the caller may read kpi.actual.  Everything is read
 * at the statement's snapshot, so the marks, the kept rows and the rows
 * merged agree.  Returns false (nothing read) when the kept rows cannot
 * serve: before 0.14's objects, or while everything waits for a refresh.
 */
static bool
read_kept(RollupState *st, KpiPeriod p)
{
	Oid			actual = kpi_relation("actual");
	Oid			save_user;
	int			save_sec;
	Datum		args[3];
	bool		everything = false;
	int			i,
				nstale = 0;

	if (!OidIsValid(kpi_relation("subtree")) ||
		pg_class_aclcheck(actual, GetUserId(), ACL_SELECT) != ACLCHECK_OK ||
		marks_piled_up(actual))
		return false;
	prepare_kept_plans();
	st->only = MemoryContextAllocZero(st->cxt, sizeof(bool) * Max(st->n, 1));

	GetUserIdAndSecContext(&save_user, &save_sec);
	SetUserIdAndSecContext(kpi_owner(), save_sec | SECURITY_LOCAL_USERID_CHANGE);
	args[0] = KpiPeriodGetDatum(p);
	for_each_row(st, plan_stale, args, NULL, stale_row, &everything);
	if (!everything)
	{
		args[0] = Int64GetDatum(st->target_scope);
		args[1] = KpiPeriodGetDatum(p);
		if (st->under >= 0 && st->read_subtree)
		{
			int			nkept;

			args[2] = subtree_ids(st, true, &nkept);
			for_each_row(st, plan_kept_of, args, NULL, kept_row, NULL);
		}
		else
			for_each_row(st, plan_kept, args, NULL, kept_row, NULL);
	}
	SetUserIdAndSecContext(save_user, save_sec);
	if (everything)
	{
		st->only = NULL;
		return false;
	}

	/* the stale ones, from kpi.actual, with the caller's rights */
	for (i = 0; i < st->n; i++)
		if (st->only[i])
			nstale++;
	if (nstale > 0)
		read_actual_rows(st, p);
	st->only = NULL;
	return true;
}

/*
 * Merge the period's kpi.actual rows per indicator, and summarise the
 * measurements of indicators that do not keep the period's grain over
 * [start_date(p), end_date(p) + 1) in the company's time zone.
 */
static void
load_actuals(RollupState *st, KpiPeriod p)
{
	Datum	   *ids;
	int			nids = 0;
	int			i;

	if ((st->all_scopes && !st->one_tree) || !st->chosen_inner || !read_kept(st, p))
		read_actual_rows(st, p);

	ids = palloc(sizeof(Datum) * Max(st->n, 1));
	for (i = 0; i < st->n; i++)
		if (!st->nodes[i].keeps_grain && (st->under < 0 || st->in_tree[i]))
			ids[nids++] = Int64GetDatum(st->nodes[i].id);
	if (nids > 0)
	{
		Datum		args[3];
		pg_tz	   *tz = kpi_company_zone();

		/* Periods lie in years 1..9999, well inside the timestamp range. */
		args[0] = PointerGetDatum(construct_array(ids, nids, INT8OID, sizeof(int64),
												  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		args[1] = TimestampTzGetDatum(kpi_zone_midnight(kpi_period_start(p), tz));
		args[2] = TimestampTzGetDatum(kpi_zone_midnight(kpi_period_end(p) + 1, tz));
		{
			HASHCTL		ctl;
			HASH_SEQ_STATUS seq;
			LevelEntry *e;

			memset(&ctl, 0, sizeof(ctl));
			ctl.keysize = sizeof(LevelKey);
			ctl.entrysize = sizeof(LevelEntry);
			ctl.hcxt = st->cxt;
			st->levels = hash_create("kpi rollup levels", 64, &ctl,
									 HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
			for_each_row(st, plan_measurements, args, NULL, measurement_row, NULL);
			hash_seq_init(&seq, st->levels);
			while ((e = hash_seq_search(&seq)) != NULL)
				add_level(&st->nodes[e->key.node], &e->tally);
		}
	}
	pfree(ids);
}

/* Attach one kpi.target row's goal to its indicator. */
static void
target_row(void *state, HeapTuple tup, TupleDesc desc, void *arg)
{
	RollupState *st = (RollupState *) state;
	bool		isnull;
	int			i = id_index_find(st->node_index,
								  DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull)));

	if (i < 0)
		return;
	memcpy(&st->nodes[i].goal, DatumGetPointer(SPI_getbinval(tup, desc, 2, &isnull)),
		   sizeof(KpiGoal));
	st->nodes[i].has_goal = true;
}

/*
 * Load the goals set for the period at the target scope, if there is one
 * (under one indicator, its subtree's).
 */
static void
load_targets(RollupState *st, KpiPeriod p)
{
	Datum		args[3];
	int			nids;

	if (!st->has_target_scope)
		return;
	args[0] = Int64GetDatum(st->target_scope);
	args[1] = KpiPeriodGetDatum(p);
	if (st->under < 0 || !st->read_subtree)
	{
		for_each_row(st, plan_targets, args, NULL, target_row, NULL);
		return;
	}
	/* under one indicator: its subtree's goals only */
	args[2] = subtree_ids(st, false, &nids);
	for_each_row(st, plan_targets_of, args, NULL, target_row, NULL);
}

/* ---------------------------------------------------------------------
 * Scoring
 * ---------------------------------------------------------------------
 */

/*
 * Score one node whose children are all scored already.  Own data first:
 * with a target and an actual that give an attainment, the score is that
 * attainment clamped to [0, score_cap] and coverage is 1.  Otherwise the
 * weighted mean of the scored children; coverage is the weight they carry.
 */
static void
score_node(RollupState *st, RollupNode *node)
{
	float8		w_all = 0.0,
				w_scored = 0.0,
				sum = 0.0;
	int			k;

	if (node->nrows > 0)
	{
		bool		isnull;
		float8		v = kpi_tally_value(&node->tally, node->agg, &isnull);

		if (is_level(node->agg))
		{
			isnull = !node->has_level;
			v = node->level_sum;
		}
		node->has_actual = !isnull;
		node->actual = v;
	}
	if (node->has_goal)
	{
		node->has_target = true;
		node->target = DatumGetFloat8(DirectFunctionCall1(kpi_goal_target,
														  PointerGetDatum(&node->goal)));
		if (node->has_actual)
		{
			bool		isnull;
			float8		att = kpi_goal_attainment(&node->goal, node->actual, &isnull);

			node->has_attainment = !isnull;
			node->attainment = att;
		}
	}

	if (node->has_attainment)
	{
		float8		s = node->attainment;

		if (s < 0.0)
			s = 0.0;
		if (node->has_cap && s > node->cap)
			s = node->cap;
		node->has_score = true;
		node->own_score = true;
		node->score = s;
		node->coverage = 1.0;
		return;
	}

	for (k = 0; k < node->nchildren; k++)
	{
		const RollupEdge *edge = &st->children[node->child_start + k];
		const RollupNode *child = &st->nodes[edge->node];

		Assert(child->mark == NODE_DONE);
		w_all += edge->weight;
		if (child->has_score)
		{
			w_scored += edge->weight;
			sum += edge->weight * child->score;
		}
	}
	if (w_scored > 0.0)
	{
		node->has_score = true;
		node->score = sum / w_scored;
		node->coverage = w_scored / w_all;
	}
	else
		node->coverage = 0.0;
}

/* Report a cycle in kpi.link (which its trigger refuses; data loaded around it). */
static pg_noreturn void
cycle_error(const RollupNode *node)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("the indicator tree has a cycle through \"%s\"", node->code),
			 errhint("kpi.link refuses cycles when its trigger is enabled; remove the link that closes the cycle.")));
}

/*
 * Walk the tree depth-first from the roots (indicators without a parent),
 * roots and children in code order; under one indicator, from it alone.
 * A node is recorded for output when first reached, with its depth then,
 * and scored when all its children are (post-order).  The walk keeps its
 * own stack, so a deep tree cannot overflow the C stack; every node and
 * link is handled once.
 */
static void
walk_tree(RollupState *st)
{
	typedef struct Frame
	{
		int			node;
		int			next;		/* next child to look at */
		int			depth;
	}			Frame;
	Frame	   *stack = palloc(sizeof(Frame) * Max(st->n, 1));
	int			r;

	st->visits = MemoryContextAlloc(st->cxt, sizeof(RollupVisit) * Max(st->n, 1));
	st->nvisits = 0;

	for (r = 0; r < st->n; r++)
	{
		int			sp = 0;

		if (st->under >= 0 ? r != st->under : st->nodes[r].nparents > 0)
			continue;
		st->nodes[r].mark = NODE_OPEN;
		st->visits[st->nvisits].node = r;
		st->visits[st->nvisits].depth = 0;
		st->nvisits++;
		stack[sp].node = r;
		stack[sp].next = 0;
		stack[sp].depth = 0;
		sp++;

		while (sp > 0)
		{
			Frame	   *top = &stack[sp - 1];
			RollupNode *node = &st->nodes[top->node];

			if (top->next < node->nchildren)
			{
				int			c = st->children[node->child_start + top->next++].node;
				RollupNode *child = &st->nodes[c];

				if (child->mark == NODE_OPEN)
					cycle_error(child);
				if (child->mark == NODE_DONE)
					continue;	/* shared child, scored already */
				child->mark = NODE_OPEN;
				st->visits[st->nvisits].node = c;
				st->visits[st->nvisits].depth = top->depth + 1;
				st->nvisits++;
				stack[sp].node = c;
				stack[sp].next = 0;
				stack[sp].depth = top->depth + 1;
				sp++;
			}
			else
			{
				score_node(st, node);
				node->mark = NODE_DONE;
				sp--;
			}
		}
	}

	/* A node no root reaches lies on a cycle (under one node: off the walk). */
	if (st->under < 0 && st->nvisits < st->n)
		for (r = 0; r < st->n; r++)
			if (st->nodes[r].mark == NODE_NEW)
				cycle_error(&st->nodes[r]);
	pfree(stack);
}

/* Write the rows, in walk order, into the function's tuplestore. */
static void
emit_rows(RollupState *st, FunctionCallInfo fcinfo)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int			v;

	for (v = 0; v < st->nvisits; v++)
	{
		const RollupNode *node = &st->nodes[st->visits[v].node];
		Datum		values[ROLLUP_NCOLS];
		bool		nulls[ROLLUP_NCOLS];
		float8		level_of;

		memset(nulls, 0, sizeof(nulls));
		values[0] = Int64GetDatum(node->id);
		values[1] = CStringGetTextDatum(node->code);
		values[2] = Int32GetDatum(st->visits[v].depth);
		values[3] = Float8GetDatum(node->actual);
		nulls[3] = !node->has_actual;
		values[4] = Float8GetDatum(node->target);
		nulls[4] = !node->has_target;
		values[5] = Float8GetDatum(node->attainment);
		nulls[5] = !node->has_attainment;
		values[6] = Float8GetDatum(node->score);
		nulls[6] = !node->has_score;
		/* Status: of the attainment when scored from own data, else of the score. */
		level_of = node->own_score ? node->attainment : node->score;
		if (node->has_score && !isnan(level_of))
			values[7] = kpi_status_datum(fcinfo, kpi_bands_level(&node->bands, level_of));
		else
			nulls[7] = true;
		values[8] = Float8GetDatum(node->coverage);

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

/*
 * kpi.rollup(p kpi.period, scope text DEFAULT NULL): every indicator that is
 * not retired, once, in depth-first pre-order from the roots, with its
 * actual, target, attainment, score, status and coverage for period p over
 * the scope's subtree (NULL: the whole organisation).  p NULL: no rows.
 * kpi.rollup(p, scope, indicator) (0.13): the same for one indicator and
 * everything below it, depth counted from it; indicator NULL: every one.
 */
Datum
kpi_rollup(PG_FUNCTION_ARGS)
{
	RollupState st;
	MemoryContext old;
	KpiPeriod	p;
	text	   *scope_code;

	InitMaterializedSRF(fcinfo, 0);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	p = PG_GETARG_KPI_PERIOD(0);
	scope_code = PG_ARGISNULL(1) ? NULL : PG_GETARG_TEXT_PP(1);

	memset(&st, 0, sizeof(st));
	st.cxt = AllocSetContextCreate(CurrentMemoryContext, "kpi rollup",
								   ALLOCSET_DEFAULT_SIZES);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	(void) kpi_plans_check();
	prepare_plans(period_type_oid(fcinfo));

	load_scopes(&st, scope_code);
	load_indicators(&st, p);
	load_links(&st);
	st.under = -1;
	if (PG_NARGS() > 2 && !PG_ARGISNULL(2))
		find_subtree(&st, PG_GETARG_TEXT_PP(2));
	load_actuals(&st, p);
	load_targets(&st, p);

	old = MemoryContextSwitchTo(st.cxt);
	walk_tree(&st);
	MemoryContextSwitchTo(old);

	SPI_finish();

	old = MemoryContextSwitchTo(st.cxt);
	emit_rows(&st, fcinfo);
	MemoryContextSwitchTo(old);
	MemoryContextDelete(st.cxt);
	PG_RETURN_NULL();
}
