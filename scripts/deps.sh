#!/usr/bin/env bash
# Installs the Debian 12 packages abx needs to build, test and run, if any is missing.
source "$(dirname "$0")/common.sh"
PACKAGES=(
    build-essential g++ cmake make pkg-config git python3
    postgresql-15 postgresql-client-15 postgresql-server-dev-15
    libssl-dev libpq-dev nlohmann-json3-dev libboost-dev libgtest-dev libgmock-dev
    clang-format curl openssl prometheus wrk
    libcurl4-openssl-dev python3-aiosmtpd
    libjs-chart.js chromium chromium-driver python3-selenium fonts-dejavu-core
)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    exit 0
fi
say "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
