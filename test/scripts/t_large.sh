#!/usr/bin/env bash
# Statements and rebuilds larger than one round of the write path: one
# INSERT of 120,001 daily measurements at two branches writes over 131,000
# keys of kpi.actual (days, months, quarters, years), more than the 100,000
# keys the write path applies at a time, so it applies them in two slices
# in key order (131,402 keys with the other indicators');
# kpi.actual_rebuild() rebuilds 64 indicators at a time (72 here: two
# groups).  After each, and
# after the kpi.subtree refresh, kpi.verify() is empty and the company's
# year (read from kpi.subtree) equals the measurements summed by hand.
# Runs against the cluster test.sh started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
DB=kpi_large
fail() { printf 't_large: %s\n' "$*" >&2; exit 1; }
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
trap 'psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true' EXIT
out=$(psql_q -d $DB -At <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.scope (code, name) VALUES ('co', 'Co');
INSERT INTO kpi.scope (code, name, parent_id) VALUES ('co.a', 'A', kpi.scope_id('co')), ('co.b', 'B', kpi.scope_id('co'));
INSERT INTO kpi.indicator (code, name, grains) VALUES ('x.d', 'Daily', '{day,month,quarter,year}');
INSERT INTO kpi.indicator (code, name) VALUES ('x.m', 'Monthly');
-- 70 more, so that the rebuild takes more than one group of indicators
INSERT INTO kpi.indicator (code, name) SELECT 'y.i' || g, 'Other' FROM generate_series(1, 70) g;
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
SELECT kpi.indicator_id('y.i' || g), kpi.scope_id('co.a'), timestamptz '2001-03-01 12:00+00', g
FROM generate_series(1, 70) g;
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
SELECT kpi.indicator_id('x.d'), kpi.scope_id(CASE WHEN g % 3 = 0 THEN 'co.b' ELSE 'co.a' END),
       timestamptz '1700-01-01 12:00+00' + g * interval '1 day', g % 97
FROM generate_series(0, 120000) g;
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value)
SELECT kpi.indicator_id('x.m'), kpi.scope_id('co.b'), timestamptz '2001-01-15 12:00+00' + g * interval '1 month', g
FROM generate_series(0, 11) g;
SELECT 'keys', count(*) FROM kpi.actual;
SELECT 'after the insert', count(*) FROM kpi.verify();
SELECT 'rebuilt', kpi.actual_rebuild();
SELECT 'after the rebuild', count(*) FROM kpi.verify();
SELECT 'kept', kpi.subtree_refresh();
SELECT 'after the refresh', count(*) FROM kpi.verify();
SELECT 'year', (SELECT actual FROM kpi.rollup('2001', 'co') WHERE code = 'x.d'),
       (SELECT sum(value) FROM kpi.measurement
        WHERE indicator_id = kpi.indicator_id('x.d') AND at >= '2001-01-01' AND at < '2002-01-01');
SQL
)
echo "$out" | tr '\n' ' '; echo
grep -qx 'keys|131402' <<<"$out" || fail "expected 131,402 kpi.actual keys"
for step in 'after the insert' 'after the rebuild' 'after the refresh'; do
    grep -qx "$step|0" <<<"$out" || fail "kpi.verify() not empty $step"
done
grep -qx 'rebuilt|131402' <<<"$out" || fail "the rebuild did not write every key"
year=$(sed -n 's/^year|//p' <<<"$out")
[ "${year%%|*}" = "${year##*|}" ] || fail "the company's year $year: rollup and sum differ"
