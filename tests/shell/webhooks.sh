#!/usr/bin/env bash
# Delivery of the outbox end to end (docs/integrations.md): a cluster, abx-http with its deliverer
# (deliver = on), a local HTTP receiver and an SMTP sink (tests/gateway/delivery_sinks.py), events
# made by real abx changes. Checks:
#   - seed 001's routing: promotion -> Slack + email, rollback -> Slack + PagerDuty + email, with
#     the payload shapes each channel expects, and signed webhooks for everything;
#   - the receiver down for 5 minutes (of the test clock) then up, two gateways delivering: no
#     event lost, duplicates only with the same event id, order per experiment kept, no attempt
#     sent twice, every signature verifies;
#   - a receiver that answers after the sender's timeout: the event again, same id and body;
#   - down past the 24 h horizon: a dead letter, visible over HTTP and in readiness, retried by hand;
#   - without outbound_allow_private: 127.0.0.1 and localhost are refused, never contacted.
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
name=hooks-webhooks
env_file="$(bash scripts/cluster.sh start $name --fresh)"
source "$env_file"; export PGHOST PGPORT PGUSER
export PGDATABASE=abxhooks
work="$(abx_state_dir)/$name/test"
rm -rf "$work"; mkdir -p "$work"
sinks=tests/gateway/delivery_sinks.py
http_port="$(free_port)"; smtp_port="$(free_port)"
receiver_pid=""; smtp_pid=""
receiver_up() {
    python3 "$sinks" http "$http_port" "$work/http.log" & receiver_pid=$!
    for _ in $(seq 1 50); do curl -s -o /dev/null "http://127.0.0.1:$http_port/" && return; sleep 0.1; done
}
receiver_down() {
    if [ -n "$receiver_pid" ]; then kill "$receiver_pid" 2>/dev/null || true; wait "$receiver_pid" 2>/dev/null || true; fi
    receiver_pid=""
}
cleanup() {
    receiver_down
    [ -n "$smtp_pid" ] && kill "$smtp_pid" 2>/dev/null || true
    bash scripts/gateway.sh stop $name-2
    bash scripts/gateway.sh stop $name
    bash scripts/cluster.sh stop $name
}
trap cleanup EXIT
fails=0
check() {  # check DESCRIPTION EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok - $1"; else echo "not ok - $1: expected [$2], got [$3]"; fails=$((fails + 1)); fi
}
q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }
# Waits (real time, at most 30 s) until the query returns t.
wait_for() {
    for _ in $(seq 1 300); do [ "$(q -c "$1")" = t ] && return 0; sleep 0.1; done
    echo "timed out waiting for: $1"; return 1
}
# Moves the delivery clock (the test clock) forward and gives the deliverer a moment to try.
advance() { q -c "SELECT abx.advance_test_clock('$1')" >/dev/null; sleep "${2:-0.3}"; }

createdb abxhooks
secret="whsec_$(openssl rand -hex 24)"
q >/dev/null <<SQL
CREATE EXTENSION abx;
SELECT abx.create_organization('acme');
SELECT abx.set_test_clock(now());
SET abx.organization = 'acme';
SELECT abx.create_delivery_target('{"name": "hook", "kind": "webhook", "url": "http://127.0.0.1:$http_port/hook", "secret": "$secret"}');
SELECT abx.create_delivery_target('{"name": "slack", "kind": "slack", "url": "http://127.0.0.1:$http_port/slack"}');
SELECT abx.create_delivery_target('{"name": "pd", "kind": "pagerduty", "url": "http://127.0.0.1:$http_port/pd", "secret": "PDKEY0123456789"}');
SELECT abx.create_delivery_target('{"name": "mail", "kind": "email", "url": "smtp://127.0.0.1:$smtp_port",
    "settings": {"from": "abx@example.com", "to": ["oncall@example.com", "team@example.com"]}}');
SQL
# The SMTP sink is Debian's python3-aiosmtpd: the system interpreter, whatever python3 is first in PATH.
smtp_python=python3
python3 -c 'import aiosmtpd' 2>/dev/null || smtp_python=/usr/bin/python3
"$smtp_python" "$sinks" smtp "$smtp_port" "$work/smtp.log" & smtp_pid=$!
receiver_up
gw_env="$(bash scripts/gateway.sh start $name "deliver = on" "outbound_allow_private = on" \
    "deliver_poll_ms = 50" "deliver_timeout_ms = 3000" "approval_base_url = https://abx.example.com")"
source "$gw_env"
admin_token="$("$ABX_GATEWAY_BIN" token --config "$ABX_GATEWAY_CONFIG" --role abx_admin --org acme)"
api() { curl -s -H "Authorization: Bearer $admin_token" "$@"; }
settled="SELECT count(*) = 0 FROM abx.deliveries WHERE status = 'pending'"

# --- Routing per seed 001 --------------------------------------------------------------------
started=$SECONDS
q >/dev/null <<'SQL'
SELECT abx.create_experiment('{"code": "promo", "salt": "p", "variants": [{"key": "a", "is_control": true}, {"key": "b"}]}', 'acme');
SELECT abx.start('promo', 'acme');
SELECT abx.promote('promo', 'b', 'clear winner', 'acme');
SELECT abx.rollback('promo', 'error rate up', 'acme');
SQL
wait_for "$settled"
check "every delivery of the promotion and rollback delivered" "0" \
    "$(q -c "SELECT count(*) FROM abx.deliveries WHERE status <> 'delivered'")"
routes="$(python3 - "$work/http.log" <<'PY'
import json, sys
out = []
for line in open(sys.argv[1]):
    r = json.loads(line)
    b = json.loads(r["body"])
    if r["path"] == "/slack":
        out.append("slack:" + b["text"].split("]")[0] + "]" + str("blocks" in b))
    elif r["path"] == "/pd":
        out.append("pd:%s:%s:%s" % (b["routing_key"], b["event_action"], b["payload"]["severity"]))
print(" ".join(sorted(out)))
PY
)"
check "Slack gets the promotion (info) and the rollback (critical); PagerDuty the rollback only" \
    "pd:PDKEY0123456789:trigger:critical slack:[critical]True slack:[info]True" "$routes"
check "PagerDuty's dedup_key is the event id" "t" "$(python3 - "$work/http.log" "$(q -c "SELECT id FROM abx.outbox WHERE type = 'experiment.rolled_back'")" <<'PY'
import json, sys
pd = [json.loads(json.loads(l)["body"]) for l in open(sys.argv[1]) if json.loads(l)["path"] == "/pd"]
print("t" if pd and pd[0]["dedup_key"] == "abx-" + sys.argv[2] and pd[0]["payload"]["source"] == "abx/acme" else "f")
PY
)"
check "email: the promotion and the rollback, to both recipients" \
    "2 oncall@example.com,team@example.com [info] acme/promo promoted variant b" \
    "$(python3 - "$work/smtp.log" <<'PY'
import json, sys
m = [json.loads(l) for l in open(sys.argv[1])]
subjects = sorted(l[len("Subject: "):] for x in m for l in x["data"].splitlines() if l.startswith("Subject: "))
print(len(m), ",".join(m[0]["rcpt_tos"]), subjects[-1] if subjects else "")
PY
)"
check "webhooks: every event of the experiment, once, signed" \
    "$(q -c "SELECT count(*) FROM abx.outbox WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'promo')")" \
    "$(grep -c '"/hook"' "$work/http.log")"
echo "routing took $((SECONDS - started)) s"

# --- The receiver down for 5 minutes, then up, with two gateways delivering ---------------------
started=$SECONDS
second_env="$(bash scripts/gateway.sh start $name-2 "deliver = on" "outbound_allow_private = on" \
    "deliver_poll_ms = 50" "deliver_timeout_ms = 3000")"
receiver_down
q >/dev/null <<'SQL'
SELECT abx.create_experiment('{"code": "e1", "salt": "1", "variants": [{"key": "a", "is_control": true}, {"key": "b"}]}', 'acme');
SELECT abx.create_experiment('{"code": "e2", "salt": "2", "variants": [{"key": "a", "is_control": true}, {"key": "b"}]}', 'acme');
SELECT abx.start('e1', 'acme'), abx.start('e2', 'acme');
SELECT abx.pause('e1', 'acme'), abx.pause('e2', 'acme');
SELECT abx.resume('e1', 'acme'), abx.resume('e2', 'acme');
SELECT abx.pause('e2', 'acme');
SELECT abx.complete('e1', 'acme');
SQL
wait_for "SELECT count(*) > 0 FROM abx.deliveries WHERE attempts > 0 AND last_error IS NOT NULL"
for _ in $(seq 1 20); do advance '15 seconds' 0.25; done   # 5 minutes of test clock
check "while down: nothing delivered, nothing dead" "0|0" \
    "$(q -c "SELECT count(*) FILTER (WHERE d.status = 'delivered'), count(*) FILTER (WHERE d.status = 'dead')
               FROM abx.deliveries d JOIN abx.experiments e ON e.id = d.experiment_id WHERE e.code IN ('e1', 'e2')")"
check "while down: the heads were retried with backoff, the rest wait their turn" "t" \
    "$(q -c "SELECT max(attempts) >= 3 AND min(attempts) = 0 FROM abx.deliveries d JOIN abx.experiments e ON e.id = d.experiment_id
              WHERE e.code IN ('e1', 'e2') AND d.target_id = (SELECT id FROM abx.delivery_targets WHERE name = 'hook')")"
echo "after 5 minutes down: $(q -c "SELECT max(attempts) FROM abx.deliveries") attempts of the oldest delivery"
receiver_up
advance '1 hour' 0
wait_for "$settled"
result="$(python3 - "$work/http.log" "$(q -F ' ' -c "SELECT o.id, e.code FROM abx.outbox o JOIN abx.experiments e ON e.id = o.experiment_id
                                                       WHERE e.code IN ('e1', 'e2') ORDER BY o.id" | tr '\n' ';')" <<'PY'
import json, sys
expected = [l.split() for l in sys.argv[2].split(";") if l.strip()]
lines = [json.loads(l) for l in open(sys.argv[1])]
lines = [r for r in lines if r["path"] == "/hook" and json.loads(r["body"])["experiment"] in ("e1", "e2")]
got = [json.loads(r["body"]) for r in lines]
# Each attempt is one deliverer's: no (delivery, attempt) arrives twice.
attempts = [(r["headers"]["abx-delivery-id"], r["headers"]["abx-delivery-attempt"]) for r in lines]
assert len(attempts) == len(set(attempts)), "an attempt was sent twice"
ids = [b["id"] for b in got]
lost = [i for i, _ in expected if i not in ids]
# Duplicates are allowed only as the same event (same id, same body).
bodies = {}
dupes_differ = any(bodies.setdefault(b["id"], json.dumps(b, sort_keys=True)) != json.dumps(b, sort_keys=True) for b in got)
order_ok = True
for code in ("e1", "e2"):
    firsts = []
    for b in got:
        if b["experiment"] == code and b["id"] not in firsts:
            firsts.append(b["id"])
    order_ok &= firsts == [i for i, c in expected if c == code]
print(len(expected), "lost=%d" % len(lost), "dupes_differ=%s" % dupes_differ, "ordered=%s" % order_ok)
PY
)"
check "down 5 minutes then up (two deliverers): 0 lost, duplicates only of the same event, order per experiment kept" \
    "$(q -c "SELECT count(*) FROM abx.outbox o JOIN abx.experiments e ON e.id = o.experiment_id WHERE e.code IN ('e1', 'e2')") lost=0 dupes_differ=False ordered=True" \
    "$result"
check "every webhook signature verifies (HMAC-SHA256 of t.body, t within 5 minutes)" \
    "$(grep -c '"/hook"' "$work/http.log")" "$(python3 "$sinks" verify "$work/http.log" "$secret" 300)"
check "a wrong secret does not verify" "1" \
    "$(python3 "$sinks" verify "$work/http.log" "whsec_wrong" 300 >/dev/null; echo $?)"
# Which gateway claims what is a race; the property checked above is that no attempt went twice.
echo "deliverers that made attempts: $(q -c "SELECT count(DISTINCT leased_by) FROM abx.deliveries")"
bash scripts/gateway.sh stop $name-2
echo "outage took $((SECONDS - started)) s"

# --- A receiver that answers too late: the event again, with the same id and body ---------------
started=$SECONDS
hook_url() { q -c "SET abx.organization = 'acme'; SELECT abx.update_delivery_target('hook', '{\"url\": \"http://127.0.0.1:$http_port$1\"}')" >/dev/null; }
hook_url /hook/garbage   # a 500 with a body that is not text: recorded, retried
q -c "SELECT abx.resume('e2', 'acme')" >/dev/null
wait_for "SELECT count(*) > 0 FROM abx.deliveries WHERE status = 'pending' AND last_error = 'HTTP 500:    bad'"
hook_url /hook/slow/5   # deliver_timeout_ms is 3000
advance '1 hour' 0
wait_for "SELECT count(*) > 0 FROM abx.deliveries WHERE status = 'pending' AND last_error LIKE '%imeout%'"
hook_url /hook
advance '1 hour' 0
wait_for "$settled"
check "a 500, then received after the sender gave up: sent again, same event id and body" "3 1 1 3" \
    "$(python3 - "$work/http.log" "$(q -c "SELECT max(id) FROM abx.outbox")" <<'PY'
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
got = [r for r in got if r["path"].startswith("/hook") and r["headers"].get("abx-event-id") == sys.argv[2]]
print(len(got), len({r["body"] for r in got}), len({r["headers"]["abx-delivery-id"] for r in got}),
      len({r["headers"]["abx-delivery-attempt"] for r in got}))
PY
)"
echo "late answer took $((SECONDS - started)) s"

# --- Down past the retry horizon: a dead letter, then retried by hand --------------------------
started=$SECONDS
receiver_down
q -c "SELECT abx.archive('e1', 'acme')" >/dev/null
q -c "SELECT abx.pause('e2', 'acme')" >/dev/null
wait_for "SELECT count(*) = 0 FROM abx.deliveries WHERE status = 'pending' AND attempts = 0"
advance '23 hours 59 minutes' 0.5
check "23 h 59 min of failures: still pending" "0" "$(q -c "SELECT count(*) FROM abx.deliveries WHERE status = 'dead'")"
advance '2 hours' 0
wait_for "SELECT count(*) > 0 FROM abx.deliveries WHERE status = 'dead'"
wait_for "$settled"
dead="$(api "$ABX_GATEWAY_URL/api/admin/deliveries?status=dead")"
check "dead letters listed over HTTP with their last error" "t" \
    "$(python3 -c 'import json,sys; d=json.load(sys.stdin)["deliveries"]; print("t" if d and all(x["status"] == "dead" and x["last_error"] for x in d) else "f")' <<<"$dead")"
check "readiness: outbound warns while dead letters wait" "degraded warn" \
    "$(curl -s "$ABX_GATEWAY_URL/readiness" | python3 -c 'import json,sys; r=json.load(sys.stdin); print(r["status"], r["checks"]["outbound"]["status"])')"
receiver_up
for id in $(python3 -c 'import json,sys; print(" ".join(str(x["id"]) for x in json.load(sys.stdin)["deliveries"]))' <<<"$dead"); do
    api -X POST "$ABX_GATEWAY_URL/api/admin/deliveries/$id/retry" -o /dev/null -w '%{http_code}\n' | grep -q 200 || fails=$((fails + 1))
done
wait_for "$settled"
check "retried by hand: delivered, no dead letter left" "0|0" \
    "$(q -c "SELECT count(*) FILTER (WHERE status = 'dead'), count(*) FILTER (WHERE status = 'pending') FROM abx.deliveries")"
check "the retries are audited" "t" "$(q -c "SELECT count(*) > 0 FROM abx.audit_log WHERE action = 'delivery.retry'")"
check "readiness: ready again" "ok" \
    "$(curl -s "$ABX_GATEWAY_URL/readiness" | python3 -c 'import json,sys; print(json.load(sys.stdin)["checks"]["outbound"]["status"])')"
echo "dead letter took $((SECONDS - started)) s"

# --- SSRF: without the allowance, loopback is refused and never contacted ------------------------
bash scripts/gateway.sh stop $name
gw_env="$(bash scripts/gateway.sh start $name "deliver = on" "deliver_poll_ms = 50")"
source "$gw_env"
q >/dev/null <<SQL
SET abx.organization = 'acme';
SELECT abx.update_delivery_target('slack', '{"enabled": false}'), abx.update_delivery_target('pd', '{"enabled": false}'),
       abx.update_delivery_target('mail', '{"enabled": false}');
SELECT abx.create_delivery_target('{"name": "by-name", "kind": "webhook", "url": "http://localhost:$http_port/byname"}');
SELECT abx.create_delivery_target('{"name": "metadata", "kind": "webhook", "url": "http://169.254.169.254/latest/meta-data/"}');
SQL
lines_before="$(wc -l <"$work/http.log")"
q -c "SELECT abx.resume('e2', 'acme')" >/dev/null
wait_for "$settled"
check "SSRF: loopback, localhost and link-local targets dead at once, never sent" \
    "by-name|dead|1|refused: localhost resolves to
hook|dead|1|refused: 127.0.0.1 resolves to 127.0.0.1, a loopback address (outbound_allow_private is off)
metadata|dead|1|refused: 169.254.169.254 resolves to 169.254.169.254, a link-local address (outbound_allow_private is off)" \
    "$(q -c "SELECT t.name, d.status, d.attempts, CASE WHEN t.name = 'by-name' THEN split_part(d.last_error, ' to ', 1) || ' to' ELSE d.last_error END
               FROM abx.deliveries d JOIN abx.delivery_targets t ON t.id = d.target_id
              WHERE d.outbox_id = (SELECT max(id) FROM abx.outbox) ORDER BY 1")"
check "SSRF: the receiver got nothing" "$lines_before" "$(wc -l <"$work/http.log")"

echo "webhooks: $fails failed"
[ "$fails" = 0 ]
