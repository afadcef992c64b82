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
# pg_regress 15 prints "test name ... ok", 16 and later TAP lines ("ok 1 - name")
n_ok=$(grep -Ec '\.\.\. ok|^ok [0-9]+ ' "$log" || true)
n_failed=$(grep -Ec '\.\.\. FAILED|^not ok [0-9]+ ' "$log" || true)
n_skipped=0
rm -f "$log"

for t in test/scripts/t_*.sh; do
    [ -e "$t" ] || continue
    kpi_log "script test $t"
    rc=0
    bash "$t" || rc=$?
    case $rc in
        0)  echo "ok   $t"; n_ok=$((n_ok + 1)) ;;
        77) echo "skip $t"; n_skipped=$((n_skipped + 1)) ;;   # what it needs is absent
        *)  echo "FAIL $t"; n_failed=$((n_failed + 1)); failed=1 ;;
    esac
done

[ "$n_failed" -eq 0 ] || failed=1
kpi_log "PostgreSQL $KPI_PG_MAJOR"
echo "tests: $n_ok passed, $n_failed failed, $n_skipped skipped"
if [ "$failed" -ne 0 ]; then
    kpi_log "FAILED"
    exit 1
fi
kpi_log "all suites passed"
