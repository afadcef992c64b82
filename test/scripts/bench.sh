#!/usr/bin/env bash
# make bench: run every benchmark under test/bench against a throwaway cluster.
# Benchmarks print figures and ratios; they never fail on speed.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPI_ROOT"

kpi_ensure_packages
kpi_build_install
kpi_cluster_start
# SQL benchmarks (the _lib.sql helpers excepted), then shell ones (pgbench)
for b in ${KPI_BENCH:-$(ls test/bench/*.sql test/bench/*.sh | grep -v '/_')}; do
    kpi_log "benchmark $b"
    case "$b" in
        *.sh) bash "$b" ;;
        *) (cd "$(dirname "$b")" && psql -X -q -v ON_ERROR_STOP=1 -d postgres -f "$(basename "$b")") ;;
    esac
done
