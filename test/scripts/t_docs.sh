#!/usr/bin/env bash
# Docs test: every ```sql block of the pages listed below runs, in order, on
# the demo company, as the page says it does (a page's examples build on
# each other).  Runs against the cluster test.sh started, in a database of
# its own.  The blocks' output is printed after KPI_DOCS_VERBOSE=1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

PAGES="docs/reviews.md"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
fail=0
for page in $PAGES; do
    db=kpi_docs
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" 2>/dev/null
    psql_q -d "$db" -c "CREATE EXTENSION kpi"
    (cd "$KPI_ROOT/test/demo" && psql_q -d "$db" -f company.sql >/dev/null)
    # the page's ```sql blocks, in order, one file
    awk '/^```sql$/ {on = 1; next} /^```$/ {on = 0} on' "$KPI_ROOT/$page" > "$work/blocks.sql"
    n=$(grep -c '^```sql$' "$KPI_ROOT/$page")
    if psql_q -d "$db" -f "$work/blocks.sql" > "$work/out" 2>&1; then
        echo "ok   $page: $n sql blocks ran in order on the demo company"
    else
        echo "FAIL $page:"; tail -20 "$work/out"; fail=1
    fi
    [ "${KPI_DOCS_VERBOSE:-0}" = 1 ] && cat "$work/out"
    psql_q -d postgres -c "DROP DATABASE $db"
done
exit $fail
