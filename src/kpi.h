/*
 * kpi.h
 *	  Declarations shared by the C files of the kpi extension: the in-memory
 *	  forms of kpi.period, kpi.goal and kpi.bands, and small helpers.
 */
#ifndef KPI_H
#define KPI_H

#include "postgres.h"
#include "fmgr.h"
#include "executor/spi.h"
#include "utils/date.h"

#include "compat.h"

/* ---- shared SPI helpers (kpi.c) ---------------------------------------- */
extern SPIPlanPtr kpi_prepare_kept(const char *sql, int nargs, Oid *argtypes, int cursor_options);
extern void kpi_prepare_into(SPIPlanPtr *slot, const char *sql, int nargs, Oid *argtypes,
							 int cursor_options);
extern Oid	kpi_plans_check(void);
extern int	kpi_spi_latest(SPIPlanPtr plan, Datum *args, const char *nulls, long tcount);

/* Called for each row kpi_spi_each_row reads; state and arg are the caller's. */
typedef void (*KpiRowFn) (void *state, HeapTuple tup, TupleDesc desc, void *arg);
extern void kpi_spi_each_row(SPIPlanPtr plan, Datum *args, const char *nulls, long batch,
							 MemoryContext cxt, KpiRowFn fn, void *state, void *arg);
extern Datum kpi_int64_array(const int64 *v, int n, Oid elemtype);
extern bool kpi_restoring(void);
extern Oid	kpi_type_oid(const char *name);

/* ---- row-level security by scope (security.c) --------------------------- */
extern Oid	kpi_owner(void);
extern Oid	kpi_relation(const char *name);
extern bool kpi_is_owner(Oid role);
extern bool kpi_sees_everything(Oid role);

/* ---- the company's time zone (zone.c) ----------------------------------- */
struct pg_tz;
extern struct pg_tz *kpi_zone_lookup(const char *name);
extern struct pg_tz *kpi_company_zone(void);
extern DateADT kpi_zone_date(TimestampTz at, struct pg_tz *tz);
extern TimestampTz kpi_zone_midnight(DateADT d, struct pg_tz *tz);
extern float8 kpi_zone_progress(int64 period, TimestampTz at, struct pg_tz *tz);

/*
 * The btree comparison functions of a type (=, <>, <, <=, >, >=, and the
 * support function cmp), generated from one three-way comparison: CMP is an
 * expression over fcinfo's two arguments giving <0, 0 or >0.
 */
#define KPI_CMP_FUNC(name, CMP, test) \
PG_FUNCTION_INFO_V1(name); \
Datum \
name(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_BOOL((CMP) test 0); \
}

#define KPI_BTREE_FUNCS(prefix, CMP) \
KPI_CMP_FUNC(prefix##_eq, CMP, ==) \
KPI_CMP_FUNC(prefix##_ne, CMP, !=) \
KPI_CMP_FUNC(prefix##_lt, CMP, <) \
KPI_CMP_FUNC(prefix##_le, CMP, <=) \
KPI_CMP_FUNC(prefix##_gt, CMP, >) \
KPI_CMP_FUNC(prefix##_ge, CMP, >=) \
PG_FUNCTION_INFO_V1(prefix##_cmp); \
Datum \
prefix##_cmp(PG_FUNCTION_ARGS) \
{ \
	PG_RETURN_INT32(CMP); \
}

/* ---- kpi.period ------------------------------------------------------
 * A period is packed into one int64: start_date * KPI_GRAIN_SPAN + grain.
 * Grains are numbered longest first, so plain int64 order is the order the
 * SPEC asks for: by start date, then the longer period first.
 */
typedef enum KpiGrain
{
	KPI_GRAIN_YEAR = 0,
	KPI_GRAIN_HALF = 1,
	KPI_GRAIN_QUARTER = 2,
	KPI_GRAIN_MONTH = 3,
	KPI_GRAIN_WEEK = 4,
	KPI_GRAIN_DAY = 5
} KpiGrain;

#define KPI_GRAIN_COUNT 6
#define KPI_GRAIN_SPAN	8

typedef int64 KpiPeriod;

#define DatumGetKpiPeriod(X)	((KpiPeriod) DatumGetInt64(X))
#define KpiPeriodGetDatum(X)	Int64GetDatum(X)
#define PG_GETARG_KPI_PERIOD(n) DatumGetKpiPeriod(PG_GETARG_DATUM(n))
#define PG_RETURN_KPI_PERIOD(x) return KpiPeriodGetDatum(x)

extern KpiGrain kpi_period_grain(KpiPeriod p);
extern DateADT kpi_period_start(KpiPeriod p);
extern DateADT kpi_period_end(KpiPeriod p);
extern KpiPeriod kpi_period_containing(DateADT d, KpiGrain g);
extern KpiGrain kpi_grain_from_name(const char *name);
extern const char *kpi_grain_name(KpiGrain g);
extern bool kpi_period_shift(KpiPeriod p, int64 n, KpiPeriod *result);
extern bool kpi_period_last_year_of(KpiPeriod p, KpiPeriod *result);

/* ---- kpi.goal --------------------------------------------------------- */
#define KPI_GOAL_VERSION 1

typedef enum KpiDirection
{
	KPI_DIR_HIGHER = 1,
	KPI_DIR_LOWER = 2,
	KPI_DIR_RANGE = 3
} KpiDirection;

/* Fixed-size, 24 bytes: version, direction, flags, then two numbers. */
typedef struct KpiGoal
{
	uint8		version;
	uint8		direction;		/* KpiDirection */
	uint8		has_baseline;	/* higher/lower only */
	uint8		pad[5];
	float8		a;				/* target; range: lower bound */
	float8		b;				/* baseline; range: upper bound */
} KpiGoal;

#define DatumGetKpiGoalP(X)		((KpiGoal *) DatumGetPointer(X))
#define PG_GETARG_KPI_GOAL_P(n) DatumGetKpiGoalP(PG_GETARG_DATUM(n))

extern float8 kpi_goal_attainment(const KpiGoal *g, float8 actual, bool *isnull);
extern Datum kpi_goal_target(PG_FUNCTION_ARGS);	/* kpi.target(goal) */
extern float8 kpi_goal_target_value(const KpiGoal *g);
extern float8 kpi_goal_pace(const KpiGoal *g, float8 actual, float8 progress, bool *isnull);
extern float8 kpi_goal_probability_value(const KpiGoal *g, float8 mean, float8 sd, bool *isnull);

/* Numbers in kpi text forms (goal.c): plain decimals in, shortest-exact out. */
extern bool kpi_scan_float8(const char **pp, float8 *result, const char *typname);
extern void kpi_append_float8(struct StringInfoData *buf, float8 x);

/* ---- kpi.bands -------------------------------------------------------- */
#define KPI_BANDS_VERSION 1
#define KPI_LEVEL_COUNT 3		/* amber, green, blue; red is below them */

typedef enum KpiStatusLevel
{
	KPI_STATUS_RED = 0,
	KPI_STATUS_AMBER = 1,
	KPI_STATUS_GREEN = 2,
	KPI_STATUS_BLUE = 3
} KpiStatusLevel;

/* Fixed-size, 32 bytes: version, a bit per level present, thresholds. */
typedef struct KpiBands
{
	uint8		version;
	uint8		mask;			/* bit i set: level i+1 (amber..blue) present */
	uint8		pad[6];
	float8		at[KPI_LEVEL_COUNT];
} KpiBands;

#define DatumGetKpiBandsP(X)	((KpiBands *) DatumGetPointer(X))
#define PG_GETARG_KPI_BANDS_P(n) DatumGetKpiBandsP(PG_GETARG_DATUM(n))

extern KpiStatusLevel kpi_bands_level(const KpiBands *b, float8 att);
extern Datum kpi_status_datum(FunctionCallInfo fcinfo, KpiStatusLevel level);

/* ---- kpi.tally ---------------------------------------------------------
 * The struct and the functions actual.c and rollup.c use to build and read
 * tallies in C (tally.c).
 */
typedef enum KpiAggKind
{
	KPI_AGG_SUM = 0,
	KPI_AGG_AVG,
	KPI_AGG_MIN,
	KPI_AGG_MAX,
	KPI_AGG_FIRST,
	KPI_AGG_LAST,
	KPI_AGG_COUNT,
	KPI_AGG_RATIO
} KpiAggKind;

#define KPI_TALLY_VERSION 1

typedef struct KpiTally
{
	uint8		version;
	uint8		flags;
	uint8		pad[6];
	int64		count;			/* values added (NULLs skipped) */
	float8		sum;			/* Neumaier: sum + comp is the sum */
	float8		comp;
	float8		min;
	float8		max;
	TimestampTz first_at;
	float8		first;
	TimestampTz last_at;
	float8		last;
	float8		num_sum;		/* ratio numerator, compensated */
	float8		num_comp;
	float8		den_sum;		/* ratio denominator, compensated */
	float8		den_comp;
} KpiTally;

extern void kpi_tally_init(KpiTally *t);
extern void kpi_tally_add(KpiTally *t, float8 value, TimestampTz at);
extern void kpi_tally_add_ratio(KpiTally *t, float8 num, float8 den, TimestampTz at);
extern void kpi_tally_merge(KpiTally *dst, const KpiTally *src);
extern float8 kpi_tally_value(const KpiTally *t, KpiAggKind kind, bool *isnull);
extern KpiAggKind kpi_agg_kind_from_name(const char *name);
extern const char *kpi_agg_kind_name(KpiAggKind kind);

/* ---- kpi.tally (tally.c): beyond the contract above --------------------
 * flags: KPI_TALLY_UNTIMED is set once the tally holds a value without a
 * time (the one-argument aggregate); first and last are then unknown and
 * their fields zero.  An empty tally (count 0) has every other field zero.
 */
#define KPI_TALLY_UNTIMED 0x01

#define DatumGetKpiTallyP(X)	((KpiTally *) DatumGetPointer(X))
#define KpiTallyPGetDatum(X)	PointerGetDatum(X)
#define PG_GETARG_KPI_TALLY_P(n) DatumGetKpiTallyP(PG_GETARG_DATUM(n))
#define PG_RETURN_KPI_TALLY_P(x) return KpiTallyPGetDatum(x)

extern void kpi_tally_add_untimed(KpiTally *t, float8 value);
extern KpiAggKind kpi_agg_kind_from_oid(Oid label_oid);

/* ---- alerts (alert.c): the keys a trigger wrote go to kpi.alert_written */
/*
 * Order of (indicator, scope, period) keys, period first: the one order in
 * which the trigger creates, locks and writes kpi.actual rows and the
 * alert evaluation locks them, so writers cannot deadlock; and since rows
 * are written in it, the rows of one period lie together in the heap.
 */
static inline int
kpi_key_cmp(int64 ai, int64 as, KpiPeriod ap, int64 bi, int64 bs, KpiPeriod bp)
{
	if (ap != bp)
		return ap < bp ? -1 : 1;
	if (ai != bi)
		return ai < bi ? -1 : 1;
	if (as != bs)
		return as < bs ? -1 : 1;
	return 0;
}

struct HTAB;
extern void kpi_key_array_args(const Datum *ind, const Datum *scope, const Datum *period,
							   int n, Oid period_type, Datum *args);
extern void kpi_alert_written(Oid period_type, const Datum *ind, const Datum *scope,
							  const Datum *period, int n);

#endif							/* KPI_H */
