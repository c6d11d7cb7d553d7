#!/usr/bin/env bash
# A throwaway local PostgreSQL cluster with abx preloaded.
#   scripts/cluster.sh start NAME [--fresh]   initdb (if needed) and start; prints the env file
#   scripts/cluster.sh stop NAME              stop it
#   scripts/cluster.sh env NAME               path of its env file (PGHOST, PGPORT, PGUSER)
source "$(dirname "$0")/common.sh"
cmd="${1:?start|stop|env}"
name="${2:?cluster name}"
state="$(abx_state_dir)/$name"
data="$state/data"
envfile="$state/env"

case "$cmd" in
start)
    if [ "${3:-}" = "--fresh" ] && [ -d "$state" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1 || true
        rm -rf "$state"
    fi
    mkdir -p "$state"
    [ "$(id -u)" = 0 ] && chown "$PG_OS_USER" "$state"
    if [ ! -f "$data/PG_VERSION" ]; then
        as_pg "$PG_BIN/initdb" -D "$data" -U "$PG_OS_USER" --auth=trust -E UTF8 --locale=C.UTF-8 >"$state/initdb.log"
        port="$(free_port)"
        cat >>"$data/postgresql.conf" <<CONF
# --- abx local cluster ---
port = $port
listen_addresses = '127.0.0.1'
unix_socket_directories = '$state'
shared_preload_libraries = 'abx'
max_connections = 100
shared_buffers = 256MB
log_min_messages = warning
max_worker_processes = 16
CONF
        if [ "$name" != "demo" ]; then
            # Test clusters are disposable: durability buys nothing there.
            printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n' >>"$data/postgresql.conf"
            # The schedulers' clock stands still until a test moves it (docs/operations.md).
            printf 'abx.test_clock = on\n' >>"$data/postgresql.conf"
        fi
        printf 'export PGHOST=%q PGPORT=%q PGUSER=%q\n' "$state" "$port" "$PG_OS_USER" >"$envfile"
    fi
    if ! as_pg "$PG_BIN/pg_ctl" -D "$data" status >/dev/null 2>&1; then
        as_pg "$PG_BIN/pg_ctl" -D "$data" -l "$state/postgres.log" -w -t 60 start >/dev/null
    fi
    echo "$envfile"
    ;;
stop)
    if [ -f "$data/PG_VERSION" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
env)
    echo "$envfile"
    ;;
*)
    echo "usage: $0 start|stop|env NAME" >&2
    exit 2
    ;;
esac
