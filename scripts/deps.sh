#!/usr/bin/env bash
# Installs the Debian 12 packages abx needs to build, test and run, if any is missing.
source "$(dirname "$0")/common.sh"
PACKAGES=(
    build-essential g++ cmake make pkg-config git python3
    postgresql-15 postgresql-client-15 postgresql-server-dev-15
    libssl-dev libpq-dev nlohmann-json3-dev libboost-dev libgtest-dev libgmock-dev
    clang-format curl openssl prometheus wrk
    libcurl4-openssl-dev python3-aiosmtpd
    libjs-chart.js chromium chromium-driver python3-selenium fonts-dejavu-core node-typescript
)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Grafana's dashboard schema (the TypeScript types @grafana/schema generates from it, Apache-2.0)
# from the npm registry, pinned and verified, once: tests/shell/grafana_dashboards.sh checks the
# dashboards of grafana/ against it. Not part of abx: it stays in the git-ignored build/.
schema="$ABX_ROOT/build/vendor/grafana-schema-13.2.3.tgz"
schema_sha512="rk8FEO7yuFfRTK/JD39747SZFQ+iCTQbpm6Mh2OjnqGx/g/uQQFx56t64eCLXWEyoR68ru4cigcGKrXk+ozrLg=="
# Without it only that test fails (it says why), not the demo or the build.
if [ ! -s "$schema" ]; then
    mkdir -p "$(dirname "$schema")"
    if ! curl -fsSL --retry 3 -o "$schema.part" https://registry.npmjs.org/@grafana/schema/-/schema-13.2.3.tgz; then
        echo "deps: could not fetch @grafana/schema 13.2.3 from the npm registry" >&2
    elif [ "$(openssl dgst -sha512 -binary "$schema.part" | base64 -w0)" != "$schema_sha512" ]; then
        echo "deps: @grafana/schema 13.2.3 does not match its pinned sha512: not used" >&2
    else
        mv "$schema.part" "$schema"
    fi
    rm -f "$schema.part"
fi
