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
# A cluster left running by an earlier demo has the previous abx.so preloaded: restart it (after
# its gateway, whose feed and deliverer would reconnect to the database dropped below).
bash scripts/gateway.sh stop demo
bash scripts/cluster.sh stop demo
envfile="$(bash scripts/cluster.sh start demo)"
source "$envfile"
export PGHOST PGPORT PGUSER
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "DROP DATABASE IF EXISTS abx_demo" -c "CREATE DATABASE abx_demo"
say "simulated experiment"
psql -X -q -d abx_demo -f scripts/demo.sql

say "abx-http: the same experiments over HTTP"
# The gateway also delivers the outbox (webhooks, Slack, PagerDuty, email); the demo's receiver is
# on 127.0.0.1, which the SSRF rule refuses unless allowed.
gw_env="$(PGDATABASE=abx_demo bash scripts/gateway.sh start demo deliver=on outbound_allow_private=on)"
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

say "outward: a WebSocket subscriber and a signed webhook (docs/integrations.md)"
hook_dir="$(dirname "$ABX_GATEWAY_CONFIG")"
hook_log="$hook_dir/webhook.log"
rm -f "$hook_log"
hook_port="$(free_port)"
python3 tests/gateway/delivery_sinks.py http "$hook_port" "$hook_log" >/dev/null 2>&1 &
hook_pid=$!
trap 'kill $hook_pid 2>/dev/null || true' EXIT
psql -X -q -At -d abx_demo -c "SELECT abx.create_delivery_target(jsonb_build_object('name', 'demo-hook',
    'kind', 'webhook', 'url', 'http://127.0.0.1:$hook_port/abx', 'secret', 'demo-secret-0123456789',
    'event_types', jsonb_build_array('experiment.status_changed')))->>'name' AS webhook_target" >/dev/null
reader="$("$ABX_GATEWAY_BIN" token --config "$ABX_GATEWAY_CONFIG" --role abx_reader --sub demo --ttl 600)"
echo "WebSocket $ABX_GATEWAY_URL/api/experiments/ws, subscribed to welcome-banner:"
python3 scripts/demo_outward.py 127.0.0.1 "${ABX_GATEWAY_URL##*:}" "$reader" welcome-banner psql -X -q -d abx_demo
for _ in $(seq 1 50); do [ "$(wc -l <"$hook_log" 2>/dev/null || echo 0)" -ge 2 ] && break; sleep 0.2; done
echo "Webhook receiver on port $hook_port got $(wc -l <"$hook_log") signed POSTs:"
python3 -c 'import json,sys
for line in open(sys.argv[1]):
    r = json.loads(line); b = json.loads(r["body"])
    print("  abx-event-id", r["headers"].get("abx-event-id"), b["type"], b["data"]["from"], "->", b["data"]["to"])' "$hook_log"
python3 tests/gateway/delivery_sinks.py verify "$hook_log" demo-secret-0123456789 | sed "s|^|  signatures verified (HMAC-SHA256, docs/integrations.md): |"

say "the ops page: live traffic over HTTP, one aggregation per wave (a point on its charts each)"
internal_token="$(head -c 32 /dev/urandom | base64 | tr -d '\n=/+')"
psql -X -q -At -d abx_demo -c "SELECT abx.set_internal_token('$internal_token')" >/dev/null
python3 scripts/simulate_traffic.py "$u" checkout-button --token "$TOKEN" --internal-token "$internal_token" \
    --subjects 300 --waves 3 --rate blue=0.10 --rate green=0.13 --rate orange=0.08 --prefix demo-web \
    --context country=SN --context lang=fr
ops_token="$("$ABX_GATEWAY_BIN" token --config "$ABX_GATEWAY_CONFIG" --role abx_admin --sub demo-ops-admin --ttl 28800)"

cat <<MSG

The ops page:  $ABX_GATEWAY_URL/ui/
Sign in as an ops admin (a demo link, valid 8 hours; the token stays in the URL's fragment, which
the browser never sends):
    $ABX_GATEWAY_URL/ui/#token=$ops_token
Other roles: $ABX_GATEWAY_BIN token --config $ABX_GATEWAY_CONFIG --role abx_experimenter (then paste it).

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
Live updates: a WebSocket on $ABX_GATEWAY_URL/api/experiments/ws (Authorization: Bearer <a reader's
token>), then {"type": "subscribe", "experimentCode": "checkout-button"}. Webhooks, Slack, PagerDuty,
email: abx.create_delivery_target(...) (docs/integrations.md); this gateway delivers them.
Stop both with:  make demo-stop
MSG
