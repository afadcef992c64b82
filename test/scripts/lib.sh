# Shared shell helpers for make test / demo / bench: install what is missing,
# build and install kpi, run a throwaway PostgreSQL cluster on a Unix socket.
# Sourced, not run.  The cluster is always stopped and removed on exit.

KPI_PG_MAJOR=${KPI_PG_MAJOR:-15}
KPI_PACKAGES="postgresql-$KPI_PG_MAJOR postgresql-server-dev-$KPI_PG_MAJOR postgresql-$KPI_PG_MAJOR-cron"
KPI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

kpi_log() { printf '== %s\n' "$*" >&2; }
kpi_die() { printf 'kpi: %s\n' "$*" >&2; exit 1; }

# kpi_find_pg_config: prefer the server's own pg_config for the major we target.
kpi_find_pg_config() {
    if [ -x "/usr/lib/postgresql/$KPI_PG_MAJOR/bin/pg_config" ]; then
        PG_CONFIG="/usr/lib/postgresql/$KPI_PG_MAJOR/bin/pg_config"
    else
        PG_CONFIG=$(command -v pg_config || true)
    fi
    export PG_CONFIG
}

# kpi_have_pg: true when server binaries and server headers are installed.
kpi_have_pg() {
    kpi_find_pg_config
    [ -n "$PG_CONFIG" ] || return 1
    local bindir inc
    bindir=$("$PG_CONFIG" --bindir 2>/dev/null) || return 1
    inc=$("$PG_CONFIG" --includedir-server 2>/dev/null) || return 1
    [ -x "$bindir/initdb" ] && [ -x "$bindir/postgres" ] && [ -f "$inc/postgres.h" ] &&
        [ -f "$("$PG_CONFIG" --pgxs)" ]
}

# kpi_ensure_packages: install PostgreSQL server, headers and pg_cron if missing.
kpi_ensure_packages() {
    local missing="" p
    for p in $KPI_PACKAGES; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
    done
    if [ -n "$missing" ]; then
        if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
            kpi_log "installing:$missing"
            export DEBIAN_FRONTEND=noninteractive
            apt-get update -qq >/dev/null
            apt-get install -y -qq --no-install-recommends $missing >/dev/null ||
                kpi_die "apt-get install$missing failed"
        elif ! kpi_have_pg; then
            kpi_die "missing packages:$missing. Install them (as root: apt-get install$missing) and run again."
        fi
    fi
    kpi_have_pg || kpi_die "PostgreSQL $KPI_PG_MAJOR server or headers not found (need $KPI_PACKAGES)"
    PG_BINDIR=$("$PG_CONFIG" --bindir)
    export PG_BINDIR
}

# kpi_build_install: compile with the project's flags and install the extension.
kpi_build_install() {
    kpi_log "building kpi"
    make -s -C "$KPI_ROOT" PG_CONFIG="$PG_CONFIG" all >/dev/null || kpi_die "build failed"
    make -s -C "$KPI_ROOT" PG_CONFIG="$PG_CONFIG" install >/dev/null ||
        kpi_die "make install failed (run as root, or as a user who can write $("$PG_CONFIG" --sharedir))"
}

# kpi_as_pg: run a server-side command as the postgres user when we are root.
kpi_as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# kpi_cluster_start [extra postgres -c settings...]: a throwaway cluster in a
# temp directory the server user owns, reachable only on a Unix socket there.
kpi_cluster_start() {
    KPI_TMP=$(mktemp -d /tmp/kpi-pg.XXXXXX)
    chmod 755 "$KPI_TMP"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$KPI_TMP"
    trap kpi_cluster_stop EXIT
    trap 'exit 130' INT TERM
    kpi_as_pg "$PG_BINDIR/initdb" -D "$KPI_TMP/data" -U postgres --auth=trust \
        --no-sync -E UTF8 --locale=C.UTF-8 >"$KPI_TMP/initdb.log" 2>&1 ||
        { cat "$KPI_TMP/initdb.log" >&2; kpi_die "initdb failed"; }
    local opts="-c listen_addresses='' -k $KPI_TMP -p 5432 -c fsync=off"
    opts="$opts -c shared_preload_libraries=pg_cron -c cron.database_name=postgres -c cron.use_background_workers=on"
    opts="$opts -c max_worker_processes=16 -c max_parallel_workers_per_gather=2"
    local s
    for s in "$@"; do opts="$opts -c $s"; done
    kpi_as_pg "$PG_BINDIR/pg_ctl" -D "$KPI_TMP/data" -l "$KPI_TMP/server.log" -w -t 60 \
        -o "$opts" start >/dev/null ||
        { cat "$KPI_TMP/server.log" >&2; kpi_die "server did not start"; }
    export PGHOST="$KPI_TMP" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres
}

# kpi_cluster_stop: stop our own server by its data directory, then remove it.
kpi_cluster_stop() {
    local rc=$?
    if [ -n "${KPI_TMP:-}" ] && [ -d "$KPI_TMP/data" ]; then
        kpi_as_pg "$PG_BINDIR/pg_ctl" -D "$KPI_TMP/data" -m immediate -w stop >/dev/null 2>&1 ||
            { [ -f "$KPI_TMP/data/postmaster.pid" ] &&
              kill -9 "$(head -1 "$KPI_TMP/data/postmaster.pid")" 2>/dev/null; }
        rm -rf "$KPI_TMP"
    fi
    KPI_TMP=""
    return $rc
}
