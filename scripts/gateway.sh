#!/usr/bin/env bash
# abx-http next to a local cluster (scripts/cluster.sh), for the demo and the tests.
#   scripts/gateway.sh start NAME [KEY=VALUE ...]   create the gateway's login role in the
#       cluster's database $PGDATABASE (default postgres), write its config, start abx-http on a
#       free port; extra KEY=VALUE lines go into the config. Prints the gateway's env file
#       (ABX_GATEWAY_URL, ABX_GATEWAY_CONFIG, ABX_GATEWAY_PID, ABX_GATEWAY_BIN).
#   scripts/gateway.sh stop NAME                    SIGTERM, wait for the exit
# The cluster NAME must be running and its env sourced (PGHOST, PGPORT, PGUSER).
source "$(dirname "$0")/common.sh"
cmd="${1:?start|stop}"
name="${2:?cluster name}"
state="$(abx_state_dir)/$name"
gw="$state/gateway"
bin="${ABX_HTTP_BIN:-$ABX_ROOT/build/core/abx-http}"

case "$cmd" in
start)
    shift 2
    mkdir -p "$gw"
    db="${PGDATABASE:-postgres}"
    # The login: NOINHERIT, so it holds no right itself; every request SETs the token's role.
    PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -d "$db" >/dev/null <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'abx_http') THEN
    CREATE ROLE abx_http LOGIN NOINHERIT;
  END IF;
END $$;
GRANT abx_gateway, abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader TO abx_http;
SQL
    [ -f "$gw/jwt_secret" ] || head -c 48 /dev/urandom | base64 | tr -d '\n=/+' >"$gw/jwt_secret"
    port="$(free_port)"
    {
        echo "listen_host = 127.0.0.1"
        echo "listen_port = $port"
        echo "db_uri = host=$PGHOST port=$PGPORT dbname=$db user=abx_http application_name=abx-http"
        echo "jwt_secret = @$gw/jwt_secret"
        # The build's binary serves the ops page from the source tree (an installed one finds
        # its own copy under <prefix>/share/abx/ui).
        [ -n "${ABX_HTTP_BIN:-}" ] || echo "ui_dir = $ABX_ROOT/src/ui"
        for kv in "$@"; do echo "$kv"; done
    } >"$gw/abx-http.conf"
    "$bin" --config "$gw/abx-http.conf" >>"$gw/abx-http.log" 2>&1 &
    pid=$!
    printf 'export ABX_GATEWAY_URL=%q ABX_GATEWAY_CONFIG=%q ABX_GATEWAY_PID=%q ABX_GATEWAY_BIN=%q\n' \
        "http://127.0.0.1:$port" "$gw/abx-http.conf" "$pid" "$bin" >"$gw/env"
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$port/health" >/dev/null 2>&1; then
            echo "$gw/env"
            exit 0
        fi
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "abx-http did not start; see $gw/abx-http.log" >&2
    tail -n 20 "$gw/abx-http.log" >&2
    exit 1
    ;;
stop)
    if [ -f "$gw/env" ]; then
        source "$gw/env"
        if kill -TERM "$ABX_GATEWAY_PID" 2>/dev/null; then
            for _ in $(seq 1 100); do kill -0 "$ABX_GATEWAY_PID" 2>/dev/null || break; sleep 0.1; done
        fi
    fi
    ;;
*)
    echo "usage: $0 start|stop NAME" >&2
    exit 2
    ;;
esac
