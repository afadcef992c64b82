#!/usr/bin/env bash
# DEV ONLY (removed before release): assemble kpi--0.1.sql from parts/*.sql
cd "$(dirname "$0")/.." && cat parts/[0-9]*.sql > kpi--0.1.sql
