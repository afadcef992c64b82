/*
 * history.c
 *	  The part of kpi.indicator_history and kpi.target_history that row
 *	  triggers cannot keep: TRUNCATE removes rows without firing them.
 *
 * kpi.history_truncate(), a BEFORE TRUNCATE trigger on kpi.target and
 * kpi.indicator, logs a DELETE for every row about to go.  It reads the
 * table on the latest snapshot: TRUNCATE holds the table exclusively, but a
 * REPEATABLE READ transaction's own snapshot may predate rows others
 * committed before it got the lock, and those must be logged too.
 */
#include "postgres.h"

#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/guc.h"
#include "utils/rel.h"

#include "kpi.h"

static SPIPlanPtr plan_log_targets = NULL;
static SPIPlanPtr plan_log_indicators = NULL;

/* Prepare the two logging statements (after kpi_plans_check). */
static void
prepare_history_plans(void)
{
	kpi_prepare_into(&plan_log_targets,
					 "INSERT INTO kpi.target_history (target_id, indicator_id, scope_id, period, op,"
					 "                                old_goal, new_goal, note) "
					 "SELECT t.id, t.indicator_id, t.scope_id, t.period, 'DELETE', t.goal, NULL, 'TRUNCATE' "
					 "FROM kpi.target t ORDER BY t.id",
					 0, NULL, 0);
	kpi_prepare_into(&plan_log_indicators,
					 "INSERT INTO kpi.indicator_history (indicator_id, op, old_row, new_row) "
					 "SELECT i.id, 'DELETE', pg_catalog.to_jsonb(i), NULL FROM kpi.indicator i ORDER BY i.id",
					 0, NULL, 0);
}

PG_FUNCTION_INFO_V1(kpi_history_truncate);
/* BEFORE TRUNCATE on kpi.target or kpi.indicator: log every row's DELETE. */
Datum
kpi_history_truncate(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	const char *table;
	SPIPlanPtr	plan;
	int			save_nestlevel;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) ||
		!TRIGGER_FIRED_BEFORE(td->tg_event) ||
		RelationGetNamespace(td->tg_relation) != get_namespace_oid("kpi", false))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("kpi.history_truncate() fires only BEFORE TRUNCATE on kpi.indicator and kpi.target")));
	if (kpi_restoring())
		return PointerGetDatum(NULL);
	table = RelationGetRelationName(td->tg_relation);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "kpi: SPI_connect failed");
	(void) kpi_plans_check();
	prepare_history_plans();
	if (strcmp(table, "target") == 0)
		plan = plan_log_targets;
	else if (strcmp(table, "indicator") == 0)
		plan = plan_log_indicators;
	else
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("kpi.history_truncate() fires only on kpi.indicator and kpi.target, not on \"%s\"",
						table)));
	/* numbers in the logged rows exactly, whatever the session's setting */
	save_nestlevel = NewGUCNestLevel();
	(void) set_config_option("extra_float_digits", "1", PGC_USERSET, PGC_S_SESSION,
							 GUC_ACTION_SAVE, true, 0, false);
	if (kpi_spi_latest(plan, NULL, NULL, 0) != SPI_OK_INSERT)
		elog(ERROR, "kpi: could not log the truncated rows");
	AtEOXact_GUC(true, save_nestlevel);
	SPI_finish();
	return PointerGetDatum(NULL);
}
