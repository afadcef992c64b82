#!/usr/bin/env bash
# Docs test: every ```sql block of the pages listed below runs, in order, as
# the page says it does (a page's examples build on each other): the
# README's tour in an empty database, the guides on the demo company.  Runs
# against the cluster test.sh started, in a database of its own; roles the
# examples create are dropped afterwards.  The blocks' output is printed
# with KPI_DOCS_VERBOSE=1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

PAGES="README.md:empty docs/tutorial.md:empty docs/reviews.md:demo docs/alerts.md:demo docs/analysis.md:demo docs/sources.md:demo"
ROLES="east_manager alert_mailer"      # created by the README's tour, alerts.md

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
fail=0
for entry in $PAGES; do
    page=${entry%%:*}
    db=kpi_docs
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
    if [ "${entry##*:}" = demo ]; then
        psql_q -d "$db" -c "CREATE EXTENSION kpi"
        (cd "$KPI_ROOT/test/demo" && psql_q -d "$db" -f company.sql >/dev/null)
    fi
    # the page's ```sql blocks, in order, one file; a block right after a
    # line <!-- not run: why --> is left out (it needs what a test cluster
    # lacks, and says so)
    awk '/^<!-- not run:/ {skip = 1; next}
         /^```sql$/ {if (skip) {skip = 0; off = 1; next} on = 1; n++; next}
         /^```$/ {on = 0; off = 0; next}
         /./ {if (!on && !off) skip = 0}
         on' "$KPI_ROOT/$page" > "$work/blocks.sql"
    n=$(awk '/^<!-- not run:/ {skip = 1; next} /^```sql$/ {if (!skip) n++; skip = 0; next} /./ {skip = 0} END {print n + 0}' "$KPI_ROOT/$page")
    if psql_q -d "$db" -f "$work/blocks.sql" > "$work/out" 2>&1; then
        echo "ok   $page: $n sql blocks ran in order ($( [ "${entry##*:}" = demo ] && echo 'on the demo company' || echo 'in an empty database'))"
    else
        echo "FAIL $page:"; tail -20 "$work/out"; fail=1
    fi
    [ "${KPI_DOCS_VERBOSE:-0}" = 1 ] && cat "$work/out"
    psql_q -d postgres -c "DROP DATABASE $db"
    for r in $ROLES; do psql_q -d postgres -c "DROP ROLE IF EXISTS $r" 2>/dev/null; done
done
exit $fail
