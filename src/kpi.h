/*
 * kpi.h
 *	  Declarations shared by the C files of the kpi extension: the in-memory
 *	  forms of kpi.period, kpi.goal and kpi.bands, and small helpers.
 */
#ifndef KPI_H
#define KPI_H

#include "postgres.h"
#include "fmgr.h"
#include "utils/date.h"

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

#endif							/* KPI_H */
