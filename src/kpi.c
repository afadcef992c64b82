/*
 * kpi.c
 *	  Module entry of the kpi extension (the magic block that lets PostgreSQL
 *	  check the library was built for this server), and the SPI helpers the
 *	  trigger, the alerts and the rollup share.
 */
#include "postgres.h"

#include "executor/spi.h"
#include "nodes/makefuncs.h"
#include "parser/parse_type.h"

#include "kpi.h"

PG_MODULE_MAGIC;

/*
 * Prepare a statement once and keep it for the life of the backend
 * (SPI_keepplan).  Every statement names its objects with their schema, so
 * a kept plan never depends on the caller's search_path.
 */
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

/* The OID of a type of schema kpi, by name (the schema is fixed). */
Oid
kpi_type_oid(const char *name)
{
	TypeName   *tn = makeTypeNameFromNameList(list_make2(makeString("kpi"),
														 makeString(pstrdup(name))));

	return typenameTypeId(NULL, tn);
}
