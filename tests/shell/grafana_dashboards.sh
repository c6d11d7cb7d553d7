#!/usr/bin/env bash
# The Grafana dashboards (grafana/dashboards/*.json) against Grafana's own dashboard schema: the
# TypeScript types @grafana/schema generates from it (fetched and verified by scripts/deps.sh),
# checked by Debian's tsc with excess-property checks, so a misspelled or unknown field fails as
# Grafana's importer would reject or drop it. (Grafana itself is no Debian package; the panel
# queries are checked against a real Prometheus in tests/gateway/grafana_checks.py.)
source "$(dirname "$0")/../../scripts/common.sh"
cd "$ABX_ROOT"
schema="$ABX_ROOT/build/vendor/grafana-schema-13.2.3.tgz"
[ -s "$schema" ] || { echo "not ok - $schema is missing: run scripts/deps.sh"; exit 1; }
work="$(mktemp -d /tmp/abx-grafana.XXXXXX)"
trap 'rm -rf "$work"' EXIT
tar xzf "$schema" -C "$work" package/dist/types/raw/dashboard/x/types.gen.d.ts
fails=0
# A dashboard as a typed constant; __inputs and __requires are the importer's own metadata (the
# datasource asked for at import), not part of the dashboard model.
as_typescript() {
    python3 - "$1" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("__inputs", "__requires"):
    d.pop(k, None)
open(sys.argv[2], "w").write(
    'import type { Dashboard } from "./package/dist/types/raw/dashboard/x/types.gen";\n'
    "export const dashboard: Dashboard = " + json.dumps(d, indent=1) + ";\n")
PY
}
typecheck() { (cd "$work" && tsc --noEmit --strict --target es2020 --moduleResolution node "$1" 2>&1); }
for f in grafana/dashboards/*.json; do
    name="$(basename "$f" .json)"
    as_typescript "$f" "$work/$name.ts"
    if out="$(typecheck "$name.ts")"; then
        echo "ok - $f conforms to Grafana's dashboard schema ($(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['panels']))" "$f") panels)"
    else
        echo "not ok - $f: $out" | head -n 5; fails=$((fails + 1))
    fi
done
# The check can fail: a misspelled panel field is refused.
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["panels"][0]["gridPost"]=d["panels"][0].pop("gridPos"); json.dump(d, open(sys.argv[2], "w"))' \
    grafana/dashboards/meta.json "$work/broken.json"
as_typescript "$work/broken.json" "$work/broken.ts"
if out="$(typecheck broken.ts)"; then
    echo "not ok - a misspelled field (gridPost) passed the check"; fails=$((fails + 1))
elif grep -q "gridPost" <<<"$out"; then
    echo "ok - a misspelled field (gridPost) is refused"
else
    echo "not ok - the broken dashboard failed for another reason: $out" | head -n 3; fails=$((fails + 1))
fi
echo "grafana dashboards: $fails failed"
[ "$fails" = 0 ]
