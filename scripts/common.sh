# Shared by abx's scripts: where things are, and how to run PostgreSQL tools as a non-root user.
set -euo pipefail
ABX_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PG_BIN="$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)"

# Run as root or not: initdb and postgres refuse root, so as root the cluster belongs to 'postgres'.
if [ "$(id -u)" = 0 ]; then
    PG_OS_USER=postgres
    as_pg() { runuser -u postgres -- "$@"; }
    SUDO=""
else
    PG_OS_USER="$(id -un)"
    as_pg() { "$@"; }
    SUDO="sudo"
fi

# A cluster's state (data, socket, log) lives in the git-ignored .abx/ folder of the project, unless
# the 'postgres' user cannot reach it (e.g. a checkout under /root): then in /var/tmp.
abx_state_dir() {
    local dir="$ABX_ROOT/.abx"
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ] && ! runuser -u postgres -- test -x "$dir" 2>/dev/null; then
        dir="/var/tmp/abx-$(printf %s "$ABX_ROOT" | md5sum | cut -c1-10)"
        mkdir -p "$dir"
    fi
    echo "$dir"
}

# A TCP port free on 127.0.0.1 right now (for a cluster, a gateway, a test's receiver).
free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
