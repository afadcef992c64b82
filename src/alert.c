/*
 * alert.c
 *	  Hand the keys a measurement or target statement wrote to the alert
 *	  judgement (kpi.alert_written, kpi--0.6--0.7.sql), in the writer's
 *	  transaction.
 *
 * The judgement itself is set-based SQL shared with kpi.evaluate() and
 * kpi.verify(), so that an alert raised by a writer, by the evaluation
 * cycle and by a fresh check are one computation: a key of a leaf scope
 * is judged at once, every other key (regions, the company, ancestors of
 * the written scope) is queued for kpi.evaluate().  See docs/alerts.md.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/array.h"
#include "utils/lsyscache.h"

#include "kpi.h"

static SPIPlanPtr plan_written = NULL;

/* Judge (or queue) the alerts of n keys given as Datum arrays. */
void
kpi_alert_written(Oid period_type, const Datum *ind, const Datum *scope,
				  const Datum *period, int n)
{
	Datum		args[3];
	Oid			t[3];

	if (n == 0)
		return;
	if (plan_written == NULL)
	{
		t[0] = INT8ARRAYOID;
		t[1] = INT8ARRAYOID;
		t[2] = get_array_type(period_type);
		kpi_prepare_into(&plan_written, "SELECT kpi.alert_written($1, $2, $3)", 3, t, 0);
	}
	kpi_key_array_args(ind, scope, period, n, period_type, args);
	if (kpi_spi_latest(plan_written, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not judge alerts");
}
