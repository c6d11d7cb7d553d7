#!/usr/bin/env bash
# make demo: dependencies, build, install, a local cluster with abx preloaded, a simulated
# experiment end to end, and abx-http in front of it. Leaves the cluster and the gateway running.
source "$(dirname "$0")/common.sh"
cd "$ABX_ROOT"
say "dependencies"
bash scripts/deps.sh
say "build and install the extension"
make -j"$(nproc)" >build.log 2>&1 || { tail -n 40 build.log; exit 1; }
$SUDO make install >>build.log 2>&1 || { tail -n 20 build.log; exit 1; }
rm -f build.log
say "local cluster (shared_preload_libraries = 'abx')"
# A cluster left running by an earlier demo has the previous abx.so preloaded: restart it.
bash scripts/cluster.sh stop demo
envfile="$(bash scripts/cluster.sh start demo)"
source "$envfile"
export PGHOST PGPORT PGUSER
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS abx_demo" -c "CREATE DATABASE abx_demo"
say "simulated experiment"
psql -X -q -d abx_demo -f scripts/demo.sql

say "abx-http: the same experiments over HTTP"
bash scripts/gateway.sh stop demo
gw_env="$(PGDATABASE=abx_demo bash scripts/gateway.sh start demo)"
source "$gw_env"
token_file="$(dirname "$ABX_GATEWAY_CONFIG")/service.token"
"$ABX_GATEWAY_BIN" token --config "$ABX_GATEWAY_CONFIG" --role abx_service --sub demo --ttl 86400 >"$token_file"
export TOKEN="$(cat "$token_file")"
u="$ABX_GATEWAY_URL"
# Each command is printed as it can be pasted (after TOKEN=$(cat $token_file)), then run.
show() { printf '$ %s\n' "$1"; bash -c "$1"; echo; echo; }
show "curl -s $u/readiness"
show "curl -s '$u/api/experiments/welcome-banner/assignment?subjectId=visitor-7' -H \"Authorization: Bearer \$TOKEN\""
show "curl -s -X POST $u/api/experiments/welcome-banner/events -H \"Authorization: Bearer \$TOKEN\" -H 'Content-Type: application/json' -d '{\"subjectId\": \"visitor-7\", \"eventKey\": \"signup\"}'"
show "curl -s $u/api/experiments/welcome-banner/winner -H \"Authorization: Bearer \$TOKEN\""

cat <<MSG

The demo cluster and abx-http keep running. Connect with:
    psql -h $PGHOST -p $PGPORT -U $PGUSER abx_demo
    (or: source $envfile && psql abx_demo)
Try:  SELECT * FROM abx.assign('checkout-button', 'visitor-1');
      SELECT * FROM abx.variant_overview;
Over HTTP (docs/http-api.md; the routes are in docs/openapi.json):
    TOKEN=\$(cat $token_file)     # or: $ABX_GATEWAY_BIN token --config $ABX_GATEWAY_CONFIG --role abx_service
    curl -s "$ABX_GATEWAY_URL/api/experiments/checkout-button/assignment?subjectId=visitor-1" -H "Authorization: Bearer \$TOKEN"
    curl -s -X POST "$ABX_GATEWAY_URL/api/experiments/checkout-button/events" -H "Authorization: Bearer \$TOKEN" \\
         -H "Content-Type: application/json" -d '{"subjectId": "visitor-1", "eventKey": "purchase", "value": 42}'
    curl -s "$ABX_GATEWAY_URL/api/experiments/checkout-button/winner" -H "Authorization: Bearer \$TOKEN"
Stop both with:  make demo-stop
MSG
