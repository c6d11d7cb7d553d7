#!/usr/bin/python3
"""End-to-end scenarios of the ops page in headless Chromium, against the cluster and abx-http
that tests/shell/ops_page.sh started. Each step depends on the ones before: a failed step stops
the run (with its screenshot)."""
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request

from selenium.webdriver.common.keys import Keys

sys.path.insert(0, os.path.dirname(__file__))
from browser import Browser  # noqa: E402

BASE = os.environ["ABX_UI_URL"]
MARKETING = os.environ["ABX_UI_MARKETING_TOKEN"]
ADMIN = os.environ["ABX_UI_ADMIN_TOKEN"]
SERVICE = os.environ["ABX_UI_SERVICE_TOKEN"]
MULTI = os.environ["ABX_UI_MULTI_ORG_TOKEN"]
PLATFORM = os.environ["ABX_UI_PLATFORM_TOKEN"]
INTERNAL = os.environ["ABX_UI_INTERNAL_TOKEN"]
ROOT = os.path.join(os.path.dirname(__file__), "..", "..")
CODE = "checkout-cta"

b = Browser(BASE, os.environ.get("ABX_UI_SCREENSHOTS", "build/ui-screenshots"))


def call(method, path, token, body=None):
    """The HTTP API directly, as another client of the same gateway would call it."""
    req = urllib.request.Request(BASE + path, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read() or b"null")


def simulate(code, *args):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "scripts/simulate_traffic.py"), BASE, code,
                          "--token", SERVICE, "--internal-token", INTERNAL, *args],
                         capture_output=True, text=True, timeout=300)
    print("# " + (out.stdout.strip() or out.stderr.strip()[-300:]))
    return out.returncode == 0
d = b.driver
windows = {}


def sign_in_with_keyboard():
    b.open("")
    token = b.el("#token")
    b.check("the sign-in page puts the focus on the token field", d.switch_to.active_element == token)
    token.send_keys(MARKETING)
    d.switch_to.active_element.send_keys(Keys.TAB)
    b.check("Tab reaches the Sign in button", d.switch_to.active_element.text == "Sign in")
    d.switch_to.active_element.send_keys(Keys.ENTER)
    b.text_of("main h1", contains="Experiments")
    b.text_of("#experiment-list", contains="No active experiments")
    b.check("the empty list says so", "No active experiments yet" in b.find("#experiment-list").text)
    b.check("marketing sees New experiment", b.find("#new-experiment") is not None)
    b.check("the header names the role", "experimenter" in b.find(".who").text, b.find(".who").text)
    b.shot("signed-in-empty-list")
    windows["marketing"] = d.current_window_handle


def create_with_errors_fixed():
    b.click("#new-experiment")
    b.fill("#f-name", "Checkout CTA")
    b.fill("#f-code", CODE)
    b.fill("#f-description", "A bolder checkout button converts more visitors")
    b.fill("#f-variants-0-weight", "50")
    b.fill("#f-variants-1-weight", "40")
    b.fill("#f-variants-1-config", '{"label": "Pay now"')
    b.fill("#f-metrics-primary-event", "purchase")
    b.click("#add-secondary")
    b.fill("#f-metrics-secondary-0-key", "revenue")
    b.fill("#f-metrics-secondary-0-event", "purchase")
    b.click("#add-guardrail")
    b.fill("#f-metrics-guardrails-0-key", "checkout_errors")
    b.fill("#f-metrics-guardrails-0-event", "checkout_error")
    b.fill("#f-targeting", '{"country": {"bogus": 1}}')
    b.fill("#f-winner_policy-min_assignments", "300")
    b.fill("#f-winner_policy-pick_after_hours", "0")
    b.click("#submit-experiment")
    msg = b.text_of("[data-field=variants] + .field-error", contains="add up to 90")
    b.check("weights adding up to 90 % are refused at the variants", "not 100 %" in msg, msg)
    b.check("the weight total is marked", "bad" in b.find("#weight-total").get_attribute("class"))
    b.check("a config that is not JSON is refused at its field",
            b.find("#f-variants-1-config").get_attribute("aria-invalid") == "true")
    b.shot("create-client-errors")
    # Fixed; but the second variant now has the control's key: the server refuses it, and the
    # page shows the server's message at that variant's key.
    b.fill("#f-variants-1-weight", "50")
    b.fill("#f-variants-1-config", '{"label": "Pay now"}')
    b.fill("#f-variants-1-key", "control")
    b.fill("#f-targeting", '{"country": ["SN", "FR"]}')
    b.click("#submit-experiment")
    msg = b.text_of("#f-variants-1-key ~ .field-error", contains="duplicate")
    b.check("the server's error is shown at the field it names", "Variant 2, key" in msg, msg)
    b.check("the form's error summary is readable", "request was refused" in b.find("#form-status").text,
            b.find("#form-status").text)
    b.shot("create-server-error-at-field")
    b.fill("#f-variants-1-key", "treatment")
    b.fill("#f-targeting", '{"country": {"oops": 1}}')
    b.click("#submit-experiment")
    msg = b.text_of("#f-targeting ~ .field-error", contains="operator")
    b.check("a bad targeting rule is shown at the targeting field", "Targeting" in msg and "country" in msg, msg)
    b.fill("#f-targeting", "{}")
    b.click("#submit-experiment")
    b.wait(lambda: d.current_url.endswith(f"#/experiments/{CODE}"), what="the experiment page")
    b.text_of("#status", contains="draft")
    b.check("the new experiment is a draft", True)
    spec = b.text_of("#document", contains="checkout_errors")
    b.check("its metrics hold the secondary metric and the guardrail", '"revenue"' in spec and '"minimize"' in spec, spec)
    b.shot("created-draft")


def start():
    b.click("#action-start")
    b.text_of("#status", contains="running")
    b.check("Start makes it running", True)
    b.text_of("#live-state", contains="live")
    b.check("the page is subscribed to live updates", True)


def edit_pause_resume():
    b.click("#action-edit")
    b.el("#experiment-form")
    b.check("a running experiment's variant keys and control cannot change",
            b.find("#f-variants-0-key").get_attribute("disabled") is not None
            and b.find('input[name="control"]').get_attribute("disabled") is not None)
    b.fill("#f-description", "A bolder checkout button converts more visitors (checked on mobile too)")
    b.click("#submit-experiment")
    b.text_of("#document", contains="checked on mobile too")
    b.check("an edit allowed while running is saved", True)
    b.click("#action-pause")
    b.text_of("#status", contains="paused")
    b.check("Pause, then the button to resume", b.find("#action-resume") is not None and b.find("#action-pause") is None)
    b.click("#action-resume")
    b.text_of("#status", contains="running")
    b.check("Resume makes it running again", True)


def traffic_and_results():
    ok = simulate(CODE, "--subjects", "500", "--waves", "4", "--rate", "control=0.08", "--rate", "treatment=0.2")
    b.check("the simulated traffic ran over HTTP", ok)
    # The results arrive through the WebSocket's results messages: no reload.
    b.el('table.results[data-metric="conversion"] tr[data-variant="treatment"]', timeout=30)
    row = b.text_of('table.results[data-metric="conversion"] tr[data-variant="treatment"]', contains="%")
    b.check("the results table has the treatment's n, rate and interval", "%" in row and "…" in row, row)
    b.check("the insight sentence names the leader", "treatment" in b.text_of("#insight-sentence"))
    b.check("SRM status is shown", "sample ratio mismatch" in b.text_of("#srm-status").lower())
    points = b.wait(lambda: b.js("const c = Chart.getChart('chart-conversion'); return c && c.data.labels.length"),
                    timeout=20, what="the conversion chart")
    b.check("the cumulative conversion chart has one point per look (4 waves)", points >= 4, points)
    seq = b.js("const c = Chart.getChart('chart-sequential'); return c ? c.data.datasets[0].data.filter(x => x !== null).length : 0")
    b.check("the sequential p-value chart has the looks", seq >= 4, seq)
    checks = [e.get_attribute("data-check") for e in b.all("#safety-checks tbody tr")]
    b.check("eligibility lists every safety check", {"min_sample_size", "min_confidence", "srm_clean"} <= set(checks), checks)
    b.js("document.getElementById('notices').replaceChildren()")  # a clean picture for the README
    b.shot("results-and-charts")


def bandit_charts_and_approval():
    code = "checkout-bandit"
    call("POST", "/api/experiments", MARKETING, {
        "code": code, "name": "Checkout bandit", "kind": "bandit",
        "variants": [{"key": "a", "weight": 34, "is_control": True}, {"key": "b", "weight": 33}, {"key": "c", "weight": 33}],
        "metrics": {"primary": {"key": "conversion", "kind": "rate", "event": "purchase"}},
        "analysis": {"bandit": {"min_samples": 50, "min_share": 0.05}},
        "winner_policy": {"mode": "automatic", "require_manual_approval": True, "min_assignments": 100,
                          "pick_after_hours": 0, "min_improvement": 0.05}})
    call("POST", f"/api/experiments/{code}/start", MARKETING)
    b.check("bandit traffic ran", simulate(code, "--subjects", "300", "--waves", "4", "--rate", "a=0.05",
                                           "--rate", "b=0.12", "--rate", "c=0.3", "--prefix", "bandit"))
    b.open(f"#/experiments/{code}")
    looks = b.wait(lambda: b.js("const c = Chart.getChart('chart-bandit-share'); return c && c.data.labels.length"),
                   timeout=20, what="the bandit share chart")
    b.check("the bandit share chart has a point per look", looks >= 4, looks)
    shares = b.js("""const c = Chart.getChart('chart-bandit-share');
        return Object.fromEntries(c.data.datasets.map(d => [d.label, [d.data[0], d.data[d.data.length - 1]]]))""")
    last_total = sum(v[1] for v in shares.values())
    b.check("the arms' shares add up to 1 at the last look", abs(last_total - 1) < 1e-6, shares)
    b.check("Thompson sampling gives the best arm (c) more than its base share of 33 %",
            shares["c"][1] > 0.34 and shares["c"][1] == max(v[1] for v in shares.values()), shares)
    params = b.js("const c = Chart.getChart('chart-bandit-params'); return c.data.datasets.map(d => d.label)")
    b.check("α and β are charted for every arm", set(params) == {f"{v} {p}" for v in "abc" for p in "αβ"}, params)
    b.check("a bandit's SRM is shown as not applicable", "not applicable" in b.text_of("#srm-status"))
    b.check("... and does not block its winner", "not required" in b.text_of('#safety-checks tr[data-check="srm_clean"]'))
    b.js("document.getElementById('charts').scrollIntoView()")
    b.shot("bandit-charts")

    # Manual approval (seed 001): the hourly auto-promotion asks, a person rejects with a reason;
    # it asks again, a person approves. The page offers approve and reject only while one waits.
    b.check("no approval is offered before one is requested", b.find("#approve") is None)
    asked = call("POST", "/api/monitoring/auto-promotion/check", INTERNAL, {})
    b.check("the auto-promotion requests an approval for the bandit", asked["data"]["approvalRequested"] == 1, asked)
    b.text_of("#pending-approval", contains="Approval requested", timeout=10)
    b.check("the request shows live (WebSocket), approve and reject with it", b.find("#approve") is not None)
    b.click("#reject")
    b.check("a rejection needs a reason", "reason" in b.text_of("#promotion-status", contains="reason"))
    b.fill("#promotion-reason", "Wait for the weekend traffic")
    b.click("#reject")
    b.gone("#pending-approval")
    b.check("rejected with a reason: nothing waits any more", b.find("#approve") is None)
    asked = call("POST", "/api/monitoring/auto-promotion/check", INTERNAL, {})
    b.check("... and asks again at its next run", asked["data"]["approvalRequested"] == 1, asked)
    b.el("#approve", timeout=10)
    b.fill("#promotion-reason", "Weekend traffic confirms arm c")
    b.click("#approve")
    b.text_of("#promoted", contains="c")
    b.check("approved: the bandit's best arm is promoted", True)
    b.shot("bandit-approved")
    b.open(f"#/experiments/{CODE}")
    b.el('table.results[data-metric="conversion"]')


def promote_seen_live_in_another_window():
    d.switch_to.new_window("window")
    windows["admin"] = d.current_window_handle
    b.open(f"#token={ADMIN}")
    b.text_of("main h1", contains="Experiments")
    b.open(f"#/experiments/{CODE}")
    b.text_of("#live-state", contains="live")
    b.js("window.__noReload = 'kept'")
    d.switch_to.window(windows["marketing"])
    b.el("#promote")
    b.fill("#promotion-reason", "Treatment converts 2.5 times better")
    b.click("#promote")
    b.text_of("#promoted", contains="treatment")
    b.check("marketing promotes the winner with a reason", True)
    d.switch_to.window(windows["admin"])
    b.text_of("#promoted", contains="treatment", timeout=10)
    b.check("the other window shows the promotion live (WebSocket)", True)
    b.check("... without a reload", b.js("return window.__noReload") == "kept")
    b.check("a live notice tells what changed", "Live:" in b.text_of("#notices", contains="Live:"))
    b.shot("promotion-live-in-admin-window")


def rollback_with_reason():
    b.click("#rollback")
    b.check("a rollback without a reason is refused in the page", "reason" in b.text_of("#promotion-status", contains="reason"))
    b.fill("#promotion-reason", "Checkout errors rose after the promotion")
    b.click("#rollback")
    b.gone("#promoted")
    b.check("the admin rolls back with a reason", True)
    history = b.text_of("#history-table", contains="Checkout errors rose")
    b.check("the history shows the rollback and its reason", "Checkout errors rose" in history, history)
    d.switch_to.window(windows["marketing"])
    b.gone("#promoted", timeout=10)
    b.check("the marketing window sees the rollback live", True)
    b.shot("rolled-back")


def audit_page():
    d.switch_to.window(windows["admin"])
    b.click('#nav a[href="#/audit"]')
    status = b.text_of("#chain-status", contains="chain")
    b.check("the audit chain verifies", "verifies" in status and "ok" in b.find("#chain-status").get_attribute("class"), status)
    b.fill("#audit-experiment", CODE)
    b.click("#audit-filters button[type=submit]")
    b.wait(lambda: "experiment=" in d.current_url and b.find("#audit-table"), what="the filtered log")
    actions = {e.get_attribute("data-action") for e in b.all("#audit-table tbody tr")}
    wanted = {"experiment.create", "experiment.start", "experiment.promote", "experiment.rollback"}
    b.check("the audit page lists every step of the experiment", wanted <= actions, sorted(actions))
    b.check("an organization's admin is told that jobs are the platform's",
            "belong to the platform" in b.text_of("#jobs", contains="platform"))
    b.shot("audit")


def rbac_archive():
    d.switch_to.window(windows["marketing"])
    b.click("#action-complete")
    d.switch_to.alert.accept()
    b.text_of("#status", contains="completed")
    b.check("marketing completes the experiment", True)
    b.check("marketing is not shown Archive", b.find("#action-archive") is None)
    b.shot("marketing-completed-no-archive")
    d.switch_to.window(windows["admin"])
    b.open(f"#/experiments/{CODE}")
    b.text_of("#status", contains="completed")
    b.click("#action-archive")
    d.switch_to.alert.accept()
    b.text_of("#status", contains="archived")
    b.check("the ops admin archives it", True)
    b.open("#/experiments?status=archived")
    b.text_of("#experiment-list", contains=CODE)
    b.check("the archived filter lists it", True)


def narrow_screen():
    d.switch_to.window(windows["admin"])
    d.set_window_size(390, 844)
    b.open(f"#/experiments/{CODE}")
    b.el('table.results[data-metric="conversion"]')
    overflow = b.js("return document.documentElement.scrollWidth - window.innerWidth")
    b.check("the experiment page fits a 390 px screen (tables scroll inside)", overflow <= 1, overflow)
    b.shot("narrow-experiment-page")
    d.set_window_size(1280, 1000)


def service_token_refused():
    d.switch_to.window(windows["marketing"])
    b.click("#sign-out")
    b.fill("#token", SERVICE)
    b.click("form.signin button[type=submit]")
    msg = b.text_of("#signin-status", contains="cannot open")
    b.check("a service token cannot open the page", "experiments:read" in msg, msg)
    b.check("... and is not kept", b.js("return sessionStorage.getItem('abx.token')") is None)
    b.shot("service-token-refused")


def organization_switcher():
    d.switch_to.window(windows["marketing"])
    b.fill("#token", MULTI)
    b.click("form.signin button[type=submit]")
    switch = b.el("#org-switch")
    options = [o.get_attribute("value") for o in switch.find_elements("css selector", "option")]
    b.check("a user of two organizations gets a switcher with both", {"acme", "globex"} <= set(options), options)
    b.open("#/experiments?status=all")
    b.text_of("#experiment-list", contains="Checkout CTA")
    b.check("acting for acme lists acme's experiments", "Globex banner" not in b.text_of("#experiment-list"))
    from selenium.webdriver.support.select import Select
    Select(b.find("#org-switch")).select_by_value("globex")
    b.text_of("#experiment-list", contains="Globex banner")
    b.check("switching to globex lists globex's experiments only", "Checkout CTA" not in b.text_of("#experiment-list"))
    b.shot("organization-switcher")


def platform_audit():
    d.switch_to.window(windows["marketing"])
    b.click("#sign-out")
    b.fill("#token", PLATFORM)
    b.click("form.signin button[type=submit]")
    b.text_of("main h1", contains="Experiments")
    # A policy denial: autonomy off for acme, then a META start (seed 000) is refused and audited.
    subprocess.run(["psql", "-X", "-q", "-d", "ops", "-c", "SELECT abx.set_autonomy('acme', false)"], check=True,
                   capture_output=True)
    try:
        call("POST", "/api/meta/experiments/start", MARKETING, {"name": "Autonomous checkout", "goal": "conversion",
             "sla_target": {"p95_latency_ms": 800, "error_rate_threshold": 0.05}, "prometheus": {"baseUrl": "http://127.0.0.1:9090"}})
        refused = None
    except urllib.error.HTTPError as e:
        refused = e.code
    b.check("a META start without autonomy is refused", refused == 403, refused)
    b.click('#nav a[href="#/audit"]')
    denial = b.text_of("#denials", contains="policy.deny")
    b.check("the policy denial is listed", "denied" in denial, denial)
    b.check("a platform auditor sees the chain's head", "head #" in b.text_of("#chain-status", contains="verifies"))
    job = b.text_of("#jobs-table", contains="nightly_report")
    b.check("the jobs list the failing job with its failure", "nightly_report" in job and "failed" in job, job)
    runs = b.text_of("#runs-table", contains="division by zero")
    b.check("the run's error is shown", "22012" in runs, runs)
    b.shot("platform-audit-jobs")


STEPS = [sign_in_with_keyboard, create_with_errors_fixed, start, edit_pause_resume, traffic_and_results, bandit_charts_and_approval,
         promote_seen_live_in_another_window, rollback_with_reason, audit_page, rbac_archive,
         narrow_screen, service_token_refused, organization_switcher, platform_audit]

try:
    for step in STEPS:
        try:
            step()
        except Exception as e:  # a failed step: its screenshot, then stop (the next ones need it)
            b.check(f"step {step.__name__}", False, f"{type(e).__name__}: {e}"[:500])
            print("# screenshot: " + b.shot(f"FAILED-{step.__name__}"))
            break
    for name, handle in windows.items():
        d.switch_to.window(handle)
        errors = b.js_errors()
        b.check(f"no JavaScript error in the {name} window", not errors, errors[:3])
finally:
    b.quit()
print(f"# screenshots: {b.shots}")
print(f"ops page: {b.failures} failed")
sys.exit(1 if b.failures else 0)
