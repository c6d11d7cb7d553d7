#!/usr/bin/env bash
# The ops page (/ui/ of abx-http) in a real headless Chromium (Debian's chromium and
# chromium-driver, driven by python3-selenium): sign in, guided creation with validation errors
# fixed on the way, start, simulated traffic, results and charts, promotion seen live over the
# WebSocket in a second window, rollback with a reason, the audit page and its chain, RBAC
# (marketing sees no archive, a service token cannot open the page), a narrow screen.
# Screenshots of every step: build/ui-screenshots/ (git-ignored).
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    echo "SKIPPED: Chromium cannot start here (/usr/bin/chromium or /usr/bin/chromedriver missing;"
    echo "         scripts/deps.sh installs chromium and chromium-driver)"
    exit 0
fi
name=ops-page
env_file="$(bash scripts/cluster.sh start $name --fresh)"
cleanup() {
    bash scripts/gateway.sh stop $name >/dev/null 2>&1 || true
    bash scripts/cluster.sh stop $name >/dev/null 2>&1 || true
}
trap cleanup EXIT
source "$env_file"; export PGHOST PGPORT PGUSER
export PGDATABASE=ops
PGOPTIONS="-c client_min_messages=warning" psql -X -q -d postgres -c "CREATE DATABASE ops"
internal_token="$(head -c 32 /dev/urandom | base64 | tr -d '\n=/+')"
psql -X -q -v ON_ERROR_STOP=1 -d ops >/dev/null <<SQL
CREATE EXTENSION abx;
SELECT abx.create_organization('acme', 'Acme Payments');
SELECT abx.set_internal_token('$internal_token');
-- A product manager working for two organizations (the page's organization switcher).
SELECT abx.create_organization('globex', 'Globex Retail');
CREATE ROLE multi_pm NOLOGIN;
GRANT abx_experimenter TO multi_pm;
SELECT abx.add_member('acme', 'multi_pm');
SELECT abx.add_member('globex', 'multi_pm');
CREATE ROLE abx_http LOGIN NOINHERIT;  -- the gateway's login (scripts/gateway.sh), which may act as multi_pm
GRANT multi_pm TO abx_http;
-- A job that fails, run once by hand: the audit page lists the run and its error.
SELECT abx.add_job('nightly_report', 'SELECT 1 / 0', schedule => '1 day', enabled => false);
SELECT count(*) FROM abx.run_job('nightly_report');
SELECT abx.create_experiment('{"code": "globex-banner", "name": "Globex banner", "variants": [{"key": "a"}, {"key": "b"}]}', 'globex');
SQL

gw_env="$(bash scripts/gateway.sh start $name)"
source "$gw_env"
token() { "$ABX_GATEWAY_BIN" token --config "$ABX_GATEWAY_CONFIG" --ttl 3600 "$@"; }
export ABX_UI_URL="$ABX_GATEWAY_URL"
export ABX_UI_MARKETING_TOKEN="$(token --role abx_experimenter --org acme --sub pm-marie)"
export ABX_UI_ADMIN_TOKEN="$(token --role abx_admin --org acme --sub ops-admin-sam)"
export ABX_UI_SERVICE_TOKEN="$(token --role abx_service --org acme --sub checkout-service)"
export ABX_UI_MULTI_ORG_TOKEN="$(token --role multi_pm --sub pm-multi)"
export ABX_UI_PLATFORM_TOKEN="$(token --role abx_admin --sub platform-ops)"
export ABX_UI_INTERNAL_TOKEN="$internal_token"
export ABX_UI_SCREENSHOTS="$ABX_ROOT/build/ui-screenshots"
rm -rf "$ABX_UI_SCREENSHOTS"
# Debian's Selenium is a package of Debian's python3 (not of another python3 first on PATH).
/usr/bin/python3 tests/ui/ops_page.py
