/*
 * zone.c
 *	  The company's time zone: which day a measurement belongs to.
 *
 * A measurement's `at` is an instant; the periods it counts in are days,
 * months ... of the company's calendar, so the instant is turned into a
 * local date in the zone kept in kpi.setting (name 'time_zone', default
 * UTC), never in the session's TimeZone: a JDBC client in New York and a
 * pg_cron job in the server's zone put the same instant into the same
 * month.  These helpers do the conversions with the zone resolved once per
 * statement (pg_tzset caches the zone files).
 */
#include "postgres.h"

#include "datatype/timestamp.h"
#include "executor/spi.h"
#include "pgtime.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "kpi.h"

static SPIPlanPtr plan_zone = NULL;

/*
 * The company's zone: kpi.setting's time_zone, UTC when unset.  Read on the
 * latest snapshot at the start of every statement that needs it; the
 * caller is connected to SPI and has called kpi_plans_check().
 */
pg_tz *
kpi_company_zone(void)
{
	char	   *zone = "UTC";
	bool		isnull;

	kpi_prepare_into(&plan_zone,
					 "SELECT s.value FROM kpi.setting s WHERE s.name OPERATOR(pg_catalog.=) 'time_zone'",
					 0, NULL, 0);
	if (kpi_spi_latest(plan_zone, NULL, NULL, 1) != SPI_OK_SELECT)
		elog(ERROR, "kpi: could not read kpi.setting");
	if (SPI_processed == 1)
	{
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);

		if (!isnull)
			zone = TextDatumGetCString(d);
	}
	return kpi_zone_lookup(zone);
}

/* The zone of a name from pg_timezone_names, or an error naming it. */
pg_tz *
kpi_zone_lookup(const char *name)
{
	pg_tz	   *tz = pg_tzset(name);

	if (tz == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("time zone \"%s\" not recognized", name),
				 errhint("Set kpi.setting ''time_zone'' to a name from pg_timezone_names, e.g. Asia/Shanghai.")));
	return tz;
}

/*
 * The local date of an instant in a zone.  Instants whose date lies outside
 * the years a period can have (1 to 9999) are refused here, at the
 * statement that records them, with 22008.
 */
DateADT
kpi_zone_date(TimestampTz at, pg_tz *tz)
{
	struct pg_tm tm;
	fsec_t		fsec;
	int			offset;

	if (TIMESTAMP_NOT_FINITE(at) ||
		timestamp2tm(at, &offset, &tm, &fsec, NULL, tz) != 0 ||
		tm.tm_year < 1 || tm.tm_year > 9999)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("measurement time out of range for kpi periods"),
				 errdetail("Its local date must lie in the years 1 to 9999.")));
	return date2j(tm.tm_year, tm.tm_mon, tm.tm_mday) - POSTGRES_EPOCH_JDATE;
}

/* The instant a local date begins in a zone (its midnight, DST included). */
TimestampTz
kpi_zone_midnight(DateADT d, pg_tz *tz)
{
	struct pg_tm tm;
	TimestampTz result;
	int			offset;

	memset(&tm, 0, sizeof(tm));
	j2date(d + POSTGRES_EPOCH_JDATE, &tm.tm_year, &tm.tm_mon, &tm.tm_mday);
	offset = DetermineTimeZoneOffset(&tm, tz);
	if (tm2timestamp(&tm, 0, &offset, &result) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("date out of range for timestamp")));
	return result;
}

/*
 * The fraction of a period elapsed at an instant, clamped to [0, 1], with
 * day boundaries at the zone's midnights (what kpi.progress does in the
 * session's zone).
 */
float8
kpi_zone_progress(int64 period, TimestampTz at, pg_tz *tz)
{
	TimestampTz start = kpi_zone_midnight(kpi_period_start(period), tz);
	TimestampTz end = kpi_zone_midnight(kpi_period_end(period) + 1, tz);

	if (at <= start)
		return 0.0;
	if (at >= end)
		return 1.0;
	return (float8) (at - start) / (float8) (end - start);
}

/* The zone named by a text argument. */
static pg_tz *
zone_arg(FunctionCallInfo fcinfo, int n)
{
	return kpi_zone_lookup(text_to_cstring(PG_GETARG_TEXT_PP(n)));
}

PG_FUNCTION_INFO_V1(kpi_period_from_timestamptz_zone);
/* kpi.period(t timestamptz, grain text, zone text): the date taken in zone. */
Datum
kpi_period_from_timestamptz_zone(PG_FUNCTION_ARGS)
{
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(0);
	KpiGrain	g = kpi_grain_from_name(text_to_cstring(PG_GETARG_TEXT_PP(1)));
	pg_tz	   *tz = zone_arg(fcinfo, 2);

	if (TIMESTAMP_NOT_FINITE(at))
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_FIELD_OVERFLOW),
				 errmsg("kpi.period cannot contain an infinite timestamp")));
	PG_RETURN_KPI_PERIOD(kpi_period_containing(kpi_zone_date(at, tz), g));
}

PG_FUNCTION_INFO_V1(kpi_progress_zone);
/* kpi.progress(p, at, zone): kpi.progress with day boundaries in zone. */
Datum
kpi_progress_zone(PG_FUNCTION_ARGS)
{
	KpiPeriod	p = PG_GETARG_KPI_PERIOD(0);
	TimestampTz at = PG_GETARG_TIMESTAMPTZ(1);

	if (TIMESTAMP_IS_NOBEGIN(at))
		PG_RETURN_FLOAT8(0.0);
	if (TIMESTAMP_IS_NOEND(at))
		PG_RETURN_FLOAT8(1.0);
	PG_RETURN_FLOAT8(kpi_zone_progress(p, at, zone_arg(fcinfo, 2)));
}
