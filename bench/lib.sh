# Shared by the benchmarks' run.sh scripts (sourced after scripts/common.sh).
#
# pgbench and the backend serving it run on one CPU (the last one): on a VM, a round trip between
# two vCPUs pays for waking the idle one (about 80 µs here, measured in docs/benchmarks.md), more
# than the work being measured. The other CPUs stay free for PostgreSQL's background processes.
# BENCH_PIN=0 turns this off.
PGBENCH="$PG_BIN/pgbench"
[ -x "$PGBENCH" ] || PGBENCH="$(command -v pgbench || true)"
if [ -z "$PGBENCH" ]; then
    echo "pgbench not found (it comes with postgresql-15: run bash scripts/deps.sh)" >&2
    exit 1
fi
pin_cpu=""
if [ "${BENCH_PIN:-1}" != 0 ] && command -v taskset >/dev/null; then
    pin_cpu=$(($(nproc) - 1))
fi

# pgbench_run LOG DATABASE PGBENCH-ARGS...: runs pgbench (pinned as above), its output in LOG;
# returns pgbench's exit status.
pgbench_run() {
    local log="$1" db="$2" pid backend i
    shift 2
    if [ -z "$pin_cpu" ]; then
        "$PGBENCH" "$@" "$db" >"$log" 2>&1
        return
    fi
    taskset -c "$pin_cpu" "$PGBENCH" "$@" "$db" >"$log" 2>&1 &
    pid=$!
    # pgbench connects first thing; move its backend next to it.
    for ((i = 0; i < 200; i++)); do
        backend="$(psql -X -At -d "$db" -c "SELECT pid FROM pg_stat_activity
                                            WHERE application_name = 'pgbench' AND datname = '$db'")"
        [ -n "$backend" ] && break
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.01
    done
    if [ -n "$backend" ]; then
        taskset -p -c "$pin_cpu" "$backend" >/dev/null
    else
        echo "warning: pgbench's backend not found, not pinned" >>"$log"
    fi
    wait "$pid"
}

# tps of a pgbench log (excluding the initial connection time).
pgbench_tps() { sed -n 's/^tps = \([0-9.]*\) .*/\1/p' "$1" | tail -n 1; }

# Median of the numbers on stdin (whitespace separated).
median() {
    tr ' ' '\n' | grep -v '^$' | sort -g |
        awk '{a[NR] = $1} END {print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2}'
}

# bench_prepare_gateway LOGS: a fresh LOGS folder, the Debian packages, the extension built and
# installed (unless BENCH_NO_BUILD, as make bench-* set it after the first), and abx-http built.
bench_prepare_gateway() {
    local logs="$1"
    rm -rf "$logs"; mkdir -p "$logs"
    bash scripts/deps.sh
    if [ -z "${BENCH_NO_BUILD:-}" ]; then
        make -j"$(nproc)" >"$logs/build.log" 2>&1 && $SUDO make install >>"$logs/build.log" 2>&1 ||
            { tail -n 40 "$logs/build.log"; exit 1; }
    fi
    make gateway >>"$logs/build.log" 2>&1
}
