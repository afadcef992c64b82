#!/usr/bin/env bash
# Package test: kpi installs the way DBAs install extensions.
#   * META.json (PGXN) is valid JSON and names the version of kpi.control,
#     debian/changelog names it too, and the files it points at exist;
#   * make dist writes kpi-X.Y.zip and kpi-X.Y.tar.gz of what git tracks,
#     and the tarball alone builds (nothing it needs is left out);
#   * from that tarball, debian/ builds postgresql-15-kpi with Debian's own
#     tooling (dpkg-buildpackage, pg_buildext); the .deb holds the library,
#     the control file and every script, and once installed with dpkg a
#     fresh database runs CREATE EXTENSION kpi at that version.  The
#     package is removed afterwards and the build of the clone installed
#     again.
# The .deb part needs root and Debian's PostgreSQL 15 (what make test uses
# by default); it installs debhelper and postgresql-server-dev-all with
# apt-get when they are missing.  Elsewhere it is skipped; the rest runs.
# Runs against the cluster test.sh started.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
kpi_find_pg_config
BINDIR=$("$PG_CONFIG" --bindir)
psql_q() { PGOPTIONS="-c client_min_messages=warning" "$BINDIR/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }
work=$(mktemp -d)
db=kpi_package
installed_deb=
cleanup() {
    local rc=$?
    psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
    if [ -n "$installed_deb" ]; then
        dpkg -r "$installed_deb" >/dev/null 2>&1 || true
        kpi_build_install >/dev/null 2>&1 || true
    fi
    rm -rf "$work"
    return $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

version=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$KPI_ROOT/kpi.control")
echo "kpi.control: default_version $version"

# ---------------------------------------------------------------------
# META.json and debian/changelog
# ---------------------------------------------------------------------
meta=$(psql_q -d postgres -At -v meta="$(cat "$KPI_ROOT/META.json")" <<'SQL'
SELECT concat_ws(' ', m->>'version', m->'provides'->'kpi'->>'version', m->'provides'->'kpi'->>'file',
                 m->>'license', m->'meta-spec'->>'version')
FROM (SELECT :'meta'::jsonb AS m) x;
SQL
) || fail "META.json is not valid JSON"
read -r meta_version provides_version provides_file license spec <<<"$meta"
echo "META.json: version $meta_version, provides kpi $provides_version from $provides_file, license $license, meta-spec $spec"
[ "$meta_version" = "$version" ] || fail "META.json says $meta_version, kpi.control $version"
[ "$provides_version" = "$version" ] || fail "META.json provides kpi $provides_version, kpi.control says $version"
[ -f "$KPI_ROOT/$provides_file" ] || fail "META.json points at $provides_file, which does not exist"
deb_version=$(sed -n '1s/^postgresql-kpi (\([^)]*\)).*/\1/p' "$KPI_ROOT/debian/changelog")
echo "debian/changelog: $deb_version"
[ "$deb_version" = "$version" ] || fail "debian/changelog says $deb_version, kpi.control $version"

# ---------------------------------------------------------------------
# make dist, and a build from the tarball alone
# ---------------------------------------------------------------------
if ! git -C "$KPI_ROOT" rev-parse --git-dir >/dev/null 2>&1; then
    echo "not a git checkout: make dist and the package build are skipped"
    exit 0
fi
# the archives are of HEAD: from a copy of the clone, so that the clone
# itself gets no archives
git clone -q "$KPI_ROOT" "$work/clone"
make -s -C "$work/clone" dist >/dev/null
for f in kpi-$version.zip kpi-$version.tar.gz; do
    [ -s "$work/clone/$f" ] || fail "make dist did not write $f"
done
tar -tzf "$work/clone/kpi-$version.tar.gz" > "$work/list"
for f in META.json LICENSE README.md Makefile kpi.control debian/control debian/rules kpi--0.6.sql \
         "kpi--$(ls "$KPI_ROOT" | sed -n "s/^kpi--\([0-9.]*--$version\)\.sql$/\1/p").sql" src/kpi.h; do
    grep -qx "kpi-$version/$f" "$work/list" || fail "kpi-$version.tar.gz lacks $f"
done
if grep -q "^kpi-$version/\.ci/" "$work/list"; then fail "kpi-$version.tar.gz carries .ci/"; fi
echo "make dist: kpi-$version.zip and kpi-$version.tar.gz, $(wc -l < "$work/list") entries"
tar -xzf "$work/clone/kpi-$version.tar.gz" -C "$work"
src="$work/kpi-$version"
make -s -C "$src" PG_CONFIG="$PG_CONFIG" >/dev/null 2>&1 || fail "the tarball does not build"
[ -f "$src/kpi.so" ] || fail "the tarball built no kpi.so"
make -s -C "$src" PG_CONFIG="$PG_CONFIG" clean >/dev/null
echo "the tarball builds"

# ---------------------------------------------------------------------
# The Debian package
# ---------------------------------------------------------------------
if [ "$(id -u)" -ne 0 ] || [ "$PG_CONFIG" != /usr/lib/postgresql/15/bin/pg_config ] || ! command -v dpkg >/dev/null; then
    echo "the .deb needs root and Debian's PostgreSQL 15: skipped"
    exit 77
fi
missing=
for p in debhelper postgresql-server-dev-all; do
    dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
    kpi_log "installing$missing"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing; } >/dev/null ||
        fail "apt-get could not install$missing"
fi
(cd "$src" && dpkg-buildpackage -us -uc -b) > "$work/build.log" 2>&1 || { tail -40 "$work/build.log"; fail "dpkg-buildpackage failed"; }
deb=$(ls "$work"/postgresql-15-kpi_"$version"_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || { ls "$work"; fail "no postgresql-15-kpi_${version}_*.deb was built"; }
dpkg-deb -c "$deb" | awk '{ print $NF }' | sed 's|^\./|/|' > "$work/contents"
for f in /usr/lib/postgresql/15/lib/kpi.so /usr/share/postgresql/15/extension/kpi.control \
         $(cd "$KPI_ROOT" && ls kpi--*.sql | sed 's|^|/usr/share/postgresql/15/extension/|'); do
    grep -qx "$f" "$work/contents" || fail "$(basename "$deb") lacks $f"
done
echo "built $(basename "$deb"): $(dpkg-deb -f "$deb" Depends)"
dpkg -i "$deb" >/dev/null
installed_deb=postgresql-15-kpi
dpkg -L postgresql-15-kpi | grep -qx /usr/lib/postgresql/15/lib/kpi.so || fail "dpkg does not list kpi.so as the package's"
psql_q -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
got=$(psql_q -d $db -At -c "CREATE EXTENSION kpi" \
                        -c "SELECT extversion || ' ' || kpi.attainment(31, '>= 32 from 28') FROM pg_extension WHERE extname = 'kpi'")
echo "installed with dpkg: CREATE EXTENSION kpi -> $got"
[ "$got" = "$version 0.75" ] || fail "expected '$version 0.75', got '$got'"
