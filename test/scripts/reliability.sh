#!/usr/bin/env bash
# make reliability: the checks too slow for make test (docs/reliability.md).
#
#  1. fuzz: a libFuzzer harness (test/fuzz/parsers.c) runs the text input,
#     output, send and receive functions of kpi.period, kpi.goal, kpi.bands
#     and kpi.tally, built from src/ with AddressSanitizer and
#     UndefinedBehaviorSanitizer against PostgreSQL 15's headers and a stub
#     backend (test/fuzz/pgstub.c), for a fixed time.  Any crash, sanitizer
#     report, undocumented SQLSTATE or failed round trip fails.
#  2. valgrind: PostgreSQL 15 built with assertions and valgrind annotations
#     (test/scripts/pgsrc.sh 15 cassert, cached), every backend under
#     valgrind, and the pg_regress and isolation suites of make test
#     (make installcheck) against it.  A failed suite, or a valgrind error in
#     kpi's code, fails; valgrind errors elsewhere are reported.
#
# Settings (environment):
#   KPI_FUZZ_SECONDS   fuzzing time in seconds (default 300)
#   KPI_FUZZ_JOBS      parallel fuzzing processes (default: number of CPUs)
#   KPI_RELIABILITY    which parts: "fuzz valgrind" (default), "fuzz", "valgrind"
#   KPI_RELIABILITY_OUT  where logs, crash inputs and the grown corpus go
#                      (default /tmp/kpi-reliability; kept after the run)
#   KPI_CASSERT_WAIT   seconds to wait for a cassert build another process is
#                      running (default 900)
#   KPI_VALGRIND_OPTS  extra valgrind options (e.g. --track-origins=yes)
set -euo pipefail
. "$(dirname "$0")/lib.sh"
cd "$KPI_ROOT"

FUZZ_SECONDS=${KPI_FUZZ_SECONDS:-300}
FUZZ_JOBS=${KPI_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
PARTS=${KPI_RELIABILITY:-fuzz valgrind}
OUT=${KPI_RELIABILITY_OUT:-/tmp/kpi-reliability}
CASSERT_WAIT=${KPI_CASSERT_WAIT:-900}
PG15_CONFIG=/usr/lib/postgresql/15/bin/pg_config

mkdir -p "$OUT"
failed=0
summary=()
now() { date +%s; }
t_start=$(now)

# need_packages PKG...: install what is missing (as root), else name it and stop.
need_packages() {
    local p missing=""
    for p in "$@"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then
        kpi_log "installing:$missing"
        export DEBIAN_FRONTEND=noninteractive
        apt-get install -y -qq --no-install-recommends $missing >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null && apt-get install -y -qq --no-install-recommends $missing >/dev/null; } ||
            kpi_die "apt-get install$missing failed"
    else
        kpi_die "missing packages:$missing (as root: apt-get install$missing)"
    fi
}

# ---------------------------------------------------------------------------
# 1. libFuzzer
# ---------------------------------------------------------------------------
# type_of FILE: the type a fuzzer input is for (its first byte, modulo 4)
type_of() {
    local b
    b=$(od -An -tu1 -N1 "$1" | tr -d ' ')
    case $(( ${b:-0} % 4 )) in 0) echo kpi.period ;; 1) echo kpi.goal ;; 2) echo kpi.bands ;; 3) echo kpi.tally ;; esac
}

fuzz() {
    local t0 b inc lib cflags f rc execs crashes
    t0=$(now)
    kpi_log "fuzz: building the harness (clang, ASan, UBSan, libFuzzer)"
    need_packages clang libclang-rt-14-dev postgresql-server-dev-15
    command -v clang >/dev/null || kpi_die "clang not found"
    # the stub is written against PostgreSQL 15's backend interfaces
    inc=$("$PG15_CONFIG" --includedir-server)
    lib=""
    for f in "$("$PG15_CONFIG" --pkglibdir)" "$("$PG15_CONFIG" --libdir)"; do
        [ -f "$f/libpgcommon.a" ] && [ -f "$f/libpgport.a" ] && { lib=$f; break; }
    done
    [ -n "$lib" ] || kpi_die "libpgcommon.a and libpgport.a of PostgreSQL 15 not found"
    b="$OUT/fuzz-build"
    rm -rf "$b"
    mkdir -p "$b"
    cflags=(-g -O1 -fno-omit-frame-pointer -fno-strict-aliasing
            -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
            -Wall -Wno-ignored-attributes -Wno-unused-parameter -Wno-sign-compare
            -Wno-missing-field-initializers
            -I"$inc" -I"$KPI_ROOT/src" -I"$KPI_ROOT/test/fuzz")
    # kpi's own code without -fwrapv, so that UBSan reports signed overflow
    # (the server build wraps silently); the stub holds PostgreSQL code that
    # relies on -fwrapv, as PostgreSQL is built with it.
    for f in period goal bands tally; do
        clang "${cflags[@]}" -c "src/$f.c" -o "$b/$f.o" 2>>"$b/build.log" ||
            { cat "$b/build.log" >&2; kpi_die "compiling src/$f.c for the harness failed"; }
    done
    clang "${cflags[@]}" -fwrapv -fno-sanitize=signed-integer-overflow \
        -c test/fuzz/pgstub.c -o "$b/pgstub.o" 2>>"$b/build.log" &&
    clang "${cflags[@]}" -c test/fuzz/parsers.c -o "$b/parsers.o" 2>>"$b/build.log" &&
    clang -fsanitize=fuzzer,address,undefined -o "$b/kpi_parsers_fuzzer" \
        "$b"/period.o "$b"/goal.o "$b"/bands.o "$b"/tally.o "$b"/pgstub.o "$b"/parsers.o \
        "$lib/libpgcommon.a" "$lib/libpgport.a" -lm 2>>"$b/build.log" ||
        { cat "$b/build.log" >&2; kpi_die "building the harness failed"; }

    # the seed corpus is in the repository; what the run adds goes to $OUT
    local corpus="$OUT/fuzz-corpus" art="$OUT/fuzz-crashes" log="$OUT/fuzz.log"
    mkdir -p "$corpus" "$art"
    rm -f "$art"/crash-* "$art"/leak-* "$art"/timeout-* "$art"/oom-*
    kpi_log "fuzz: ${FUZZ_SECONDS}s, $FUZZ_JOBS process(es), seeds test/fuzz/corpus ($(ls test/fuzz/corpus | wc -l) files)"
    export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}
    export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
    rc=0
    # first every input of both corpora once: a seed or an earlier find that
    # fails now is a regression (the fork mode below skips failing seeds)
    (cd "$art" && "$b/kpi_parsers_fuzzer" -runs=0 -timeout=10 -artifact_prefix="$art/" \
        "$corpus" "$KPI_ROOT/test/fuzz/corpus") >"$OUT/fuzz-replay.log" 2>&1 ||
        kpi_log "fuzz: an input of the corpus fails (see below)"
    # -fork with -ignore_crashes: a crash does not end the run, so one run
    # finds every distinct failure within the budget; each is replayed below.
    (cd "$art" && "$b/kpi_parsers_fuzzer" -fork="$FUZZ_JOBS" -ignore_crashes=1 \
        -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 -max_len=512 \
        -dict="$KPI_ROOT/test/fuzz/parsers.dict" -artifact_prefix="$art/" -print_final_stats=1 \
        "$corpus" "$KPI_ROOT/test/fuzz/corpus") >"$log" 2>&1 || rc=$?
    execs=$(grep -Eo '^#[0-9]+' "$log" | tail -1 | tr -d '#' || true)
    kpi_log "fuzz: $(grep -E '^#[0-9]+' "$log" | tail -1)"
    crashes=$(find "$art" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)
    if [ -n "$crashes" ]; then
        # replay each input once for its report; group them by first line
        local c first n=0
        : >"$OUT/fuzz-failures.txt"
        for c in $crashes; do
            n=$((n + 1))
            "$b/kpi_parsers_fuzzer" -timeout=10 "$c" >"$c.log" 2>&1 || true
            first=$(grep -m1 -E '^kpi fuzz:|runtime error:|^==[0-9]+==ERROR:|^SUMMARY:|pgstub:' "$c.log" |
                    sed -E 's/^==[0-9]+==//; s/0x[0-9a-f]+/0x…/g' || true)
            printf '%s\t%s\n' "${first:-unknown failure}" "$c" >>"$OUT/fuzz-failures.txt"
        done
        echo "fuzz: $n failing input(s), by kind (full report: <input>.log):"
        sort "$OUT/fuzz-failures.txt" | awk -F'\t' '
            $1 != prev { if (prev != "") printf "  %5d x %s\n        e.g. %s\n", count, prev, example;
                         prev = $1; count = 0; example = $2 }
            { count++ }
            END { if (prev != "") printf "  %5d x %s\n        e.g. %s\n", count, prev, example }'
        for c in $(sort "$OUT/fuzz-failures.txt" | awk -F'\t' '$1 != prev { print $2; prev = $1 }'); do
            echo "---- $c"
            printf 'type %s, text: ' "$(type_of "$c")"
            tail -c +2 "$c" | tr '\0' '\n' | head -1 | cat -v | head -c 400
            echo
            grep -v -E '^(INFO|MERGE|#|NOTE|Running|Executed|\*\*\*)|Running 1 inputs|in fuzzer::|__sanitizer_print_stack_trace|libc\.so|libc_start|in _start|Combine libFuzzer' \
                "$c.log" | head -40
        done
        summary+=("fuzz: FAILED, ${execs:-?} executions in $(( $(now) - t0 ))s, $n failing input(s) in $art")
        failed=1
    elif [ "$rc" -ne 0 ]; then
        tail -30 "$log"
        summary+=("fuzz: FAILED, libFuzzer exited with $rc (log: $log)")
        failed=1
    else
        summary+=("fuzz: ok, ${execs:-?} executions in $(( $(now) - t0 ))s, corpus $(ls "$corpus" | wc -l) inputs, no failure")
    fi
}

# ---------------------------------------------------------------------------
# 2. the regression suites against an assert-enabled server under valgrind
# ---------------------------------------------------------------------------

# cassert_pg_config: the pg_config of PostgreSQL 15 built with assertions,
# building it once (pgsrc.sh); waits for a build another process is running.
cassert_pg_config() {
    local cache dir waited=0
    if [ "$(id -u)" -eq 0 ]; then cache=${KPI_PG_CACHE:-/var/cache/kpi-pg}; else cache=${KPI_PG_CACHE:-$HOME/.cache/kpi-pg}; fi
    dir=$cache/15-cassert
    # pgsrc.sh starts a build afresh unless it finds "done": never under
    # the feet of a build that is still running
    while [ -d "$dir" ] && [ ! -f "$dir/done" ] && [ "$waited" -lt "$CASSERT_WAIT" ]; do
        if ! pgrep -f 'pgsrc\.sh 15 cassert' >/dev/null 2>&1 &&
           [ -z "$(find "$dir" -maxdepth 1 -name '*.log' -mmin -3 2>/dev/null)" ]; then
            break           # nobody is building: a leftover of a failed build
        fi
        [ "$waited" -eq 0 ] && kpi_log "valgrind: waiting for the PostgreSQL 15 cassert build in $dir (up to ${CASSERT_WAIT}s)"
        sleep 10
        waited=$((waited + 10))
    done
    [ -d "$dir" ] && [ ! -f "$dir/done" ] && [ "$waited" -ge "$CASSERT_WAIT" ] &&
        kpi_die "the PostgreSQL 15 cassert build in $dir did not finish within ${CASSERT_WAIT}s"
    bash "$KPI_ROOT/test/scripts/pgsrc.sh" 15 cassert
}

# server_opts: the settings of the test cluster (as lib.sh's, without pg_cron,
# which no regression suite needs; no JIT provider is built in anyway).
server_opts() {
    echo "-c listen_addresses='' -k $KPI_TMP -p 5432 -c fsync=off -c max_worker_processes=16" \
         "-c max_parallel_workers_per_gather=2 -c jit=off -c log_line_prefix='%m [%p] '"
}

# scale_sql IN OUT: a copy of a regression script with every row count of
# 20000 or more (generate_series(1, N), LIMIT N) divided by 100.
scale_sql() {
    perl -pe 's/(generate_series\(\s*1\s*,\s*)(\d+)(\s*\))/$1 . ($2 >= 20000 ? int($2 \/ 100) : $2) . $3/ge;
              s/(\bLIMIT\s+)(\d+)/$1 . ($2 >= 20000 ? int($2 \/ 100) : $2)/gie' "$1" >"$2"
}

valgrind_suites() {
    local t0 pgc inst supp vgdir i pid t_build t_native t_vg rc_native=0 rc=0 W f name scaled=""
    t0=$(now)
    need_packages valgrind
    kpi_log "valgrind: PostgreSQL 15 with assertions (test/scripts/pgsrc.sh 15 cassert)"
    pgc=$(cassert_pg_config) || kpi_die "building PostgreSQL 15 with assertions failed"
    t_build=$(( $(now) - t0 ))
    # Its modules must live under its own prefix: make install of kpi puts
    # kpi.so in pkglibdir.  Debian's source package moves pkglibdir to
    # /usr/lib/postgresql/MAJOR/lib (debian/patches/50-per-version-dirs.patch)
    # unless libdir names "postgres" or "pgsql", and there it is the
    # directory of the packaged server of the same major.
    inst=$(cd "$(dirname "$pgc")/.." && pwd)
    case "$("$pgc" --pkglibdir)" in
        "$inst"/*) ;;
        *) kpi_die "the cassert build's pkglibdir is $("$pgc" --pkglibdir), outside its prefix $inst:" \
                   "its make install has written into another installation's directory." \
                   "Configure it with --libdir=$inst/lib/postgresql (test/scripts/pgsrc.sh), rebuild it," \
                   "and reinstall the packages whose files it replaced (dpkg -V postgresql-15 postgresql-client-15 postgresql-server-dev-15)." ;;
    esac
    KPI_PG_CONFIG=$pgc
    kpi_ensure_packages
    grep -q 'define USE_ASSERT_CHECKING 1' "$("$PG_CONFIG" --includedir-server)/pg_config.h" ||
        kpi_die "$PG_CONFIG is not built with --enable-cassert"
    kpi_build_install

    KPI_TMP=$(mktemp -d /tmp/kpi-pg.XXXXXX)
    chmod 755 "$KPI_TMP"
    [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$KPI_TMP"
    trap kpi_cluster_stop EXIT
    trap 'exit 130' INT TERM
    kpi_as_pg "$PG_BINDIR/initdb" -D "$KPI_TMP/data" -U postgres --auth=trust \
        --no-sync -E UTF8 --locale=C.UTF-8 >"$KPI_TMP/initdb.log" 2>&1 ||
        { cat "$KPI_TMP/initdb.log" >&2; kpi_die "initdb failed"; }
    export PGHOST="$KPI_TMP" PGPORT=5432 PGUSER=postgres PGDATABASE=postgres

    # 2a. every suite, unchanged, on the assert-enabled server without valgrind
    kpi_log "valgrind: the suites on the assert-enabled server, without valgrind (make installcheck)"
    kpi_as_pg "$PG_BINDIR/pg_ctl" -D "$KPI_TMP/data" -l "$KPI_TMP/server-native.log" -w -t 120 \
        -o "$(server_opts)" start >/dev/null ||
        { cat "$KPI_TMP/server-native.log" >&2; kpi_die "the server did not start"; }
    rm -f regression.diffs output_iso/regression.diffs
    t_native=$(now)
    make -s PG_CONFIG="$PG_CONFIG" installcheck >"$OUT/cassert-installcheck.log" 2>&1 || rc_native=$?
    t_native=$(( $(now) - t_native ))
    cat "$OUT/cassert-installcheck.log"
    [ -f regression.diffs ] && cp regression.diffs "$OUT/cassert-regression.diffs" && cat regression.diffs
    [ -f output_iso/regression.diffs ] && cp output_iso/regression.diffs "$OUT/cassert-isolation.diffs" &&
        cat output_iso/regression.diffs

    # Under valgrind a backend runs 50 to 100 times slower: tally.sql's two
    # million rows would take half an hour.  Valgrind runs copies of the
    # scripts with big row counts divided by 100 (scale_sql); a copy that
    # differs from its script is checked against its own output on this
    # server without valgrind, the others against expected/ as in make test.
    W="$OUT/valgrind-suites"
    rm -rf "$W"
    mkdir -p "$W/sql" "$W/expected" "$W/native"
    for f in sql/*.sql; do
        name=$(basename "$f" .sql)
        scale_sql "$f" "$W/sql/$name.sql"
        if cmp -s "$f" "$W/sql/$name.sql"; then
            [ -f "expected/$name.out" ] && cp "expected/$name.out" "$W/expected/"
        else
            scaled="$scaled $name"
            : >"$W/expected/$name.out"
        fi
    done
    if [ -n "$scaled" ]; then
        kpi_log "valgrind: reference output of the scaled-down copies of:$scaled"
        make -s PG_CONFIG="$PG_CONFIG" installcheck ISOLATION= \
            REGRESS_OPTS="--inputdir=$W --outputdir=$W/native --dbname=kpi_regression" \
            >"$W/native.log" 2>&1 || true
        for name in $scaled; do
            [ -s "$W/native/results/$name.out" ] || { cat "$W/native.log" >&2; kpi_die "no reference output for the scaled copy of $name"; }
            cp "$W/native/results/$name.out" "$W/expected/$name.out"
        done
    fi
    kpi_as_pg "$PG_BINDIR/pg_ctl" -D "$KPI_TMP/data" -m fast -w stop >/dev/null
    cp "$KPI_TMP/server-native.log" "$OUT/cassert-server.log"

    # 2b. the postmaster under valgrind: every backend and worker it forks too
    vgdir="$KPI_TMP/valgrind"
    kpi_as_pg mkdir -p "$vgdir"
    # PostgreSQL's own suppressions (src/tools/valgrind.supp of 15), copied
    supp="$KPI_TMP/valgrind.supp"
    cp "$KPI_ROOT/test/fuzz/valgrind.supp" "$supp"
    chmod 644 "$supp"
    kpi_log "valgrind: starting the server under valgrind"
    # shellcheck disable=SC2046,SC2086
    eval "kpi_as_pg valgrind --quiet --trace-children=yes --leak-check=no --error-exitcode=128 \
        --num-callers=30 --fullpath-after= --suppressions='$supp' --gen-suppressions=all \
        --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END --log-file='$vgdir/%p.log' \
        ${KPI_VALGRIND_OPTS:-} '$PG_BINDIR/postgres' -D '$KPI_TMP/data' $(server_opts)" \
        >"$KPI_TMP/server.log" 2>&1 &
    for i in $(seq 1 180); do
        "$PG_BINDIR/pg_isready" -q && break
        kill -0 $! 2>/dev/null || { cat "$KPI_TMP/server.log" >&2; kpi_die "the server under valgrind did not start"; }
        sleep 1
    done
    "$PG_BINDIR/pg_isready" -q || { cat "$KPI_TMP/server.log" >&2; kpi_die "the server under valgrind did not start in 180s"; }

    kpi_log "valgrind: pg_regress and isolation suites under valgrind"
    rm -f output_iso/regression.diffs
    t_vg=$(now)
    make -s PG_CONFIG="$PG_CONFIG" installcheck \
        REGRESS_OPTS="--inputdir=$W --outputdir=$W/valgrind --dbname=kpi_regression" \
        >"$OUT/valgrind-installcheck.log" 2>&1 || rc=$?
    t_vg=$(( $(now) - t_vg ))
    cat "$OUT/valgrind-installcheck.log"
    [ -f "$W/valgrind/regression.diffs" ] && cat "$W/valgrind/regression.diffs"
    [ -f output_iso/regression.diffs ] && cp output_iso/regression.diffs "$OUT/valgrind-isolation.diffs" &&
        cat output_iso/regression.diffs

    # stop the postmaster (fast shutdown), so every process writes its summary
    pid=$(head -1 "$KPI_TMP/data/postmaster.pid" 2>/dev/null || true)
    if [ -n "$pid" ]; then
        kill -INT "$pid" 2>/dev/null || true
        for i in $(seq 1 120); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    fi
    cp "$KPI_TMP/server.log" "$OUT/valgrind-server.log"

    # every error valgrind reported, in any process
    local logs nlogs nerr=0 nkpi=0
    rm -rf "$OUT/valgrind-logs"
    mkdir -p "$OUT/valgrind-logs"
    logs=$(find "$vgdir" -name '*.log' -type f | sort)
    nlogs=$(echo "$logs" | grep -c . || true)
    for f in $logs; do
        if grep -q 'VALGRINDERROR-BEGIN' "$f"; then
            cp "$f" "$OUT/valgrind-logs/"
            nerr=$((nerr + $(grep -c 'VALGRINDERROR-BEGIN' "$f")))
        fi
    done
    # an error is kpi's when a frame of its stack lies in kpi.so or kpi's sources
    nkpi=$(find "$OUT/valgrind-logs" -name '*.log' -exec cat {} + |
        awk -v root="$KPI_ROOT/src/" '
            /VALGRINDERROR-BEGIN/ { inerr = 1; kpi = 0; next }
            /VALGRINDERROR-END/ { if (kpi) n++; inerr = 0; next }
            inerr && (index($0, "kpi.so") || index($0, root)) { kpi = 1 }
            END { print n + 0 }')
    echo "valgrind: $nlogs processes, $nerr error(s), $nkpi of them in kpi's code"
    if [ "$nerr" -gt 0 ]; then
        for f in "$OUT"/valgrind-logs/*.log; do
            echo "---- $f"
            sed -n '/VALGRINDERROR-BEGIN/,/VALGRINDERROR-END/p' "$f" |
                grep -v -E '^\{|^\}|^   (fun|obj|Memcheck|<insert)' | head -60
        done
    fi
    # failed assertions and crashed backends, in either server's log
    grep -E 'TRAP:|terminated by signal|server process .* exited with exit code' \
        "$KPI_TMP/server-native.log" "$KPI_TMP/server.log" || true

    local verdict=ok passed failed_n
    [ "$rc_native" -ne 0 ] && verdict=FAILED
    [ "$rc" -ne 0 ] && verdict=FAILED
    [ "$nkpi" -gt 0 ] && verdict=FAILED
    [ "$verdict" = FAILED ] && failed=1
    passed=$(grep -Ec '\.\.\. ok|^ok [0-9]+ ' "$OUT/cassert-installcheck.log" || true)
    failed_n=$(grep -Ec '\.\.\. FAILED|^not ok [0-9]+ ' "$OUT/cassert-installcheck.log" || true)
    summary+=("cassert: $([ "$rc_native" -eq 0 ] && echo ok || echo FAILED), PostgreSQL 15 with assertions (build ${t_build}s), suites ${t_native}s: $passed passed, $failed_n failed")
    passed=$(grep -Ec '\.\.\. ok|^ok [0-9]+ ' "$OUT/valgrind-installcheck.log" || true)
    failed_n=$(grep -Ec '\.\.\. FAILED|^not ok [0-9]+ ' "$OUT/valgrind-installcheck.log" || true)
    summary+=("valgrind: $([ "$rc" -eq 0 ] && [ "$nkpi" -eq 0 ] && echo ok || echo FAILED), suites ${t_vg}s under valgrind (scaled down:${scaled:- none}): $passed passed, $failed_n failed; valgrind errors: $nerr in $nlogs processes, $nkpi in kpi")
    kpi_cluster_stop
    trap - EXIT
}

for part in $PARTS; do
    case $part in
        fuzz) fuzz ;;
        valgrind) valgrind_suites ;;
        *) kpi_die "unknown part \"$part\" in KPI_RELIABILITY (fuzz, valgrind)" ;;
    esac
done

echo "reliability: $(( $(now) - t_start ))s"
for s in "${summary[@]}"; do echo "  $s"; done
echo "  logs and inputs: $OUT"
if [ "$failed" -ne 0 ]; then
    kpi_log "FAILED"
    exit 1
fi
kpi_log "reliability checks passed"
