/*
 * source.c
 *	  Indicators computed from the business's own tables (release 0.10): the
 *	  check of an executable definition, and the run of its daily summary
 *	  with the rights of the definition's owner.
 *
 * A definition names a table (or view), its time column, a column of scope
 * codes, and SQL expressions over one row for the value, the denominator
 * and a filter.  kpi.source_check() parses each expression against the
 * table the way PostgreSQL parses an index expression, and refuses what
 * would make the computation differ between two runs over the same rows:
 * volatile or stable functions, aggregates, window functions, subqueries,
 * set-returning functions, and anything that reaches past the one row.
 *
 * kpi.source_run() executes the summary query kpi.refresh() built, as the
 * role that wrote the definition, inside a security-restricted operation
 * with a pinned search_path: the same sandbox REFRESH MATERIALIZED VIEW
 * runs a view's query in.  A definition therefore reads exactly what its
 * owner may read (row-level security included) and cannot change anything:
 * the query runs read-only.  Only kpi's owner may call it.
 */
#include "postgres.h"

#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "executor/tstoreReceiver.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "parser/analyze.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/plancache.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"
#include "utils/array.h"
#include "utils/syscache.h"

#include "kpi.h"

PG_FUNCTION_INFO_V1(kpi_source_check);
PG_FUNCTION_INFO_V1(kpi_source_run);

/* The type of a column of the source, or an error naming what is missing. */
static Oid
source_column_type(Oid rel, const char *column, const char *role)
{
	AttrNumber	att = get_attnum(rel, column);

	if (att == InvalidAttrNumber || att < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist", column,
						get_rel_name(rel)),
				 errdetail("The definition's %s column must be a column of its source.", role)));
	return get_atttype(rel, att);
}

/*
 * Parse "SELECT (expr) FROM source" and return the expression, checked to
 * be a function of the one row alone.  `what` names the expression in
 * errors.
 */
static Node *
source_expression(Oid rel, const char *expr, const char *what)
{
	StringInfoData sql;
	List	   *raw;
	Query	   *q;
	Node	   *node;

	initStringInfo(&sql);
	appendStringInfo(&sql, "SELECT (%s) FROM %s", expr,
					 quote_qualified_identifier(get_namespace_name(get_rel_namespace(rel)),
												get_rel_name(rel)));
	raw = raw_parser(sql.data, RAW_PARSE_DEFAULT);
	if (list_length(raw) != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("the %s expression must be one SQL expression", what)));
	q = parse_analyze_fixedparams(linitial_node(RawStmt, raw), sql.data, NULL, 0, NULL);
	if (q->commandType != CMD_SELECT || list_length(q->targetList) != 1 ||
		list_length(q->rtable) != 1 || linitial_node(RangeTblEntry, q->rtable)->relid != rel ||
		q->jointree->quals != NULL || q->cteList != NIL || q->setOperations != NULL ||
		q->groupClause != NIL || q->havingQual != NULL || q->sortClause != NIL ||
		q->distinctClause != NIL || q->limitCount != NULL || q->limitOffset != NULL ||
		q->windowClause != NIL || q->hasModifyingCTE || q->rowMarks != NIL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("the %s expression must be one expression over a row of \"%s\"", what,
						get_rel_name(rel))));
	if (q->hasAggs || q->hasWindowFuncs || q->hasTargetSRFs || q->hasSubLinks)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("the %s expression may not use aggregates, window functions, subqueries or set-returning functions",
						what),
				 errdetail("The expression is computed per source row: \"%s\".", expr)));
	node = (Node *) linitial_node(TargetEntry, q->targetList)->expr;
	if (contain_mutable_functions(node))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_OBJECT_DEFINITION),
				 errmsg("functions in the %s expression must be marked IMMUTABLE", what),
				 errdetail("A definition must give the same figure every time it runs over the same rows: \"%s\".",
						   expr)));
	return node;
}

/* Refuse an expression whose type is not a number. */
static void
check_numeric(Node *node, const char *what, const char *expr)
{
	Oid			type = exprType(node);
	char		category;
	bool		preferred;

	get_type_category_preferred(getBaseType(type), &category, &preferred);
	if (category != TYPCATEGORY_NUMERIC)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("the %s expression must be a number, not %s", what, format_type_be(type)),
				 errdetail("Expression: \"%s\".", expr)));
}

/*
 * kpi.source_check(source, at, scope, value, denominator, filter): raise
 * the first thing wrong with a definition (columns that do not exist or do
 * not fit, expressions that do not parse, are not numbers or booleans, or
 * are not immutable functions of one row); return the definition as kpi
 * stores it: {source schema-qualified, value, denominator, filter}, the
 * expressions printed back from their parse trees (NULL where not given).
 */
Datum
kpi_source_check(PG_FUNCTION_ARGS)
{
	Oid			rel;
	char		relkind;
	Oid			type;
	int			i;
	const char *what[3] = {"value", "denominator", "filter"};
	Datum		out[4];
	bool		nulls[4];
	int			dims[1] = {4};
	int			lbs[1] = {1};
	List	   *context;

	for (i = 0; i < 3; i++)
		if (PG_ARGISNULL(i))
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("a source definition needs its source, its time column and its scope column")));
	if (PG_ARGISNULL(3))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("a source definition needs a value expression")));
	rel = PG_GETARG_OID(0);
	if (get_rel_name(rel) == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("relation with OID %u does not exist", rel)));
	relkind = get_rel_relkind(rel);
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW && relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table or view", get_rel_name(rel))));

	type = source_column_type(rel, text_to_cstring(PG_GETARG_TEXT_PP(1)), "time");
	if (type != TIMESTAMPTZOID && type != DATEOID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("time column \"%s\" must be timestamptz or date, not %s",
						text_to_cstring(PG_GETARG_TEXT_PP(1)), format_type_be(type)),
				 errhint("A timestamp without time zone means nothing until a zone is chosen: use a view that converts it with AT TIME ZONE.")));
	type = getBaseType(source_column_type(rel, text_to_cstring(PG_GETARG_TEXT_PP(2)), "scope"));
	if (type != TEXTOID && type != VARCHAROID && type != BPCHAROID)
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("scope column \"%s\" must hold scope codes as text, not %s",
						text_to_cstring(PG_GETARG_TEXT_PP(2)), format_type_be(type))));

	/* [0] the source, qualified; [1..3] the expressions as kpi keeps them */
	out[0] = CStringGetTextDatum(quote_qualified_identifier(get_namespace_name(get_rel_namespace(rel)),
															 get_rel_name(rel)));
	nulls[0] = false;
	context = deparse_context_for(get_rel_name(rel), rel);
	for (i = 0; i < 3; i++)
	{
		char	   *expr;
		Node	   *node;

		nulls[1 + i] = PG_ARGISNULL(3 + i);
		if (nulls[1 + i])
			continue;
		expr = text_to_cstring(PG_GETARG_TEXT_PP(3 + i));
		node = source_expression(rel, expr, what[i]);
		if (i < 2)
			check_numeric(node, what[i], expr);
		else if (exprType(node) != BOOLOID)
			ereport(ERROR,
					(errcode(ERRCODE_DATATYPE_MISMATCH),
					 errmsg("the filter expression must be boolean, not %s", format_type_be(exprType(node))),
					 errdetail("Expression: \"%s\".", expr)));

		/*
		 * Kept as PostgreSQL prints it back: one self-contained expression
		 * (text such as "a) OR (b" cannot change the query it is put in),
		 * with functions outside pg_catalog named with their schema.
		 */
		out[1 + i] = CStringGetTextDatum(deparse_expression(node, context, false, false));
	}
	PG_RETURN_ARRAYTYPE_P(construct_md_array(out, nulls, 1, dims, lbs, TEXTOID, -1, false, TYPALIGN_INT));
}

/* Refuse a query whose rows do not have the function's result columns. */
static void
check_result_shape(SPIPlanPtr plan, TupleDesc expected)
{
	List	   *sources = SPI_plan_get_plan_sources(plan);
	TupleDesc	got;
	int			i;

	if (list_length(sources) != 1 ||
		(got = ((CachedPlanSource *) linitial(sources))->resultDesc) == NULL ||
		got->natts != expected->natts)
		elog(ERROR, "kpi: a source query must return (scope, day, tally)");
	for (i = 0; i < got->natts; i++)
		if (TupleDescAttr(got, i)->atttypid != TupleDescAttr(expected, i)->atttypid)
			elog(ERROR, "kpi: a source query must return (scope, day, tally)");
}

/*
 * kpi.source_run(owner, query): the rows (scope code, day, tally) of a
 * summary query kpi.refresh() built, run read-only as `owner` in a
 * security-restricted operation with search_path pinned to pg_catalog.
 */
Datum
kpi_source_run(PG_FUNCTION_ARGS)
{
	Oid			owner = PG_GETARG_OID(0);
	char	   *sql = text_to_cstring(PG_GETARG_TEXT_PP(1));
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	Oid			save_userid;
	int			save_sec_context;
	int			save_nestlevel;
	SPIPlanPtr	plan;
	DestReceiver *dest;
	SPIExecuteOptions options;

	if (!kpi_is_owner(GetUserId()))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("only the owner of kpi may run a source definition"),
				 errhint("Call kpi.refresh().")));
	if (!SearchSysCacheExists1(AUTHOID, ObjectIdGetDatum(owner)))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("the owner of the definition (role %u) no longer exists", owner),
				 errhint("Set the definition again with kpi.set_source(), as the role it should run as.")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);

	GetUserIdAndSecContext(&save_userid, &save_sec_context);
	SetUserIdAndSecContext(owner, save_sec_context | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("search_path", "pg_catalog", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	plan = SPI_prepare_cursor(sql, 0, NULL, CURSOR_OPT_PARALLEL_OK);
	if (plan == NULL)
		elog(ERROR, "kpi: could not prepare a source query: %s", SPI_result_code_string(SPI_result));
	check_result_shape(plan, rsinfo->setDesc);

	/* the rows go straight into the result, as they come */
	dest = CreateDestReceiver(DestTuplestore);
	SetTuplestoreDestReceiverParams(dest, rsinfo->setResult, rsinfo->econtext->ecxt_per_query_memory,
									false, NULL, NULL);
	memset(&options, 0, sizeof(options));
	options.read_only = true;
	options.dest = dest;
	if (SPI_execute_plan_extended(plan, &options) != SPI_OK_SELECT)
		elog(ERROR, "kpi: a source query must be a SELECT");
	dest->rDestroy(dest);
	SPI_finish();

	AtEOXact_GUC(false, save_nestlevel);
	SetUserIdAndSecContext(save_userid, save_sec_context);
	return (Datum) 0;
}
