/*
 * compat.h
 *	  The differences between the PostgreSQL majors kpi supports (15 to 18),
 *	  kept in one place as pgvector and pg_cron do: every other file is
 *	  written against the names defined here.
 */
#ifndef KPI_COMPAT_H
#define KPI_COMPAT_H

#include "postgres.h"
#include "utils/float.h"

#if PG_VERSION_NUM < 150000 || PG_VERSION_NUM >= 190000
#error "kpi supports PostgreSQL 15, 16, 17 and 18"
#endif

/*
 * A function that does not return.  18 replaced pg_attribute_noreturn(),
 * written after the declarator, with pg_noreturn, written before the
 * declaration; GCC and Clang accept the attribute in front as well, so every
 * kpi declaration puts it there: "static pg_noreturn void f(...)".
 */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

#if PG_VERSION_NUM >= 160000
#include "nodes/miscnodes.h"
#endif

/*
 * Parse a float8 at num without raising an error on bad syntax: *error is
 * set instead, and *endptr points after the number.  15 has
 * float8in_internal_opt_error(); 16 replaced it by soft error reporting
 * (float8in_internal with an ErrorSaveContext).
 */
static inline float8
kpi_float8in_soft(char *num, char **endptr, const char *type_name,
				  const char *orig_string, bool *error)
{
#if PG_VERSION_NUM >= 160000
	ErrorSaveContext escontext = {T_ErrorSaveContext};
	float8		result;

	result = float8in_internal(num, endptr, type_name, orig_string,
							   (Node *) &escontext);
	*error = escontext.error_occurred;
	return result;
#else
	return float8in_internal_opt_error(num, endptr, type_name, orig_string, error);
#endif
}

/*
 * The local transaction id of this backend's current transaction: 17 moved
 * it into MyProc->vxid.
 */
#include "storage/proc.h"
#if PG_VERSION_NUM >= 170000
#define KPI_MY_LXID (MyProc->vxid.lxid)
#else
#define KPI_MY_LXID (MyProc->lxid)
#endif

#endif							/* KPI_COMPAT_H */
