"""Client test, Python drivers: psycopg2, psycopg (3), pandas, pyodbc.

Usage: clients.py DRIVER HOST PORT DBNAME USER
Against the demo company (test/demo/company.sql) each driver, with the
default search_path:
  * reads the scorecard filtered by a bound period and scope;
  * calls kpi.rollup with the period bound as a string;
  * records a measurement with a prepared statement (rolled back);
  * reads the scorecard's column metadata and descriptions;
and checks that numbers arrive as numbers, dates as dates, timestamps with
their zone and text as UTF-8 text.  Prints one line per check, exits 1 on
the first failure.
"""
import datetime
import sys
import warnings

# pandas warns about every DBAPI connection that is not SQLAlchemy's
warnings.filterwarnings("ignore", message="pandas only supports SQLAlchemy")

EXPECTED_COLUMNS = 27
PERIOD, SCOPE = "2026-Q2", "hq"
REVENUE_NAME = "营业收入"

SCORECARD = ("SELECT indicator, indicator_name, scope, period, period_start, period_start_at, "
             "actual, attainment, status, status_rank FROM kpi.scorecard "
             "WHERE period = {p} AND scope = {p} ORDER BY indicator")
ROLLUP = "SELECT code, actual FROM kpi.rollup({p}, {p}) WHERE code = 'sales.revenue'"
RECORD = "SELECT kpi.record({p}, {p}, {p}, {p})"
REVENUE = ("SELECT actual FROM kpi.scorecard WHERE indicator = 'sales.revenue' "
           "AND scope = 'hq.east.hangzhou' AND period = {p}")
DESCRIPTIONS = ("SELECT a.attname, col_description(a.attrelid, a.attnum) FROM pg_attribute a "
                "WHERE a.attrelid = 'kpi.scorecard'::regclass AND a.attnum > 0 ORDER BY a.attnum")


def fail(driver, what):
    print(f"FAIL {driver}: {what}")
    sys.exit(1)


def ok(driver, what):
    print(f"ok   {driver}: {what}")


def check_rows(driver, rows):
    """The scorecard rows of hq in 2026-Q2, as tuples in SCORECARD's order."""
    if not rows:
        fail(driver, "no scorecard rows for 2026-Q2, hq")
    revenue = [r for r in rows if r[0] == "sales.revenue"]
    if len(revenue) != 1:
        fail(driver, "sales.revenue is not in the scorecard once")
    ind, name, scope, period, start, start_at, actual, attainment, status, rank = revenue[0]
    if name != REVENUE_NAME:
        fail(driver, f"indicator_name arrived as {name!r}, not {REVENUE_NAME!r}")
    if not isinstance(actual, float) or not isinstance(attainment, float):
        fail(driver, f"actual/attainment arrived as {type(actual).__name__}/{type(attainment).__name__}")
    if type(start) is not datetime.date or start != datetime.date(2026, 4, 1):
        fail(driver, f"period_start arrived as {start!r}")
    if driver == "pyodbc":
        # ODBC has no time zone: a timestamptz arrives as the session's
        # local time (UTC on the test cluster)
        start_at = start_at.replace(tzinfo=datetime.timezone.utc) if isinstance(start_at, datetime.datetime) else None
    if not isinstance(start_at, datetime.datetime) or start_at.tzinfo is None:
        fail(driver, f"period_start_at arrived as {start_at!r} (no time zone)")
    if start_at != datetime.datetime(2026, 3, 31, 16, 0, tzinfo=datetime.timezone.utc):
        fail(driver, f"period_start_at is {start_at}, not 2026-04-01 00:00 Asia/Shanghai")
    if not isinstance(rank, int) or status not in ("red", "amber", "green", "blue"):
        fail(driver, f"status {status!r} / status_rank {rank!r}")
    ok(driver, f"scorecard {PERIOD} {SCOPE} bound: {len(rows)} rows; sales.revenue {name} "
               f"actual {actual} (float), period_start {start} (date), period_start_at {start_at.isoformat()}")
    return actual


def run_dbapi(driver, conn, p, descriptions_via_catalog=True):
    """psycopg2 and psycopg: placeholders p ('%s')."""
    cur = conn.cursor()
    cur.execute(SCORECARD.format(p=p), (PERIOD, SCOPE))
    actual = check_rows(driver, cur.fetchall())
    cur.execute(ROLLUP.format(p=p), (PERIOD, SCOPE))
    code, rolled = cur.fetchone()
    if rolled != actual:
        fail(driver, f"kpi.rollup says {rolled!r}, the scorecard {actual!r}")
    ok(driver, f"kpi.rollup({p}, {p}) with the period bound as str: {code} {rolled}, the scorecard's number")
    cur.execute(REVENUE.format(p=p), ("2026-06",))
    before = cur.fetchone()[0]
    at = datetime.datetime(2026, 6, 30, 9, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
    cur.execute(RECORD.format(p=p), ("sales.revenue", "hq.east.hangzhou", 1.5, at))
    new_id = cur.fetchone()[0]
    cur.execute(REVENUE.format(p=p), ("2026-06",))
    after = cur.fetchone()[0]
    conn.rollback()
    if not isinstance(new_id, int) or abs(after - before - 1.5) > 1e-9:
        fail(driver, f"kpi.record returned {new_id!r}; actual went from {before} to {after}")
    ok(driver, f"kpi.record bound (text, text, float, aware datetime): id {new_id}, actual {before} -> {after} (rolled back)")
    cur.execute("SELECT * FROM kpi.scorecard LIMIT 0")
    names = [d[0] for d in cur.description]
    cur.execute(DESCRIPTIONS)
    described = [r for r in cur.fetchall() if r[1]]
    if len(names) != EXPECTED_COLUMNS or len(described) != EXPECTED_COLUMNS:
        fail(driver, f"{len(names)} columns, {len(described)} described")
    ok(driver, f"metadata: {len(names)} columns, every one described ({described[9][0]}: {described[9][1]!r})")


def main():
    driver, host, port, db, user = sys.argv[1:6]
    if driver == "psycopg2":
        import psycopg2
        conn = psycopg2.connect(host=host, port=port, dbname=db, user=user)
        print(f"     psycopg2 {psycopg2.__version__}")
        run_dbapi(driver, conn, "%s")
    elif driver == "psycopg":
        import psycopg
        conn = psycopg.connect(host=host, port=port, dbname=db, user=user)
        print(f"     psycopg {psycopg.__version__}")
        run_dbapi(driver, conn, "%s")
        # server-side prepared statement, as psycopg 3 does after a few runs
        with conn.cursor() as cur:
            cur.execute(ROLLUP.format(p="%s"), (PERIOD, SCOPE), prepare=True)
            ok(driver, f"kpi.rollup as a prepared statement: {cur.fetchone()}")
    elif driver == "pandas":
        import pandas
        import psycopg2
        conn = psycopg2.connect(host=host, port=port, dbname=db, user=user)
        print(f"     pandas {pandas.__version__}")
        df = pandas.read_sql(SCORECARD.format(p="%s"), conn, params=(PERIOD, SCOPE))
        for col in ("actual", "attainment"):
            if str(df[col].dtype) != "float64":
                fail(driver, f"{col} is {df[col].dtype}, not float64")
        if str(df["period_start_at"].dtype).find("datetime64") != 0:
            fail(driver, f"period_start_at is {df['period_start_at'].dtype}")
        name = df.loc[df.indicator == "sales.revenue", "indicator_name"].iloc[0]
        if name != REVENUE_NAME:
            fail(driver, f"indicator_name is {name!r}")
        ok(driver, f"read_sql of the scorecard with bound params: {len(df)} rows, actual {df['actual'].dtype}, "
                   f"period_start_at {df['period_start_at'].dtype}, {name}")
        tree = pandas.read_sql("SELECT * FROM kpi.rollup(%s, %s)", conn, params=(PERIOD, SCOPE))
        ok(driver, f"read_sql of kpi.rollup with the period bound: {len(tree)} rows, actual {tree['actual'].dtype}")
    elif driver == "pyodbc":
        import pyodbc
        conn = pyodbc.connect(f"Driver={{PostgreSQL Unicode}};Server={host};Port={port};Database={db};Uid={user};")
        print(f"     pyodbc {pyodbc.version}, {conn.getinfo(pyodbc.SQL_DRIVER_NAME)} "
              f"{conn.getinfo(pyodbc.SQL_DRIVER_VER)}")
        run_dbapi(driver, conn, "?")
        cols = list(conn.cursor().columns(table="scorecard", schema="kpi"))
        remarks = [c.remarks for c in cols if c.remarks]
        types = {c.column_name: c.type_name for c in cols}
        # psqlODBC 13 leaves SQLColumns' REMARKS empty: ODBC tools get the
        # descriptions from the catalog query above (docs/bi.md)
        if len(cols) != EXPECTED_COLUMNS:
            fail(driver, f"SQLColumns: {len(cols)} columns")
        if types["actual"] != "float8" or types["period_start"] != "date":
            fail(driver, f"SQLColumns types: actual {types['actual']}, period_start {types['period_start']}")
        ok(driver, f"SQLColumns: {len(cols)} columns, actual {types['actual']}, period_start_at "
                   f"{types['period_start_at']}; REMARKS filled for {len(remarks)} (the driver does not read them)")
    else:
        fail(driver, "unknown driver")


if __name__ == "__main__":
    main()
