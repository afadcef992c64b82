#!/usr/bin/env bash
# Reference test: docs/reference.md is what test/scripts/reference.sh
# generates from the catalog of the installed extension, so that the
# reference cannot drift from what is installed.  On Debian's PostgreSQL 15
# (what make test uses) the page must be identical; on other majors, whose
# catalogs print some types differently, every function, type, operator,
# table, view and column must at least appear in it.  Runs against the
# cluster test.sh started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
page="$KPI_ROOT/docs/reference.md"
out=$(mktemp)
trap 'rm -f "$out"' EXIT
bash "$KPI_ROOT/test/scripts/reference.sh" > "$out"
if [ "$PG_CONFIG" = /usr/lib/postgresql/15/bin/pg_config ]; then
    if ! diff -u "$page" "$out"; then
        echo "FAIL docs/reference.md differs from the catalog: run bash test/scripts/reference.sh > docs/reference.md"
        exit 1
    fi
    echo "docs/reference.md is the catalog's: $(grep -c '^| `' "$page") entries"
    exit 0
fi
# another major: the names at least
missing=0
while read -r name; do
    grep -qF -- "$name" "$page" || { echo "missing from docs/reference.md: $name"; missing=$((missing + 1)); }
done < <(grep -oE '^\| `[^`]+`' "$out" | sed 's/^| //' | sort -u)
[ "$missing" -eq 0 ] || { echo "FAIL $missing names missing"; exit 1; }
echo "every name of the catalog is in docs/reference.md"
