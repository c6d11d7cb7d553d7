#!/usr/bin/env bash
# abx-http's WebSocket feed end to end (docs/integrations.md, "WebSocket"): a real cluster and a
# real gateway, driven by tests/gateway/websocket_main.py over a stdlib RFC 6455 client: refused
# upgrades, subscribe and winner/status/results events, organization isolation, errors on the
# socket, keep-alive pings, token expiry, a slow client dropped while a fast one keeps up, a
# database restart (resubscription and catch-up), and 1,000 concurrent clients receiving a winner
# change within 1 s (p50/p99/max printed).
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
# 1,000 clients and their server ends: two descriptors each, plus the usual.
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt 4096 ]; then ulimit -n 4096; fi
env_file="$(bash scripts/cluster.sh start websocket --fresh)"
source "$env_file"; export PGHOST PGPORT PGUSER
export PGDATABASE=abxws
cleanup() {
    bash scripts/gateway.sh stop websocket || true
    bash scripts/cluster.sh stop websocket
}
trap cleanup EXIT

createdb abxws
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION abx" \
    -c "SELECT abx.create_organization('acme'), abx.create_organization('globex')" >/dev/null

# Small limits so the slow-client and keep-alive checks take seconds: 32 queued messages, a
# 4 KB socket send buffer per client, a ping after 2 s of silence, 1 s of token leeway.
gw_env="$(bash scripts/gateway.sh start websocket \
    "threads = 2" "pool_size = 8" "jwt_leeway_seconds = 1" \
    "websocket_queue_messages = 32" "websocket_send_buffer_bytes = 4096" \
    "websocket_ping_seconds = 2" "websocket_max_clients = 2000")"
source "$gw_env"
export ABX_GATEWAY_URL ABX_GATEWAY_CONFIG
export WS_TEST_SECRET_FILE="$(dirname "$ABX_GATEWAY_CONFIG")/jwt_secret"
as_postgres=""; [ "$(id -u)" = 0 ] && as_postgres="runuser -u postgres --"
export WS_TEST_PG_RESTART="$as_postgres $PG_BIN/pg_ctl -D $(abx_state_dir)/websocket/data -l $(abx_state_dir)/websocket/postgres.log -m fast -w restart"
python3 tests/gateway/websocket_main.py "$@"
