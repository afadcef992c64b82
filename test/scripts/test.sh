#!/usr/bin/env bash
# make test: install what is missing, build, then every suite against a
# throwaway cluster: pg_regress, isolation specs and the script tests.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPI_ROOT"

kpi_ensure_packages
kpi_build_install
kpi_cluster_start

failed=0
kpi_log "pg_regress and isolation suites"
rm -f regression.diffs
if ! make -s PG_CONFIG="$PG_CONFIG" installcheck; then
    [ -f regression.diffs ] && cat regression.diffs
    failed=1
fi
[ -d output_iso ] && [ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs

for t in test/scripts/t_*.sh; do
    [ -e "$t" ] || continue
    kpi_log "script test $t"
    if bash "$t"; then echo "ok   $t"; else echo "FAIL $t"; failed=1; fi
done

if [ "$failed" -ne 0 ]; then
    kpi_log "FAILED"
    exit 1
fi
kpi_log "all suites passed"
