#!/usr/bin/env bash
# make demo: build, install, start a throwaway cluster, load the example and
# print it.  The cluster is removed at the end, also on failure.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPI_ROOT"

kpi_ensure_packages
kpi_build_install
kpi_cluster_start
psql -X -q -v ON_ERROR_STOP=1 -d postgres -f test/demo/demo.sql
