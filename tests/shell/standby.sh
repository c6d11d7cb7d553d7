#!/usr/bin/env bash
# abx's workers never run on a hot standby (they start after recovery): a streaming standby of a
# cluster with abx runs no launcher and no scheduler while it replays, and starts them once it is
# promoted.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
env_file="$(bash scripts/cluster.sh start primary --fresh)"
source "$env_file"; export PGHOST PGPORT PGUSER
state="$(abx_state_dir)"
standby="$state/standby"
standby_port="$(free_port)"
stop_standby() { as_pg "$PG_BIN/pg_ctl" -D "$standby/data" -m immediate stop >/dev/null 2>&1 || true; }
trap 'stop_standby; bash scripts/cluster.sh stop primary' EXIT
rm -rf "$standby"; mkdir -p "$standby"; [ "$(id -u)" = 0 ] && chown "$PG_OS_USER" "$standby"
fails=0
check() {
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; fails=$((fails + 1)); fi
}
on_standby() { psql -X -q -At -h "$standby" -p "$standby_port" -d "${DB:-postgres}" "$@"; }
# wait_for HOST-FUNCTION SQL SECONDS
wait_for() {
    local deadline=$((SECONDS + $3))
    while [ $SECONDS -lt $deadline ]; do
        [ "$($1 -c "$2" 2>/dev/null)" = "t" ] && { echo t; return; }
        sleep 0.2
    done
    echo f
}
createdb app
psql -X -q -d app -c "CREATE EXTENSION abx" >/dev/null
check "the primary runs a scheduler for the database" "t" \
    "$(wait_for "psql -X -q -At -d postgres" "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'abx scheduler' AND datname = 'app')" 10)"

as_pg "$PG_BIN/pg_basebackup" -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -D "$standby/data" -R -X stream >/dev/null
printf "port = %s\nunix_socket_directories = '%s'\nhot_standby = on\n" "$standby_port" "$standby" >>"$standby/data/postgresql.conf"
as_pg "$PG_BIN/pg_ctl" -D "$standby/data" -l "$standby/postgres.log" -w -t 60 start >/dev/null
check "the standby replays (in recovery)" "t" "$(on_standby -c "SELECT pg_is_in_recovery()")"
sleep 3
check "no abx worker runs on the hot standby" "0" \
    "$(on_standby -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'abx%'")"
check "the standby has the extension (replicated)" "t" "$(DB=app on_standby -c "SELECT EXISTS (SELECT FROM pg_extension WHERE extname = 'abx')")"
as_pg "$PG_BIN/pg_ctl" -D "$standby/data" -w promote >/dev/null
check "promoted: the launcher and the database's scheduler start" "t" \
    "$(wait_for on_standby "SELECT count(*) = 2 FROM pg_stat_activity WHERE backend_type IN ('abx launcher', 'abx scheduler')" 20)"
echo "standby: $fails failed"
[ "$fails" -eq 0 ]
