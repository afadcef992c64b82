/*
 * alert.c
 *	  Alert evaluation (预警), run by the measurement trigger right after it
 *	  has written a kpi.actual row, in the same transaction.
 *
 * For each (indicator, scope, period) the trigger evaluated, the matching
 * enabled rule (a scope-specific rule wins over the indicator-wide one)
 * decides: a status at or below raise_at counts as a breach; after
 * min_breaches consecutive breaches an alert is raised (unless silenced);
 * while it is unresolved its severity follows the status and repeat_after
 * re-notifies; it resolves itself only when the basis value passes the band
 * edge above raise_at by recovery_margin, so a value that wobbles around
 * the edge neither clears nor re-raises.
 *
 * Rules are loaded once per indicator and statement.  Keys whose indicator
 * has no rule cost one hash probe.  The partial unique index on kpi.alert
 * keeps one unresolved alert per key whatever the concurrency; writers of
 * one key are already serialised by the lock on its kpi.actual row.
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "commands/async.h"
#include "executor/spi.h"
#include "utils/float.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/hsearch.h"
#include "utils/timestamp.h"

#include "kpi.h"

/* An (indicator, scope, period) key. */
typedef struct AlertKey
{
	int64		indicator_id;
	int64		scope_id;
	KpiPeriod	period;
} AlertKey;

/* One enabled rule, as the evaluation needs it. */
typedef struct AlertRule
{
	int64		id;
	int64		scope_id;		/* 0 = every scope */
	bool		pace;			/* basis */
	KpiStatusLevel raise_at;
	int32		min_breaches;
	float8		recovery_margin;
	bool		has_repeat;
	Interval	repeat_after;
} AlertRule;

/* The rules of one indicator, with what evaluating them needs. */
typedef struct IndicatorRules
{
	int64		indicator_id;	/* hash key */
	int			nrules;
	AlertRule  *rules;
	KpiBands	bands;
	char	   *owner;			/* assignee of new alerts; NULL if none */
} IndicatorRules;

static SPIPlanPtr plan_rules = NULL;
static SPIPlanPtr plan_open = NULL;
static SPIPlanPtr plan_streak_bump = NULL;
static SPIPlanPtr plan_streak_reset = NULL;
static SPIPlanPtr plan_silenced = NULL;
static SPIPlanPtr plan_raise = NULL;
static SPIPlanPtr plan_update = NULL;
static SPIPlanPtr plan_event = NULL;

static const char *const level_names[] = {"red", "amber", "green", "blue"};

/* Prepare the alert statements once per backend. */
static void
prepare_alert_plans(Oid period_type)
{
	Oid			t[8];

	if (plan_event != NULL)
		return;
	t[0] = INT8OID;
	kpi_prepare_into(&plan_rules,
		"SELECT r.id, coalesce(r.scope_id, 0), r.basis OPERATOR(pg_catalog.=) 'pace',"
		"       (pg_catalog.array_position(pg_catalog.enum_range(NULL::kpi.status), r.raise_at) - 1),"
		"       r.min_breaches, r.recovery_margin, r.repeat_after, i.bands, i.owner "
		"FROM kpi.indicator i LEFT JOIN kpi.alert_rule r"
		"  ON r.indicator_id OPERATOR(pg_catalog.=) i.id AND r.enabled "
		"WHERE i.id OPERATOR(pg_catalog.=) $1 ORDER BY r.scope_id NULLS LAST",
		1, t, 0);

	t[0] = INT8ARRAYOID;
	t[1] = INT8ARRAYOID;
	t[2] = get_array_type(period_type);
	kpi_prepare_into(&plan_open,
		"SELECT a.indicator_id, a.scope_id, a.period, a.id,"
		" (pg_catalog.array_position(pg_catalog.enum_range(NULL::kpi.status), a.severity) - 1),"
		" pg_catalog.now() OPERATOR(pg_catalog.-) a.notified_at "
		"FROM kpi.alert a JOIN ROWS FROM (pg_catalog.unnest($1), pg_catalog.unnest($2), pg_catalog.unnest($3)) AS k(i, s, p)"
		" ON a.indicator_id OPERATOR(pg_catalog.=) k.i AND a.scope_id OPERATOR(pg_catalog.=) k.s"
		" AND a.period OPERATOR(kpi.=) k.p "
		"WHERE a.state OPERATOR(pg_catalog.<>) 'resolved' ORDER BY a.id FOR UPDATE OF a",
		3, t, 0);

	t[0] = INT8OID;
	t[1] = INT8OID;
	t[2] = period_type;
	t[3] = INT8OID;
	kpi_prepare_into(&plan_streak_bump,
		"INSERT INTO kpi.alert_streak AS s (rule_id, indicator_id, scope_id, period, breaches)"
		" VALUES ($4, $1, $2, $3, 1) ON CONFLICT (rule_id, indicator_id, scope_id, period)"
		" DO UPDATE SET breaches = s.breaches OPERATOR(pg_catalog.+) 1 RETURNING s.breaches",
		4, t, 0);
	kpi_prepare_into(&plan_streak_reset,
		"DELETE FROM kpi.alert_streak s WHERE s.rule_id OPERATOR(pg_catalog.=) $4"
		" AND s.indicator_id OPERATOR(pg_catalog.=) $1 AND s.scope_id OPERATOR(pg_catalog.=) $2"
		" AND s.period OPERATOR(kpi.=) $3",
		4, t, 0);
	kpi_prepare_into(&plan_silenced,
		"SELECT 1 FROM kpi.silence s WHERE s.indicator_id OPERATOR(pg_catalog.=) $1"
		" AND (s.scope_id IS NULL OR s.scope_id OPERATOR(pg_catalog.=) $2)"
		" AND s.until OPERATOR(pg_catalog.>) pg_catalog.now() LIMIT 1",
		2, t, 0);

	t[4] = TEXTOID;				/* severity */
	t[5] = FLOAT8OID;			/* value */
	t[6] = FLOAT8OID;			/* attainment */
	t[7] = TEXTOID;				/* assignee */
	kpi_prepare_into(&plan_raise,
		"INSERT INTO kpi.alert (indicator_id, scope_id, period, rule_id, severity, value, attainment, assignee)"
		" VALUES ($1, $2, $3, $4, $5::kpi.status, $6, $7, $8)"
		" ON CONFLICT (indicator_id, scope_id, period) WHERE state OPERATOR(pg_catalog.<>) 'resolved'"
		" DO NOTHING RETURNING id",
		8, t, 0);

	/* $1 id, $2 severity, $3 value, $4 attainment, $5 resolve?, $6 renotify? */
	t[0] = INT8OID;
	t[1] = TEXTOID;
	t[2] = FLOAT8OID;
	t[3] = FLOAT8OID;
	t[4] = BOOLOID;
	t[5] = BOOLOID;
	kpi_prepare_into(&plan_update,
		"UPDATE kpi.alert a SET severity = $2::kpi.status, value = $3, attainment = $4,"
		" state = CASE WHEN $5 THEN 'resolved' ELSE a.state END,"
		" resolved_at = CASE WHEN $5 THEN pg_catalog.now() ELSE a.resolved_at END,"
		" resolved_by = CASE WHEN $5 THEN 'kpi' ELSE a.resolved_by END,"
		" notified_at = CASE WHEN $6 THEN pg_catalog.now() ELSE a.notified_at END,"
		" lease_until = CASE WHEN $5 OR $6 THEN NULL ELSE a.lease_until END,"
		" updated_at = pg_catalog.now() "
		"WHERE a.id OPERATOR(pg_catalog.=) $1",
		6, t, 0);

	/* $1 id, $2 kind, $3 severity, $4 value, $5 attainment */
	t[1] = TEXTOID;
	t[2] = TEXTOID;
	t[3] = FLOAT8OID;
	t[4] = FLOAT8OID;
	kpi_prepare_into(&plan_event,
		"INSERT INTO kpi.alert_event (alert_id, kind, actor, state, severity, value, attainment)"
		" SELECT a.id, $2, 'kpi', a.state, $3::kpi.status, $4, $5"
		" FROM kpi.alert a WHERE a.id OPERATOR(pg_catalog.=) $1",
		5, t, 0);
}

/* A hash of IndicatorRules for one statement. */
HTAB *
kpi_alert_rules_create(void)
{
	HASHCTL		ctl;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(int64);
	ctl.entrysize = sizeof(IndicatorRules);
	ctl.hcxt = CurrentMemoryContext;
	return hash_create("kpi alert rules", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

/* Load the enabled rules, bands and owner of an indicator. */
static void
load_rules(IndicatorRules *ir)
{
	Datum		arg = Int64GetDatum(ir->indicator_id);
	uint64		i;

	if (kpi_spi_latest(plan_rules, &arg, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.alert_rule");
	ir->nrules = 0;
	ir->rules = palloc0(sizeof(AlertRule) * Max(SPI_processed, 1));
	ir->owner = NULL;
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		Datum		d;

		if (i == 0)
		{
			d = SPI_getbinval(tup, desc, 8, &isnull);
			memcpy(&ir->bands, DatumGetPointer(d), sizeof(KpiBands));
			d = SPI_getbinval(tup, desc, 9, &isnull);
			ir->owner = isnull ? NULL : TextDatumGetCString(d);
		}
		d = SPI_getbinval(tup, desc, 1, &isnull);
		if (isnull)
			continue;			/* the indicator has no enabled rule */
		{
			AlertRule  *r = &ir->rules[ir->nrules++];

			r->id = DatumGetInt64(d);
			r->scope_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
			r->pace = DatumGetBool(SPI_getbinval(tup, desc, 3, &isnull));
			r->raise_at = (KpiStatusLevel) DatumGetInt32(SPI_getbinval(tup, desc, 4, &isnull));
			r->min_breaches = DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
			r->recovery_margin = DatumGetFloat8(SPI_getbinval(tup, desc, 6, &isnull));
			d = SPI_getbinval(tup, desc, 7, &isnull);
			r->has_repeat = !isnull;
			if (!isnull)
				r->repeat_after = *DatumGetIntervalP(d);
		}
	}
	SPI_freetuptable(SPI_tuptable);
}

/* The rule that applies to a scope: its own rule, else the indicator-wide one. */
static AlertRule *
matching_rule(IndicatorRules *ir, int64 scope_id)
{
	AlertRule  *wide = NULL;
	int			i;

	for (i = 0; i < ir->nrules; i++)
	{
		if (ir->rules[i].scope_id == scope_id)
			return &ir->rules[i];
		if (ir->rules[i].scope_id == 0)
			wide = &ir->rules[i];
	}
	return wide;
}

/*
 * The attainment at which a key counts as recovered: the first band edge
 * above raise_at, plus the margin.  There is always one, since raise_at is
 * below blue and a value better than raise_at reached some level above it.
 */
static float8
recovery_edge(const KpiBands *b, const AlertRule *r)
{
	int			lvl;

	for (lvl = r->raise_at + 1; lvl <= KPI_STATUS_BLUE; lvl++)
		if (b->mask & (1 << (lvl - 1)))
			return b->at[lvl - 1] + r->recovery_margin;
	return get_float8_infinity();
}

/* Log a transition of an alert. */
static void
log_event(int64 alert_id, const char *kind, KpiStatusLevel level, float8 value, float8 att)
{
	Datum		args[5];
	char		nulls[5] = {' ', ' ', ' ', ' ', ' '};

	args[0] = Int64GetDatum(alert_id);
	args[1] = CStringGetTextDatum(kind);
	args[2] = CStringGetTextDatum(level_names[level]);
	args[3] = Float8GetDatum(value);
	args[4] = Float8GetDatum(att);
	if (kpi_spi_latest(plan_event, args, nulls, 0) != SPI_OK_INSERT)
		elog(ERROR, "kpi: could not log an alert event");
}

/* NOTIFY kpi_alert with the alert id, delivered at commit. */
static void
notify(int64 alert_id)
{
	char		payload[32];

	snprintf(payload, sizeof(payload), INT64_FORMAT, alert_id);
	Async_Notify("kpi_alert", payload);
}

/* Count a breach or reset the streak; returns the consecutive breaches. */
static int32
update_streak(Datum *key, const AlertRule *r, bool bad)
{
	Datum		args[4];
	int32		breaches = 0;

	memcpy(args, key, sizeof(Datum) * 3);
	args[3] = Int64GetDatum(r->id);
	if (!bad)
	{
		if (kpi_spi_latest(plan_streak_reset, args, NULL, 0) != SPI_OK_DELETE)
			elog(ERROR, "kpi: could not reset an alert streak");
		return 0;
	}
	if (kpi_spi_latest(plan_streak_bump, args, NULL, 0) != SPI_OK_INSERT_RETURNING ||
		SPI_processed != 1)
		elog(ERROR, "kpi: could not count an alert breach");
	{
		bool		isnull;

		breaches = DatumGetInt32(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return breaches;
}

/* Raise a new alert for a key unless it is silenced; notify on success. */
static void
raise_alert(Datum *key, const IndicatorRules *ir, const AlertRule *r,
			KpiStatusLevel level, float8 value, float8 att)
{
	Datum		args[8];
	char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
	int64		id;
	bool		isnull;

	if (kpi_spi_latest(plan_silenced, key, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.silence");
	if (SPI_processed > 0)
		return;
	memcpy(args, key, sizeof(Datum) * 3);
	args[3] = Int64GetDatum(r->id);
	args[4] = CStringGetTextDatum(level_names[level]);
	args[5] = Float8GetDatum(value);
	args[6] = Float8GetDatum(att);
	args[7] = ir->owner ? CStringGetTextDatum(ir->owner) : (Datum) 0;
	nulls[7] = ir->owner ? ' ' : 'n';
	if (kpi_spi_latest(plan_raise, args, nulls, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "kpi: could not raise an alert");
	if (SPI_processed == 0)
		return;					/* another transaction's alert is unresolved */
	id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_freetuptable(SPI_tuptable);
	log_event(id, "raise", level, value, att);
	notify(id);
}

/* An evaluated key that a rule applies to, and what the rule makes of it. */
typedef struct Candidate
{
	const KpiAlertInput *in;
	IndicatorRules *ir;
	AlertRule  *rule;
	float8		basis;			/* attainment or pace */
	KpiStatusLevel level;
	bool		bad;
	int32		breaches;
} Candidate;

/* The unresolved alert of a key, if any (from one batched lookup). */
typedef struct OpenAlert
{
	AlertKey	key;			/* hash key */
	int64		id;
	KpiStatusLevel severity;
	Interval	since_notified;
} OpenAlert;

/* Key order, as the trigger writes kpi.actual: one lock order for all. */
static int
candidate_cmp(const void *a, const void *b)
{
	const KpiAlertInput *x = ((const Candidate *) a)->in;
	const KpiAlertInput *y = ((const Candidate *) b)->in;

	return kpi_key_cmp(x->indicator_id, x->scope_id, x->period,
					   y->indicator_id, y->scope_id, y->period);
}

/* The key of an input as the plans' Datum arguments. */
static void
key_datums(const KpiAlertInput *in, Datum *key)
{
	key[0] = Int64GetDatum(in->indicator_id);
	key[1] = Int64GetDatum(in->scope_id);
	key[2] = KpiPeriodGetDatum(in->period);
}

/* Look up (and lock) the unresolved alerts of all candidates at once. */
static HTAB *
load_open_alerts(Candidate *c, int nc, Oid period_type)
{
	HASHCTL		ctl;
	HTAB	   *open;
	Datum	   *ind = palloc(sizeof(Datum) * nc);
	Datum	   *scope = palloc(sizeof(Datum) * nc);
	Datum	   *period = palloc(sizeof(Datum) * nc);
	Datum		args[3];
	uint64		i;

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(AlertKey);
	ctl.entrysize = sizeof(OpenAlert);
	ctl.hcxt = CurrentMemoryContext;
	open = hash_create("kpi open alerts", Max(nc, 16), &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	for (i = 0; i < (uint64) nc; i++)
	{
		ind[i] = Int64GetDatum(c[i].in->indicator_id);
		scope[i] = Int64GetDatum(c[i].in->scope_id);
		period[i] = KpiPeriodGetDatum(c[i].in->period);
	}
	kpi_key_array_args(ind, scope, period, nc, period_type, args);
	if (kpi_spi_latest(plan_open, args, NULL, 0) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.alert");
	for (i = 0; i < SPI_processed; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;
		AlertKey	key;
		OpenAlert  *oa;

		memset(&key, 0, sizeof(key));
		key.indicator_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		key.scope_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		key.period = DatumGetKpiPeriod(SPI_getbinval(tup, desc, 3, &isnull));
		oa = hash_search(open, &key, HASH_ENTER, NULL);
		oa->id = DatumGetInt64(SPI_getbinval(tup, desc, 4, &isnull));
		oa->severity = (KpiStatusLevel) DatumGetInt32(SPI_getbinval(tup, desc, 5, &isnull));
		oa->since_notified = *DatumGetIntervalP(SPI_getbinval(tup, desc, 6, &isnull));
	}
	SPI_freetuptable(SPI_tuptable);
	return open;
}

/*
 * Apply the rule to one candidate whose unresolved alert (oa, or NULL) is
 * known: raise, follow the status, re-notify, or resolve on recovery.
 */
static void
apply_rule(Candidate *c, OpenAlert *oa)
{
	const KpiAlertInput *in = c->in;
	Datum		key[3];
	bool		resolve,
				renotify;
	Datum		args[6];

	key_datums(in, key);
	if (oa == NULL)
	{
		if (c->bad && c->breaches >= c->rule->min_breaches)
			raise_alert(key, c->ir, c->rule, c->level, in->value, in->att);
		return;
	}
	resolve = !c->bad && c->basis >= recovery_edge(&c->ir->bands, c->rule);
	renotify = c->bad && c->rule->has_repeat &&
		DatumGetInt32(DirectFunctionCall2(interval_cmp, IntervalPGetDatum(&oa->since_notified),
										  IntervalPGetDatum(&c->rule->repeat_after))) >= 0;
	if (!resolve && !renotify && c->level == oa->severity)
		return;					/* nothing changed: no write, no event */
	args[0] = Int64GetDatum(oa->id);
	args[1] = CStringGetTextDatum(level_names[c->level]);
	args[2] = Float8GetDatum(in->value);
	args[3] = Float8GetDatum(in->att);
	args[4] = BoolGetDatum(resolve);
	args[5] = BoolGetDatum(renotify);
	if (kpi_spi_latest(plan_update, args, NULL, 0) != SPI_OK_UPDATE)
		elog(ERROR, "kpi: could not update an alert");
	if (resolve)
		log_event(oa->id, "recover", c->level, in->value, in->att);
	else if (c->level != oa->severity)
		log_event(oa->id, c->level < oa->severity ? "worsen" : "improve", c->level, in->value, in->att);
	if (renotify)
	{
		log_event(oa->id, "repeat", c->level, in->value, in->att);
		notify(oa->id);
	}
}

/*
 * Load the rules of an indicator into the statement's hash (once) and tell
 * what it has: 0 no enabled rule, 1 rules on attainment only, 2 a rule on
 * pace (the trigger then computes pace for the keys it writes).
 */
int
kpi_alert_rules_need(HTAB *rules, int64 indicator_id, Oid period_type)
{
	bool		found;
	IndicatorRules *ir;
	int			i;

	prepare_alert_plans(period_type);
	ir = hash_search(rules, &indicator_id, HASH_ENTER, &found);
	if (!found)
		load_rules(ir);
	if (ir->nrules == 0)
		return 0;
	for (i = 0; i < ir->nrules; i++)
		if (ir->rules[i].pace)
			return 2;
	return 1;
}

/*
 * Evaluate the alert rules on the keys the trigger just evaluated.  Keys
 * without a rule, a target or a value cost a hash probe; the unresolved
 * alerts of the others are fetched in one statement, and only transitions
 * (raise, severity change, recovery, repeat) write anything.
 */
void
kpi_alert_evaluate_batch(HTAB *rules, Oid period_type, KpiAlertInput *in, int n)
{
	Candidate  *c = palloc(sizeof(Candidate) * Max(n, 1));
	int			nc = 0;
	int			i;
	HTAB	   *open;

	prepare_alert_plans(period_type);
	for (i = 0; i < n; i++)
	{
		IndicatorRules *ir;
		AlertRule  *r;
		bool		found;
		float8		basis;

		if (!in[i].has_value)
			continue;
		ir = hash_search(rules, &in[i].indicator_id, HASH_ENTER, &found);
		if (!found)
			load_rules(ir);
		if (ir->nrules == 0 || (r = matching_rule(ir, in[i].scope_id)) == NULL)
			continue;
		if (r->pace ? !in[i].has_pace : !in[i].has_att)
			continue;			/* no target (or no share due yet): nothing to judge */
		basis = r->pace ? in[i].pace : in[i].att;
		if (isnan(basis))
			continue;
		c[nc].in = &in[i];
		c[nc].ir = ir;
		c[nc].rule = r;
		c[nc].basis = basis;
		c[nc].level = kpi_bands_level(&ir->bands, basis);
		c[nc].bad = c[nc].level <= r->raise_at;
		nc++;
	}
	if (nc == 0)
		return;
	qsort(c, nc, sizeof(Candidate), candidate_cmp);

	/* streaks are kept only where a rule waits for several breaches */
	for (i = 0; i < nc; i++)
	{
		if (c[i].rule->min_breaches > 1)
		{
			Datum		key[3];

			key_datums(c[i].in, key);
			c[i].breaches = update_streak(key, c[i].rule, c[i].bad);
		}
		else
			c[i].breaches = c[i].bad ? 1 : 0;
	}

	open = load_open_alerts(c, nc, period_type);
	for (i = 0; i < nc; i++)
	{
		AlertKey	key;

		memset(&key, 0, sizeof(key));
		key.indicator_id = c[i].in->indicator_id;
		key.scope_id = c[i].in->scope_id;
		key.period = c[i].in->period;
		apply_rule(&c[i], hash_search(open, &key, HASH_FIND, NULL));
	}
}
