#!/usr/bin/env bash
# abx-http end to end (docs/http-api.md): a real cluster and a real gateway, driven over HTTP by
# tests/gateway/main.py: every route of every seed, the JWT attack list, roles, Basic superadmin,
# internal tokens, error mapping, rate limits, a 10 MB body, SIGTERM with a request in flight, and
# the database down for 30 s.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
env_file="$(bash scripts/cluster.sh start gateway --fresh)"
source "$env_file"; export PGHOST PGPORT PGUSER
export PGDATABASE=abxgw
work="$(abx_state_dir)/gateway/test"
rm -rf "$work"; mkdir -p "$work/keys"
pidfile="$work/pid"
cleanup() {
    [ -f "$pidfile" ] && kill -TERM "$(cat "$pidfile")" 2>/dev/null || true
    bash scripts/cluster.sh stop gateway
}
trap cleanup EXIT

createdb abxgw
psql -X -q -v ON_ERROR_STOP=1 -c "CREATE EXTENSION abx" \
    -c "SELECT abx.create_organization('acme'), abx.create_organization('globex')" >/dev/null

# Keys: RS256 and ES256 pairs the gateway trusts, and an RSA key it does not.
k="$work/keys"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/rs.pem" 2>/dev/null
openssl pkey -in "$k/rs.pem" -pubout -out "$k/rs.pub.pem"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$k/ec.pem" 2>/dev/null
openssl pkey -in "$k/ec.pem" -pubout -out "$k/ec.pub.pem"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$k/other.pem" 2>/dev/null
export GATEWAY_TEST_SUPERADMIN_PASSWORD="s3cret-$RANDOM$RANDOM"
hash="$(printf '%s\n' "$GATEWAY_TEST_SUPERADMIN_PASSWORD" | build/core/abx-http hash-password)"
export GATEWAY_TEST_INTERNAL_TOKEN="cron-$(openssl rand -hex 24)"
psql -X -q -v ON_ERROR_STOP=1 -c "SELECT abx.set_internal_token('$GATEWAY_TEST_INTERNAL_TOKEN')" >/dev/null

gw_env="$(bash scripts/gateway.sh start gateway \
    "jwt_secret_kid = hs1" \
    "jwt_public_keys = RS256:rs1:$k/rs.pub.pem, ES256:ec1:$k/ec.pub.pem" \
    "jwt_audience = abx" "jwt_require_audience = true" \
    "superadmin_user = root" "superadmin_password_hash = $hash" \
    "max_body_bytes = 16777216" "pool_size = 4" "threads = 2")"
source "$gw_env"
echo "$ABX_GATEWAY_PID" >"$pidfile"
export ABX_GATEWAY_URL ABX_GATEWAY_CONFIG ABX_GATEWAY_BIN
export GATEWAY_TEST_PIDFILE="$pidfile"
export GATEWAY_TEST_LOG="$(dirname "$ABX_GATEWAY_CONFIG")/abx-http.log"
export GATEWAY_TEST_SECRET_FILE="$(dirname "$ABX_GATEWAY_CONFIG")/jwt_secret"
export GATEWAY_TEST_KEYS="$k"
export GATEWAY_TEST_PG_STOP="bash $ABX_ROOT/scripts/cluster.sh stop gateway"
export GATEWAY_TEST_PG_START="bash $ABX_ROOT/scripts/cluster.sh start gateway"
python3 tests/gateway/main.py "$@"
