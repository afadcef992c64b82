#!/usr/bin/env bash
# pgsrc.sh MAJOR [cassert]: build PostgreSQL MAJOR from Debian's own source
# package into a cache directory outside the clone, once, and print the path
# of its pg_config.  Later calls reuse the build.
#
# Debian 12 packages only PostgreSQL 15.  Newer majors come as source
# packages of newer Debian distributions; they are downloaded with
# `apt-get source` through a private apt configuration under the cache
# directory, so the machine's own apt sources are never changed.  The build
# has what the suites need: the server, contrib's pg_trgm, pg_regress,
# isolationtester and pg_cron (also from Debian's source package).
#
# With "cassert" the server is built with assertions and valgrind
# annotations (--enable-cassert, -DUSE_VALGRIND), for `make reliability`.
#
# KPI_PG_CACHE sets the cache directory (default /var/cache/kpi-pg as root,
# ~/.cache/kpi-pg otherwise).  Progress goes to stderr, the path to stdout.
set -euo pipefail
# Called from make (make test-pg18): PostgreSQL's build makes its generated
# headers only when it is the top-level make, so forget the caller's.
unset MAKEFLAGS MFLAGS MAKELEVEL MAKEOVERRIDES

major=${1:?usage: pgsrc.sh MAJOR [cassert]}
flavor=${2:-}
case "$major" in
    15) suites="bookworm" ;;
    16) echo "pgsrc: no current Debian distribution has a PostgreSQL 16 source package;" \
             "build 16 from its source tree and run make test PG_CONFIG=<its pg_config>" >&2
        exit 1 ;;
    17) suites="trixie forky sid" ;;   # may be missing from the mirror
    *)  suites="forky sid" ;;
esac
case "$flavor" in
    "") name=$major ;;
    cassert) name=$major-cassert ;;
    *) echo "pgsrc: unknown flavor \"$flavor\" (cassert or nothing)" >&2; exit 1 ;;
esac

if [ "$(id -u)" -eq 0 ]; then
    cache=${KPI_PG_CACHE:-/var/cache/kpi-pg}
else
    cache=${KPI_PG_CACHE:-$HOME/.cache/kpi-pg}
fi
dir=$cache/$name
inst=$dir/inst
log() { printf '== pgsrc %s: %s\n' "$name" "$*" >&2; }

# one build of a major at a time: a second caller waits for the first
mkdir -p "$cache"
exec 9>"$cache/$name.lock"
flock 9

if [ -f "$dir/done" ]; then
    echo "$inst/bin/pg_config"
    exit 0
fi

# Build tools from the machine's own distribution.
deps="build-essential dpkg-dev bison flex perl pkg-config libreadline-dev zlib1g-dev libicu-dev"
[ "$flavor" = cassert ] && deps="$deps valgrind"
missing=""
for p in $deps; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    [ "$(id -u)" -eq 0 ] || { echo "pgsrc: missing packages:$missing (apt-get install them as root)" >&2; exit 1; }
    log "installing$missing"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
        { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive \
          apt-get install -y -qq --no-install-recommends $missing >/dev/null; }
fi

rm -rf "$dir"
mkdir -p "$dir/apt/lists/partial" "$dir/apt/cache/archives/partial" "$dir/apt/sources.list.d" \
         "$dir/apt/preferences.d" "$dir/src"
# the machine's own Debian mirror, as its apt configuration names it
mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -v security | head -1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) {print $i; exit}}' \
                                 /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { echo "pgsrc: no Debian mirror found in the apt configuration" >&2; exit 1; }
: >"$dir/apt/sources.list"
for s in $suites; do
    echo "deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $s main" \
        >>"$dir/apt/sources.list"
done
apt_opts=(-o Dir::Etc::sourcelist="$dir/apt/sources.list"
          -o Dir::Etc::sourceparts="$dir/apt/sources.list.d"
          -o Dir::Etc::preferencesparts="$dir/apt/preferences.d"
          -o Dir::State::Lists="$dir/apt/lists"
          -o Dir::Cache="$dir/apt/cache"
          -o APT::Sandbox::User=root)
log "reading Debian's source index ($suites)"
apt-get "${apt_opts[@]}" -qq update >/dev/null

# fetch_source PACKAGE: download the newest source of PACKAGE in the
# configured suites and unpack it WITHOUT Debian's patches: they hard-wire
# Debian's install paths (/usr/lib/postgresql/MAJOR/...), and a build from
# them would overwrite the machine's own PostgreSQL whatever --prefix says.
# Prints the unpacked directory; fails quietly.
fetch_source() {
    local dsc out="$dir/src/$1"
    (cd "$dir/src" && apt-get "${apt_opts[@]}" -qq --download-only source "$1" >"$dir/source-$1.log" 2>&1) ||
        return 1
    dsc=$(find "$dir/src" -maxdepth 1 -name "${1}_*.dsc" | sort | tail -1)
    [ -n "$dsc" ] || return 1
    dpkg-source --skip-patches -x "$dsc" "$out" >>"$dir/source-$1.log" 2>&1 || return 1
    echo "$out"
}

log "downloading postgresql-$major"
pgsrc=$(fetch_source "postgresql-$major") ||
    { tail -5 "$dir/source-postgresql-$major.log" >&2; exit 1; }
cd "$pgsrc"
cflags="-O2"
conf=(--prefix="$inst" --without-llvm --with-icu --without-systemd)
if [ "$flavor" = cassert ]; then
    cflags="-O1 -g -DUSE_VALGRIND"
    conf+=(--enable-cassert --enable-debug)
fi
log "configuring"
./configure "${conf[@]}" CFLAGS="$cflags" >"$dir/configure.log" 2>&1 ||
    { tail -20 "$dir/configure.log" >&2; exit 1; }
jobs=$(nproc 2>/dev/null || echo 2)
log "building (make -j$jobs; a few minutes)"
# Install into a staging directory first (DESTDIR), and refuse the build if
# anything would land outside the cache: the machine's own PostgreSQL must
# never be overwritten.
stage=$dir/stage
{ make -j"$jobs" && make install DESTDIR="$stage" &&
  make -C src/test/isolation -j"$jobs" && make -C src/test/isolation install DESTDIR="$stage" &&
  make -C contrib/pg_trgm install DESTDIR="$stage"; } >"$dir/build.log" 2>&1 ||
    { tail -30 "$dir/build.log" >&2; exit 1; }
outside=$(cd "$stage" && find . -type f | { grep -v "^\.$inst/" || true; } | head -3)
if [ -n "$outside" ]; then
    echo "pgsrc: the build would install outside $inst (e.g. ${outside#.}); refusing" >&2
    exit 1
fi
mv "$stage$inst" "$inst"
rm -rf "$stage"

log "building pg_cron"
if cronsrc=$(fetch_source pg-cron) &&
   { make -C "$cronsrc" PG_CONFIG="$inst/bin/pg_config" -j"$jobs" &&
     make -C "$cronsrc" PG_CONFIG="$inst/bin/pg_config" install; } >"$dir/cron.log" 2>&1; then
    :
else
    log "no pg_cron (its source package could not be had or built): its test will be skipped"
fi

rm -rf "$dir/src"               # the sources are not needed once installed
chmod -R a+rX "$dir"            # the postgres user runs the server from here
touch "$dir/done"
log "installed in $inst"
echo "$inst/bin/pg_config"
