/*
 * security.c
 *	  Who sees which scopes: kpi.visible_scopes(), the set the row-level
 *	  security policies of kpi's tables check a row's scope against.
 *
 * A role sees the scopes it is a member of in kpi.scope_member (directly
 * or through a role it inherits from) and every scope below them.  The
 * policies evaluate this function once per query, in InitPlans
 * ("(SELECT kpi.visible_scopes()) IS NULL OR scope_id = ANY (...)"), so
 * the check per row is a lookup in a small array, or nothing at all for a
 * role that sees every scope; a period condition can still use its index.
 *
 * The function runs with the rights of its caller, but reads kpi.scope and
 * kpi.scope_member as their owner, the way PostgreSQL's foreign key checks
 * do: a member needs no privilege on the membership table (and cannot read
 * who else is a member of what), while the answer is always about the
 * calling role, which an owner-rights SQL function could not know.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

#include "kpi.h"

PG_FUNCTION_INFO_V1(kpi_visible_scopes);
PG_FUNCTION_INFO_V1(kpi_actor);

/*
 * The owner of kpi's tables (the role that created the extension): the
 * owner of kpi.measurement, which every release since 0.3 has.
 */
Oid
kpi_owner(void)
{
	Oid			relid = get_relname_relid("measurement", get_namespace_oid("kpi", false));
	HeapTuple	tup;
	Oid			owner;

	if (!OidIsValid(relid))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("kpi.measurement does not exist"),
				 errhint("Update the extension: ALTER EXTENSION kpi UPDATE.")));
	tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for relation %u", relid);
	owner = ((Form_pg_class) GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

/* Is the role a superuser, the owner, or a role with the owner's privileges? */
bool
kpi_is_owner(Oid role)
{
	return superuser_arg(role) || has_privs_of_role(role, kpi_owner());
}

/*
 * True when row-level security does not apply to the role on kpi's tables:
 * superusers, roles with BYPASSRLS, and the owner (or a role that has the
 * owner's privileges), exactly the roles PostgreSQL lets past the policies.
 */
bool
kpi_sees_everything(Oid role)
{
	return has_bypassrls_privilege(role) || kpi_is_owner(role);
}

/* Plan of the subtree walk, prepared once per extension and backend. */
static SPIPlanPtr plan_visible = NULL;

/*
 * kpi.visible_scopes(): the ids of the scopes the current role sees, in
 * ascending order (an empty array when it is a member of none), or NULL
 * when it sees everything: it is not subject to row-level security, or
 * its memberships cover every scope.
 */
Datum
kpi_visible_scopes(PG_FUNCTION_ARGS)
{
	Oid			caller = GetUserId();
	Oid			owner;
	Oid			save_userid;
	int			save_sec;
	Oid			argtypes[1] = {OIDOID};
	Datum		args[1];
	Datum		result;
	bool		isnull;
	bool		all;

	if (kpi_sees_everything(caller))
		PG_RETURN_NULL();

	owner = kpi_owner();
	kpi_plans_check();
	SPI_connect();
	kpi_prepare_into(&plan_visible,
		"WITH RECURSIVE down(id) AS ("
		"  SELECT m.scope_id FROM kpi.scope_member m"
		"  JOIN pg_catalog.pg_roles g ON g.rolname OPERATOR(pg_catalog.=) m.role"
		"  WHERE pg_catalog.pg_has_role($1, g.oid, 'USAGE')"
		"  UNION"
		"  SELECT s.id FROM kpi.scope s JOIN down d ON s.parent_id OPERATOR(pg_catalog.=) d.id"
		") SELECT pg_catalog.array_agg(down.id ORDER BY down.id),"
		"         pg_catalog.count(*) OPERATOR(pg_catalog.=) (SELECT pg_catalog.count(*) FROM kpi.scope)"
		"  FROM down",
		1, argtypes, 0);

	/*
	 * Read as the owner; the caller's identity is the query's parameter.
	 * An error restores the user id with the (sub)transaction's abort.
	 */
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE |
						   SECURITY_RESTRICTED_OPERATION);
	args[0] = ObjectIdGetDatum(caller);
	if (SPI_execute_plan(plan_visible, args, NULL, true, 1) != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "kpi.visible_scopes: the membership query failed");
	SetUserIdAndSecContext(save_userid, save_sec);

	/*
	 * The array is copied out of SPI's memory before SPI_finish frees it;
	 * the empty array is built after, in the caller's memory.
	 */
	all = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	result = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull && !all)
		result = SPI_datumTransfer(result, false, -1);
	SPI_finish();

	/*
	 * A member of every scope sees everything, as the owner does: NULL lets
	 * the policies pass every row without searching the array (the count
	 * and the subtree come from the same snapshot as the query's rows).
	 */
	if (all && !isnull)
		PG_RETURN_NULL();
	if (isnull)
		result = PointerGetDatum(construct_empty_array(INT8OID));
	PG_RETURN_DATUM(result);
}

/*
 * kpi.actor(): the role a change is made by, for the history: the session's
 * role as SET ROLE leaves it.  Owner-rights triggers write the history, and
 * inside them CURRENT_USER is the owner; the outer role is not.
 */
Datum
kpi_actor(PG_FUNCTION_ARGS)
{
	char	   *name = GetUserNameFromId(GetOuterUserId(), false);

	PG_RETURN_DATUM(DirectFunctionCall1(namein, CStringGetDatum(name)));
}
