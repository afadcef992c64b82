#!/usr/bin/env bash
# Client test: the drivers BI tools use underneath, against the demo
# company, with the default search_path: psycopg2, psycopg 3, pandas,
# psqlODBC (through pyodbc), pgJDBC and node-postgres.  Each reads the
# scorecard filtered by a bound period and scope, calls kpi.rollup with a
# bound text parameter, records a measurement with a prepared statement
# (rolled back), and reads column metadata and descriptions; numbers must
# arrive as numbers, dates as dates, text as UTF-8 (test/clients/).
#
# As root it installs what is missing: Debian's python3-psycopg2,
# python3-psycopg, python3-pandas, python3-pyodbc, odbc-postgresql,
# unixodbc, default-jdk-headless, libpostgresql-jdbc-java (and nodejs,
# npm), and node-postgres 8 from the npm registry into a temporary
# directory.  A driver that cannot be had is reported as skipped; the test
# is skipped when none can.  JDBC needs TCP, so the test runs a throwaway
# cluster of its own on 127.0.0.1 (a free port), stopped at the end.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
PG_BINDIR=$("$PG_CONFIG" --bindir)
KPI_HAVE_CRON=0
work=$(mktemp -d)
chmod 755 "$work"
cleanup() { local rc=$?; kpi_cluster_stop >/dev/null 2>&1 || true; rm -rf "$work"; return $rc; }
trap cleanup EXIT

# ---------------------------------------------------------------------
# The drivers
# ---------------------------------------------------------------------
want="python3-psycopg2 python3-psycopg python3-pandas python3-pyodbc odbc-postgresql unixodbc
      default-jdk-headless libpostgresql-jdbc-java"
command -v node >/dev/null && command -v npm >/dev/null || want="$want nodejs npm"
missing=
for p in $want; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ] && [ "$(id -u)" -eq 0 ]; then
    kpi_log "installing$missing"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >"$work/apt.log" 2>&1 ||
        { tail -5 "$work/apt.log"; echo "apt-get could not install everything; the rest runs"; }
fi
if command -v npm >/dev/null; then
    (cd "$work" && npm init -y >/dev/null 2>&1 && npm install --no-audit --no-fund --silent pg@8 >"$work/npm.log" 2>&1) ||
        { tail -5 "$work/npm.log"; echo "npm could not install pg"; }
fi

# ---------------------------------------------------------------------
# A cluster on 127.0.0.1, the demo company in it
# ---------------------------------------------------------------------
port=
for p in $(seq 55432 55532); do
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then port=$p; break; fi
done
[ -n "$port" ] || kpi_die "no free port on 127.0.0.1"
kpi_cluster_start "listen_addresses=127.0.0.1" "port=$port"
trap cleanup EXIT
export PGPORT=$port
db=kpi_clients
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c "CREATE DATABASE $db"
(cd "$KPI_ROOT/test/demo" && psql_q -d $db -c "CREATE EXTENSION kpi" -f company.sql >/dev/null)
psql_q -d $db -c "ANALYZE"
echo "cluster on 127.0.0.1:$port, the demo company in $db (search_path: $(psql_q -d $db -At -c 'SHOW search_path'))"

# ---------------------------------------------------------------------
# Each driver
# ---------------------------------------------------------------------
n_ok=0; n_fail=0; n_skip=0
run() {     # run NAME COMMAND...: one driver's checks
    local name=$1 rc=0; shift
    "$@" > "$work/$name.out" 2>&1 || rc=$?
    if [ $rc -eq 0 ]; then
        n_ok=$((n_ok + 1))
    else
        n_fail=$((n_fail + 1))
        echo "FAIL $name (exit $rc)"
    fi
    cat "$work/$name.out"
}
skip() { echo "skip $1: $2"; n_skip=$((n_skip + 1)); }
py=/usr/bin/python3
for d in psycopg2 psycopg pandas pyodbc; do
    mod=$d; [ $d = pandas ] && mod="pandas, psycopg2"
    if [ -x $py ] && $py -c "import $mod" 2>/dev/null; then
        run "$d" $py "$KPI_ROOT/test/clients/clients.py" "$d" 127.0.0.1 "$port" $db postgres
    else
        skip "$d" "python3 module $d not installed"
    fi
done
jar=/usr/share/java/postgresql.jar
if command -v javac >/dev/null && [ -f "$jar" ]; then
    javac -encoding UTF-8 -d "$work" "$KPI_ROOT/test/clients/Clients.java"
    run pgjdbc java -Dfile.encoding=UTF-8 -cp "$jar:$work" Clients 127.0.0.1 "$port" $db postgres
else
    skip pgjdbc "javac or $jar missing"
fi
if [ -d "$work/node_modules/pg" ]; then
    cp "$KPI_ROOT/test/clients/clients.js" "$work/"
    run node-postgres node "$work/clients.js" 127.0.0.1 "$port" $db postgres
else
    skip node-postgres "pg from npm not installed"
fi

echo "clients: $n_ok passed, $n_fail failed, $n_skip skipped"
[ "$n_fail" -eq 0 ] || exit 1
[ "$n_ok" -gt 0 ] || exit 77
