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
rm -f regression.diffs output_iso/regression.diffs
log=$(mktemp)
if ! make -s PG_CONFIG="$PG_CONFIG" installcheck 2>&1 | tee "$log"; then
    [ -f regression.diffs ] && cat regression.diffs
    failed=1
fi
[ -f output_iso/regression.diffs ] && cat output_iso/regression.diffs
n_ok=$(grep -c '^test .* \.\.\. ok' "$log" || true)
n_failed=$(grep -c '^test .* \.\.\. FAILED' "$log" || true)
rm -f "$log"

for t in test/scripts/t_*.sh; do
    [ -e "$t" ] || continue
    kpi_log "script test $t"
    if bash "$t"; then
        echo "ok   $t"; n_ok=$((n_ok + 1))
    else
        echo "FAIL $t"; n_failed=$((n_failed + 1)); failed=1
    fi
done

[ "$n_failed" -eq 0 ] || failed=1
echo "tests: $n_ok passed, $n_failed failed"
if [ "$failed" -ne 0 ]; then
    kpi_log "FAILED"
    exit 1
fi
kpi_log "all suites passed"
