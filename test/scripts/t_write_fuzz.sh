#!/usr/bin/env bash
# Fuzz test of every public write path: six pgbench clients run random,
# seeded mixes of
#   kpi.record / kpi.record_ratio (times with and without a zone),
#   multi-row INSERT INTO kpi.measurement (VALUES, INSERT ... SELECT, a
#     CTE with RETURNING), an upsert by id (MERGE), across the bounds of a
#     partition of kpi.measurement, values on and around the
#     midnights of months, quarters, years and ISO weeks in every zone
#     used, ties included,
#   UPDATE of measurements (value, time, scope, indicator, all at once, or
#     nothing that matters), DELETE of measurements, and one statement that
#     deletes measurements and inserts them again elsewhere (a CTE),
#   kpi.set_target, bulk target upserts (INSERT ... ON CONFLICT DO UPDATE),
#     bulk goal updates and DELETE FROM kpi.target,
#   UPDATE kpi.indicator of bands, definition, agg (sum / avg / max, never
#     ratio) and grains ({month,quarter,year} with or without week and day;
#     targets are only ever set at month, quarter and year),
#   the company's zone (kpi.setting time_zone),
#   rarely TRUNCATE kpi.target, and TRUNCATE kpi.measurement with a reload
#     of its rows in the same transaction,
# each script first putting its session into a random TimeZone, DateStyle,
# IntervalStyle, extra_float_digits and search_path (some with a schema
# "hostile" in front of pg_catalog whose look-alike tables, functions and
# operators return wrong answers; the scripts themselves therefore name
# every function and operator with its schema).  Four clients run at
# READ COMMITTED, two at REPEATABLE READ.
#
# Multi-row changes of kpi.measurement and kpi.target lock their rows in one
# order (ids, or (indicator_id, scope_id, period) as docs/operations.md
# advises), so the only deadlocks PostgreSQL could not avoid, those on the
# rows of these tables themselves, cannot happen.  pgbench runs with
# --max-tries=1 so that every deadlock (40P01) and serialization failure
# (40001) is counted as a failure of its kind instead of hidden in a retry.
#
# Fails on: any deadlock; any serialization failure in a READ COMMITTED
# session but those PostgreSQL raises when a concurrent statement moved the
# row to another partition (reported; docs/operations.md says so), and
# REPEATABLE READ ones are reported too (docs/operations.md promises them,
# and a retry, there); any other error (pgbench aborts the client);
# kpi.verify() not empty after the mix, and again after a final TRUNCATE
# kpi.measurement with a reload.  Runs against the cluster test.sh started.
# KPI_FUZZ_SEED and KPI_FUZZ_SECONDS override the seed (default 20260731)
# and the duration (default 8).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
[ -x "$BINDIR/pgbench" ] || { echo "t_write_fuzz: skip: no pgbench in $BINDIR"; exit 77; }

DB=kpi_write_fuzz
SEED=${KPI_FUZZ_SEED:-20260731}
SECONDS_RUN=${KPI_FUZZ_SECONDS:-8}
RC_CLIENTS=4     # READ COMMITTED sessions
RR_CLIENTS=2     # REPEATABLE READ sessions

fail() { printf 't_write_fuzz: %s\n' "$*" >&2; exit 1; }
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

work=$(mktemp -d /tmp/kpi-write-fuzz.XXXXXX)
db_made=0
cleanup() {
    local rc=$?
    local p
    for p in ${bench_pids:-}; do kill "$p" 2>/dev/null || true; done
    [ "$db_made" = 1 ] && psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
    rm -rf "$work"
    return $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

psql_q -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" -c "CREATE DATABASE $DB"
db_made=1

# The company: five scopes in a tree, four additive-style indicators whose
# agg the fuzz changes and one ratio, alert rules on two of them, targets,
# a few hundred measurements around period boundaries, and the hostile
# schema.
psql_q -d $DB >/dev/null <<'SQL'
CREATE EXTENSION kpi;
INSERT INTO kpi.setting (name, value) VALUES ('time_zone', 'Asia/Shanghai');
-- a partition whose bounds the random times cross (0.11): updates, upserts
-- and the delete-and-insert CTE move rows between it and the default one
SELECT kpi.measurement_partition('measurement_q3', '2026-07-01 00:00+00', '2026-10-01 00:00+00');
INSERT INTO kpi.scope (code, name) VALUES ('hq', '集团');
INSERT INTO kpi.scope (code, name, parent_id) VALUES
    ('hq.east', '华东', kpi.scope_id('hq')), ('hq.south', '华南', kpi.scope_id('hq'));
INSERT INTO kpi.scope (code, name, parent_id) VALUES
    ('hq.east.sh', '上海', kpi.scope_id('hq.east')), ('hq.south.gz', '广州', kpi.scope_id('hq.south'));
INSERT INTO kpi.indicator (code, name, agg, grains, owner) VALUES
    ('f.rev', '收入', 'sum', '{month,quarter,year}', 'alice'),
    ('f.cost', '成本', 'sum', '{week,month,quarter,year}', 'bob'),
    ('f.csat', '满意度', 'avg', '{month,quarter,year}', 'carol'),
    ('f.peak', '峰值', 'max', '{day,week,month,quarter,year}', 'dave'),
    ('f.margin', '毛利率', 'ratio', '{month,quarter,year}', 'erin');
INSERT INTO kpi.alert_rule (indicator_id, recovery_margin) VALUES
    (kpi.indicator_id('f.rev'), 0.05), (kpi.indicator_id('f.margin'), 0);
INSERT INTO kpi.alert_rule (indicator_id, scope_id, min_breaches) VALUES
    (kpi.indicator_id('f.peak'), kpi.scope_id('hq.east.sh'), 2);
INSERT INTO kpi.target (indicator_id, scope_id, period, goal)
SELECT i.id, s.id, p.p::kpi.period, ('>= ' || (50 + 10 * s.id + i.id))::kpi.goal
FROM kpi.indicator i, kpi.scope s, (VALUES ('2026-07'), ('2026-08'), ('2026-Q3'), ('2026')) p(p)
ORDER BY i.id, s.id, p.p::kpi.period;
SELECT pg_catalog.setseed(0.2026);
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator, source)
SELECT i.id, s.id,
       b.b::timestamptz + (pg_catalog.random() * 30 - 15) * interval '1 hour',
       pg_catalog.round((pg_catalog.random() * 1000)::numeric, 2),
       CASE WHEN i.agg = 'ratio' THEN pg_catalog.round((pg_catalog.random() * 1000)::numeric, 2) + 1000 END,
       'setup'
FROM kpi.indicator i, kpi.scope s,
     (VALUES ('2026-07-01 00:00+00'), ('2026-08-01 00:00+00'), ('2026-10-01 00:00+00'),
             ('2027-01-01 00:00+00'), ('2026-07-06 00:00+00'), ('2026-12-28 00:00+00')) b(b),
     pg_catalog.generate_series(1, 2) g;

-- Look-alikes that would change the results if anything of kpi resolved a
-- name through the session's search_path.
CREATE SCHEMA hostile;
CREATE TABLE hostile.measurement (LIKE kpi.measurement);
CREATE TABLE hostile.actual (LIKE kpi.actual);
CREATE TABLE hostile.target (LIKE kpi.target);
CREATE TABLE hostile.indicator (LIKE kpi.indicator);
CREATE TABLE hostile.scope (LIKE kpi.scope);
CREATE TABLE hostile.setting (name text, value text);
INSERT INTO hostile.setting VALUES ('time_zone', 'Pacific/Kiritimati');
CREATE FUNCTION hostile.now() RETURNS timestamptz LANGUAGE sql
    AS $$ SELECT timestamptz '1999-12-31 23:59:59+00' $$;
CREATE FUNCTION hostile.time_zone() RETURNS text LANGUAGE sql AS $$ SELECT 'Pacific/Kiritimati'::text $$;
CREATE FUNCTION hostile.current_setting(text) RETURNS text LANGUAGE sql AS $$ SELECT 'Pacific/Kiritimati'::text $$;
CREATE FUNCTION hostile.indicator_id(text) RETURNS bigint LANGUAGE sql AS $$ SELECT -1::bigint $$;
CREATE FUNCTION hostile.scope_id(text) RETURNS bigint LANGUAGE sql AS $$ SELECT -1::bigint $$;
CREATE FUNCTION hostile.period(timestamptz, text) RETURNS kpi.period LANGUAGE sql
    AS $$ SELECT kpi.period(date '2000-01-01', $2) $$;
CREATE FUNCTION hostile.period(timestamptz, text, text) RETURNS kpi.period LANGUAGE sql
    AS $$ SELECT kpi.period(date '2000-01-01', $2) $$;
CREATE FUNCTION hostile.unnest(anyarray) RETURNS SETOF anyelement LANGUAGE sql
    AS $$ SELECT $1[1] LIMIT 0 $$;
CREATE FUNCTION hostile.first_only(kpi.tally, kpi.tally) RETURNS kpi.tally LANGUAGE sql AS $$ SELECT $1 $$;
CREATE OPERATOR hostile.= (LEFTARG = bigint, RIGHTARG = bigint, FUNCTION = pg_catalog.int8ne);
CREATE OPERATOR hostile.= (LEFTARG = text, RIGHTARG = text, FUNCTION = pg_catalog.textne);
CREATE OPERATOR hostile.= (LEFTARG = kpi.period, RIGHTARG = kpi.period, FUNCTION = kpi.period_ne);
CREATE OPERATOR hostile.+ (LEFTARG = kpi.tally, RIGHTARG = kpi.tally, FUNCTION = hostile.first_only);
SQL
[ "$(psql_q -At -d $DB -c "SELECT count(*) FROM kpi.evaluate()" -c "SELECT count(*) FROM kpi.verify()" | tail -1)" = 0 ] ||
    { psql_q -d $DB -c "SELECT * FROM kpi.verify() LIMIT 20" >&2; fail "kpi.verify() not empty after the set-up"; }

# The session settings every script starts with (its own transaction): a
# zone, a date and interval style, float digits, a search_path and the seed
# of the server's random() for what follows.
prelude=$(cat <<'SQL'
\set z random(1, 8)
\set ds random(1, 4)
\set sp random(1, 5)
\set fd random(-15, 3)
\set sd random(1, 1000000)
SELECT pg_catalog.set_config('TimeZone', (ARRAY['UTC', 'Asia/Shanghai', 'America/New_York', 'Pacific/Chatham', 'Asia/Kolkata',
                                               'Pacific/Kiritimati', 'America/St_Johns', 'Pacific/Pago_Pago'])[:z], false),
       pg_catalog.set_config('DateStyle', (ARRAY['ISO, YMD', 'SQL, DMY', 'German', 'Postgres, MDY'])[:ds], false),
       pg_catalog.set_config('IntervalStyle', (ARRAY['postgres', 'iso_8601', 'sql_standard', 'postgres_verbose'])[:ds], false),
       pg_catalog.set_config('extra_float_digits', (:fd)::text, false),
       pg_catalog.set_config('search_path', (ARRAY['public', 'hostile, pg_catalog, kpi, public', 'kpi, hostile, public',
                                                    '"$user", hostile', 'hostile, kpi, pg_catalog'])[:sp], false),
       pg_catalog.setseed(:sd / 1000001.0);
SQL
)

# The instants values are recorded around: UTC midnights starting a month,
# a quarter, a year or an ISO week (a value up to 15 hours either side is on
# the other side of midnight in some zone), and 2026-07-31 16:30 UTC, which
# is 1 August in Shanghai.
instants="ARRAY['2026-07-01 00:00:00+00', '2026-08-01 00:00:00+00', '2026-10-01 00:00:00+00', '2027-01-01 00:00:00+00', '2026-07-06 00:00:00+00', '2026-12-28 00:00:00+00', '2026-09-28 00:00:00+00', '2026-07-31 16:30:00+00']"
inds4="ARRAY['f.rev', 'f.cost', 'f.csat', 'f.peak']"
inds5="ARRAY['f.rev', 'f.cost', 'f.csat', 'f.peak', 'f.margin']"
scopes="ARRAY['hq', 'hq.east', 'hq.south', 'hq.east.sh', 'hq.south.gz']"

# record.sql: one value through the API functions.
{ printf '%s\n' "$prelude"; cat <<SQL; } >"$work/record.sql"
\set op random(1, 10)
\set i random(1, 4)
\set s random(1, 5)
\set b random(1, 8)
\set off random(-54000000000, 54000000000)
\set v random(-50000, 1000000)
\set den random(1, 200000)
\if :op <= 5
SELECT kpi.record(($inds4)[:i], ($scopes)[:s], :v / 100.0,
                  ($instants)[:b]::timestamptz + (:off) * interval '1 microsecond');
\elif :op <= 7
-- a time without zone: the session's zone decides the instant
SELECT kpi.record(($inds4)[:i], ($scopes)[:s], :v / 100.0,
                  (timestamp '2026-07-31 00:00:00' + (:off) * interval '1 microsecond')::timestamptz, 'local time');
\else
SELECT kpi.record_ratio('f.margin', ($scopes)[:s], :v / 100.0, :den / 100.0,
                        ($instants)[:b]::timestamptz + (:off) * interval '1 microsecond');
\endif
SQL

# insert.sql: several rows in one statement.
{ printf '%s\n' "$prelude"; cat <<SQL; } >"$work/insert.sql"
\set op random(1, 11)
\set n random(2, 12)
\set s random(1, 5)
\set v random(-50000, 1000000)
\set r random(0, 999)
\if :op <= 5
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator, source)
SELECT i.id, sc.id, x.at, x.v, CASE WHEN i.code OPERATOR(pg_catalog.=) 'f.margin' THEN x.d END, 'fuzz'
FROM (SELECT ($inds5)[1 + pg_catalog.floor(pg_catalog.random() * 5)::int] AS ic,
             ($scopes)[1 + pg_catalog.floor(pg_catalog.random() * 5)::int] AS sc,
             ($instants)[1 + pg_catalog.floor(pg_catalog.random() * 8)::int]::timestamptz
                 + pg_catalog.floor((pg_catalog.random() * 30 - 15) * 3600e6) * interval '1 microsecond' AS at,
             pg_catalog.round((pg_catalog.random() * 10000 - 500)::numeric, 2) AS v,
             pg_catalog.round((pg_catalog.random() * 10000 + 1)::numeric, 2) AS d
      FROM pg_catalog.generate_series(1, :n) g) x
JOIN kpi.indicator i ON i.code OPERATOR(pg_catalog.=) x.ic
JOIN kpi.scope sc ON sc.code OPERATOR(pg_catalog.=) x.sc;
\elif :op <= 7
-- VALUES on both sides of midnight in Shanghai and UTC, with a tie
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator) VALUES
    (kpi.indicator_id('f.rev'), kpi.scope_id(($scopes)[:s]), '2026-07-31 16:30:00+00', :v / 100.0, NULL),
    (kpi.indicator_id('f.rev'), kpi.scope_id(($scopes)[:s]), '2026-07-31 16:30:00+00', :v / 50.0, NULL),
    (kpi.indicator_id('f.cost'), kpi.scope_id(($scopes)[:s]), '2026-07-31 15:59:59.999999+00', :v / 100.0, NULL),
    (kpi.indicator_id('f.peak'), kpi.scope_id(($scopes)[:s]), '2026-09-30 16:00:00+00', :v / 100.0, NULL),
    (kpi.indicator_id('f.csat'), kpi.scope_id(($scopes)[:s]), '2026-12-31 23:59:59.999999+00', :v / 100.0, NULL),
    (kpi.indicator_id('f.margin'), kpi.scope_id(($scopes)[:s]), '2026-06-30 16:00:00+00', :v / 100.0, 1000);
\elif :op <= 9
-- copies of a few rows one day later
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator, source)
SELECT m.indicator_id, m.scope_id, m.at + interval '1 day' + pg_catalog.floor(pg_catalog.random() * 1e6) * interval '1 microsecond',
       m.value, m.denominator, 'copy'
FROM kpi.measurement m
WHERE m.id >= (SELECT pg_catalog.max(x.id) FROM kpi.measurement x) * :r / 1000
ORDER BY m.id LIMIT :n;
\elif :op <= 10
-- upsert by id (MERGE: kpi.measurement is partitioned, 0.11): some rows
-- exist (a new value and time, moving some to another partition), some are
-- new; the existing ones locked in id order first
WITH old AS MATERIALIZED (
    SELECT m.id, m.indicator_id, m.scope_id,
           m.at + pg_catalog.floor((pg_catalog.random() - 0.5) * 7200e6) * interval '1 microsecond' AS at,
           m.value + 1 AS value, m.denominator
    FROM kpi.measurement m
    WHERE m.id >= (SELECT pg_catalog.max(x.id) FROM kpi.measurement x) * :r / 1000
    ORDER BY m.id LIMIT :n / 2 FOR UPDATE)
MERGE INTO kpi.measurement AS m
USING (SELECT * FROM old
       UNION ALL
       SELECT pg_catalog.nextval('kpi.measurement_id_seq'), kpi.indicator_id(($inds4)[1 + g % 4]),
              kpi.scope_id(($scopes)[1 + (g + :s) % 5]),
              ($instants)[1 + (g * 3 + :s) % 8]::timestamptz + (:v - g) * interval '1 second', :v / 100.0, NULL
       FROM pg_catalog.generate_series(1, :n / 2) g) x
ON m.id OPERATOR(pg_catalog.=) x.id
WHEN MATCHED THEN UPDATE SET value = x.value, at = x.at
WHEN NOT MATCHED THEN INSERT (id, indicator_id, scope_id, at, value, denominator, source)
    VALUES (x.id, x.indicator_id, x.scope_id, x.at, x.value, x.denominator, 'upsert');
\else
WITH m AS (INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, source)
           SELECT kpi.indicator_id(($inds4)[1 + g % 4]), kpi.scope_id(($scopes)[1 + (g * 7 + :s) % 5]),
                  ($instants)[1 + (g + :s) % 8]::timestamptz + (g - 3) * interval '1 hour', :v / 100.0 + g, 'cte'
           FROM pg_catalog.generate_series(1, :n) g
           RETURNING id)
SELECT pg_catalog.count(*) FROM m;
\endif
SQL

# update.sql: change up to three measurements, locked in id order.
pick='WITH pick AS (SELECT m.id FROM kpi.measurement m
              WHERE m.id >= (SELECT pg_catalog.max(x.id) FROM kpi.measurement x) * :r / 1000
              ORDER BY m.id LIMIT :k FOR UPDATE)'
{ printf '%s\n' "$prelude"; cat <<SQL; } >"$work/update.sql"
\set op random(1, 13)
\set r random(0, 999)
\set k random(1, 3)
\set i random(1, 4)
\set s random(1, 5)
\set b random(1, 8)
\set off random(-54000000000, 54000000000)
\set v random(-50000, 1000000)
\if :op <= 3
$pick
UPDATE kpi.measurement m SET value = m.value / 2 + :v / 100.0 FROM pick WHERE m.id OPERATOR(pg_catalog.=) pick.id;
\elif :op <= 6
$pick
UPDATE kpi.measurement m SET at = ($instants)[:b]::timestamptz + (:off) * interval '1 microsecond'
FROM pick WHERE m.id OPERATOR(pg_catalog.=) pick.id;
\elif :op <= 8
$pick
UPDATE kpi.measurement m SET scope_id = kpi.scope_id(($scopes)[:s]) FROM pick WHERE m.id OPERATOR(pg_catalog.=) pick.id;
\elif :op <= 9
-- to another non-ratio indicator (a row with a denominator keeps it)
$pick
UPDATE kpi.measurement m SET indicator_id = kpi.indicator_id(($inds4)[:i]) FROM pick WHERE m.id OPERATOR(pg_catalog.=) pick.id;
\elif :op <= 11
$pick
UPDATE kpi.measurement m
SET value = :v / 100.0, scope_id = kpi.scope_id(($scopes)[:s]),
    at = (timestamp '2026-08-01 00:00:00' + (:off) * interval '1 microsecond')::timestamptz
FROM pick WHERE m.id OPERATOR(pg_catalog.=) pick.id;
\elif :op <= 12
-- one statement deletes rows and inserts them again, moved to another scope and an hour later
$pick,
d AS (DELETE FROM kpi.measurement m USING pick WHERE m.id OPERATOR(pg_catalog.=) pick.id RETURNING m.*)
INSERT INTO kpi.measurement (indicator_id, scope_id, at, value, denominator, note, source)
SELECT d.indicator_id, kpi.scope_id(($scopes)[:s]), d.at + interval '1 hour', d.value, d.denominator, 'moved', d.source FROM d;
\else
-- nothing that decides a tally changes
$pick
UPDATE kpi.measurement m SET note = 'checked', value = m.value FROM pick WHERE m.id OPERATOR(pg_catalog.=) pick.id;
\endif
SQL

# delete.sql: delete up to three measurements, locked in id order.
{ printf '%s\n' "$prelude"; cat <<SQL; } >"$work/delete.sql"
\set r random(0, 999)
\set k random(1, 3)
$pick
DELETE FROM kpi.measurement m USING pick WHERE m.id OPERATOR(pg_catalog.=) pick.id;
SQL

# target.sql: one target, or many in (indicator_id, scope_id, period) order.
periods="ARRAY['2026-07', '2026-08', '2026-09', '2026-12', '2026-Q3', '2026-Q4', '2026']"
goal="(ARRAY['>= ' || :g, '<= ' || :g, :g || ' .. ' || (:g * 2), '>= ' || :g || ' from ' || (:g / 2)])[:gk]::kpi.goal"
{ printf '%s\n' "$prelude"; cat <<SQL; } >"$work/target.sql"
\set op random(1, 10)
\set i random(1, 5)
\set s random(1, 5)
\set p random(1, 7)
\set g random(1, 5000)
\set gk random(1, 4)
\if :op <= 3
SELECT kpi.set_target(($inds5)[:i], ($scopes)[:s], ($periods)[:p]::kpi.period, $goal);
\elif :op <= 6
INSERT INTO kpi.target AS t (indicator_id, scope_id, period, goal, note)
SELECT i.id, s.id, p.p::kpi.period, ('>= ' || pg_catalog.round((pg_catalog.random() * 1000)::numeric, 2))::kpi.goal, 'bulk'
FROM kpi.indicator i, kpi.scope s, pg_catalog.unnest($periods) p(p)
WHERE pg_catalog.random() < 0.2
ORDER BY i.id, s.id, p.p::kpi.period
ON CONFLICT (indicator_id, scope_id, period) DO UPDATE SET goal = excluded.goal, note = excluded.note;
\elif :op <= 8
DELETE FROM kpi.target t
USING (SELECT x.id FROM kpi.target x WHERE pg_catalog.random() < 0.1
       ORDER BY x.indicator_id, x.scope_id, x.period FOR UPDATE) d
WHERE t.id OPERATOR(pg_catalog.=) d.id;
\else
UPDATE kpi.target t SET goal = $goal, note = 'regoal'
FROM (SELECT x.id FROM kpi.target x WHERE pg_catalog.random() < 0.2
      ORDER BY x.indicator_id, x.scope_id, x.period FOR UPDATE) d
WHERE t.id OPERATOR(pg_catalog.=) d.id;
\endif
SQL

# dictionary.sql: one indicator's bands, definition, agg or grains, or the
# company's zone.
{ printf '%s\n' "$prelude"; cat <<SQL; } >"$work/dictionary.sql"
\set op random(1, 14)
\set i random(1, 5)
\set i4 random(1, 4)
\set bk random(1, 4)
\set a random(1, 3)
\set gr random(1, 3)
\set z2 random(1, 6)
\set d random(1, 1000)
\if :op <= 4
UPDATE kpi.indicator
SET bands = (ARRAY['amber 0.8, green 1', 'amber 0.9, green 0.98, blue 1.1', 'amber 0.5, green 0.7, blue 0.9',
                   'amber 0.95, green 0.99, blue 1.03'])[:bk]::kpi.bands
WHERE code OPERATOR(pg_catalog.=) ($inds5)[:i];
\elif :op <= 5
UPDATE kpi.indicator SET definition = 'v' || :d WHERE code OPERATOR(pg_catalog.=) ($inds5)[:i];
\elif :op <= 8
UPDATE kpi.indicator SET agg = (ARRAY['sum', 'avg', 'max'])[:a]::kpi.agg_kind
WHERE code OPERATOR(pg_catalog.=) ($inds4)[:i4];
\elif :op <= 11
UPDATE kpi.indicator
SET grains = (ARRAY['{month,quarter,year}', '{week,month,quarter,year}', '{day,week,month,quarter,year}'])[:gr]::text[]
WHERE code OPERATOR(pg_catalog.=) ($inds5)[:i];
\elif :op <= 12
UPDATE kpi.indicator
SET agg = (ARRAY['sum', 'avg', 'max'])[:a]::kpi.agg_kind,
    bands = (ARRAY['amber 0.8, green 1', 'amber 0.6, green 0.9'])[1 + :bk % 2]::kpi.bands
WHERE code OPERATOR(pg_catalog.=) ($inds4)[:i4];
\else
UPDATE kpi.setting
SET value = (ARRAY['UTC', 'Asia/Shanghai', 'America/New_York', 'Pacific/Chatham', 'Asia/Kolkata', 'Pacific/Kiritimati'])[:z2]
WHERE name OPERATOR(pg_catalog.=) 'time_zone';
\endif
SQL

# truncate.sql: rarely, TRUNCATE kpi.target, or TRUNCATE kpi.measurement and
# load its rows back in the same transaction (the table is locked first, so
# two of these cannot deadlock upgrading their locks).
{ printf '%s\n' "$prelude"; cat <<'SQL'; } >"$work/truncate.sql"
\set op random(1, 3)
\if :op = 1
TRUNCATE kpi.target;
\else
BEGIN;
LOCK TABLE kpi.measurement IN ACCESS EXCLUSIVE MODE;
CREATE TEMP TABLE keep ON COMMIT DROP AS SELECT * FROM kpi.measurement;
TRUNCATE kpi.measurement;
INSERT INTO kpi.measurement SELECT * FROM keep;
COMMIT;
\endif
SQL

scripts="-f record.sql@6 -f insert.sql@5 -f update.sql@4 -f delete.sql@2 -f target.sql@4 -f dictionary.sql@2 -f truncate.sql@1"

# run_bench NAME CLIENTS ISOLATION SEED: one pgbench (run in the background)
run_bench() {
    cd "$work" && PGOPTIONS="-c default_transaction_isolation=$3" exec "$BINDIR/pgbench" -n \
        -c "$2" -j "$2" -T "$SECONDS_RUN" --random-seed="$4" --max-tries=1 --failures-detailed \
        --verbose-errors $scripts $DB >"$1.log" 2>&1
}
run_bench rc $RC_CLIENTS 'read\ committed' "$SEED" &
pid_rc=$!
run_bench rr $RR_CLIENTS 'repeatable\ read' "$((SEED + 1))" &
pid_rr=$!
bench_pids="$pid_rc $pid_rr"
rc_rc=0; rc_rr=0
wait $pid_rc || rc_rc=$?
wait $pid_rr || rc_rr=$?
bench_pids=""

# bench_stat RUN PATTERN: the first number after a line prefix of pgbench's summary
bench_stat() { local v; v=$(sed -n "s/^$2: \([0-9]*\).*/\1/p" "$work/$1.log" | head -1); echo "${v:-0}"; }
# bench_errors: the errors pgbench reported, counted by isolation, script and message
bench_errors() {
    local run
    for run in rc rr; do
        sed -n "s/^pgbench: .* of script \([0-9]*\); ERROR: *\(.*\)$/$run \1 \2/p" "$work/$run.log"
    done | awk '{ split("record insert update delete target dictionary truncate", name, " ")
                  key = ($1 == "rc" ? "read committed" : "repeatable read") ", " name[$2 + 1] ".sql: "
                  $1 = ""; $2 = ""; sub(/^ +/, ""); n[key $0]++ }
                END { for (k in n) printf "%7d  %s\n", n[k], k }' | sort -rn
}

for run in rc rr; do
    eval "code=\$rc_$run"
    if [ "$code" != 0 ] || grep -q 'aborted' "$work/$run.log"; then
        grep -E 'aborted|error' "$work/$run.log" | head -20 >&2
        fail "pgbench ($run) exited with $code or aborted a client: an error other than a deadlock or a serialization failure (scripts: 0 record, 1 insert, 2 update, 3 delete, 4 target, 5 dictionary, 6 truncate)"
    fi
done

txns=$(( $(bench_stat rc 'number of transactions actually processed') + $(bench_stat rr 'number of transactions actually processed') ))
deadlocks=$(( $(bench_stat rc 'number of deadlock failures') + $(bench_stat rr 'number of deadlock failures') ))
# a failure in the last moment may be left out of pgbench's summary: count its messages too
dl_msgs=$(cat "$work/rc.log" "$work/rr.log" | grep -c '^pgbench: .*ERROR: *deadlock detected' || true)
[ "$dl_msgs" -le "$deadlocks" ] || deadlocks=$dl_msgs
sf_rc=$(bench_stat rc 'number of serialization failures')
sf_msgs=$(grep -c '^pgbench: .*ERROR: *could not serialize' "$work/rc.log" || true)
[ "$sf_msgs" -le "$sf_rc" ] || sf_rc=$sf_msgs
sf_rr=$(bench_stat rr 'number of serialization failures')
# PostgreSQL's rule for partitioned tables: a READ COMMITTED writer whose
# row a concurrent statement moved to another partition gets 40001 (it
# cannot follow the row); reported, and not a failure of kpi's
sf_moved=$(grep -c '^pgbench: .*ERROR: *tuple to be [a-z]* was already moved to another partition' "$work/rc.log" || true)
[ "$sf_moved" -le "$sf_rc" ] || sf_moved=$sf_rc

verify_count() { psql_q -At -d $DB -c "SELECT count(*) FROM kpi.evaluate()" -c "SELECT count(*) FROM kpi.verify()" | tail -1; }
verify_show() {
    psql_q -d $DB -c "SELECT problem, count(*) FROM kpi.verify() GROUP BY 1 ORDER BY 1" \
        -c "SELECT problem, indicator, scope, period, detail
            FROM (SELECT v.*, row_number() OVER (PARTITION BY v.problem ORDER BY v.indicator, v.scope, v.period) AS n
                  FROM kpi.verify() v) x
            WHERE n <= 5 ORDER BY problem, n LIMIT 20" >&2 || true
}
v_mix=$(verify_count) || fail "kpi.verify() failed after the mix"
[ "$v_mix" = 0 ] || verify_show
# then a last TRUNCATE and reload, alone
psql_q -d $DB <<'SQL'
BEGIN;
CREATE TEMP TABLE keep ON COMMIT DROP AS SELECT * FROM kpi.measurement;
TRUNCATE kpi.measurement;
INSERT INTO kpi.measurement SELECT * FROM keep;
COMMIT;
SQL
v_reload=$(verify_count) || fail "kpi.verify() failed after TRUNCATE and reload"
[ "$v_reload" = 0 ] || [ "$v_mix" != 0 ] || verify_show
counts=$(psql_q -At -d $DB -c "SELECT (SELECT count(*) FROM kpi.measurement) || ' measurements, ' ||
                                      (SELECT count(*) FROM kpi.target) || ' targets, ' ||
                                      (SELECT count(*) FROM kpi.actual) || ' actual rows, ' ||
                                      (SELECT count(*) FROM kpi.alert) || ' alerts'")
if [ "$deadlocks" != 0 ] || [ "$sf_rc" != "$sf_moved" ]; then
    echo "errors of pgbench's clients (count, isolation, script: message):" >&2
    bench_errors >&2
fi

echo "t_write_fuzz: $txns transactions in ${SECONDS_RUN} s from $((RC_CLIENTS + RR_CLIENTS)) clients ($RC_CLIENTS read committed, $RR_CLIENTS repeatable read), seed $SEED, $counts; deadlocks: $deadlocks; serialization failures: $sf_rc read committed ($sf_moved of a row moved to another partition), $sf_rr repeatable read; kpi.verify(): $v_mix rows after the mix, $v_reload after TRUNCATE and reload"

problems=""
[ "$deadlocks" = 0 ] || problems="$problems; $deadlocks deadlocks between the public write paths"
[ "$sf_rc" = "$sf_moved" ] || problems="$problems; $((sf_rc - sf_moved)) serialization failures under READ COMMITTED"
[ "$v_mix" = 0 ] || problems="$problems; kpi.verify() reports $v_mix problems after the mix"
[ "$v_reload" = 0 ] || problems="$problems; kpi.verify() reports $v_reload problems after TRUNCATE and reload"
[ -z "$problems" ] || fail "${problems#; }"
