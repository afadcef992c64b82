#!/usr/bin/env bash
# make bench: run every benchmark under test/bench against a throwaway cluster.
# Benchmarks print figures and ratios; they never fail on speed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPI_ROOT"

kpi_ensure_packages
kpi_build_install
kpi_cluster_start
for b in ${KPI_BENCH:-test/bench/*.sql}; do
    kpi_log "benchmark $b"
    psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$b"
done
