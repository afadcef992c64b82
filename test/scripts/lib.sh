# Shared shell helpers for make test / demo / bench: install what is missing,
# build and install kpi, run a throwaway PostgreSQL cluster on a Unix socket.
# Sourced, not run.  The cluster is always stopped and removed on exit.
#
# The server is PostgreSQL 15 from Debian's packages (installed when
# missing, as root), or any installed major named by KPI_PG_CONFIG, the
# pg_config of that installation (the Makefile passes PG_CONFIG=... on).

KPI_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

kpi_log() { printf '== %s\n' "$*" >&2; }
kpi_die() { printf 'kpi: %s\n' "$*" >&2; exit 1; }

# kpi_find_pg_config: the pg_config asked for, else Debian's PostgreSQL 15.
kpi_find_pg_config() {
    if [ -n "${KPI_PG_CONFIG:-}" ] && [ "$KPI_PG_CONFIG" != pg_config ]; then
        PG_CONFIG=$KPI_PG_CONFIG
        KPI_OWN_PG=0
    else
        PG_CONFIG=/usr/lib/postgresql/15/bin/pg_config
        KPI_OWN_PG=1
    fi
    export PG_CONFIG
}

# kpi_have_pg: true when server binaries and server headers are installed.
kpi_have_pg() {
    local bindir inc
    [ -x "$PG_CONFIG" ] || return 1
    bindir=$("$PG_CONFIG" --bindir 2>/dev/null) || return 1
    inc=$("$PG_CONFIG" --includedir-server 2>/dev/null) || return 1
    [ -x "$bindir/initdb" ] && [ -x "$bindir/postgres" ] && [ -f "$inc/postgres.h" ] &&
        [ -f "$("$PG_CONFIG" --pgxs)" ]
}

# kpi_ensure_packages: install PostgreSQL 15's server, headers and pg_cron
# when they are the target and missing; then describe the target server.
kpi_ensure_packages() {
    local missing="" p packages="postgresql-15 postgresql-server-dev-15 postgresql-15-cron"
    kpi_find_pg_config
    if [ "$KPI_OWN_PG" = 1 ]; then
        for p in $packages; do
            dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
        done
    fi
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
    kpi_have_pg || kpi_die "no PostgreSQL server with headers at $PG_CONFIG"
    PG_BINDIR=$("$PG_CONFIG" --bindir)
    KPI_PG_MAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
    # pg_cron is preloaded when the target server has it; its test needs it
    if [ -f "$("$PG_CONFIG" --pkglibdir)/pg_cron.so" ]; then KPI_HAVE_CRON=1; else KPI_HAVE_CRON=0; fi
    export PG_BINDIR KPI_PG_MAJOR KPI_HAVE_CRON
    kpi_log "PostgreSQL $("$PG_CONFIG" --version | sed 's/^PostgreSQL //') ($PG_CONFIG)"
}

# kpi_build_install: compile with the project's flags and install the extension.
kpi_build_install() {
    kpi_log "building kpi"
    # objects built for another server must not be linked into this one
    local stamp="$KPI_ROOT/.pg_config_built"
    if [ "$(cat "$stamp" 2>/dev/null)" != "$PG_CONFIG" ]; then
        make -s -C "$KPI_ROOT" PG_CONFIG="$PG_CONFIG" clean >/dev/null 2>&1 || true
        echo "$PG_CONFIG" >"$stamp"
    fi
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
    [ "$KPI_HAVE_CRON" = 1 ] &&
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
