#!/usr/bin/env bash
# make demo: dependencies, build, install, a local cluster with abx preloaded, and a simulated
# experiment end to end. Leaves the cluster running.
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
cat <<MSG

The demo cluster keeps running. Connect with:
    psql -h $PGHOST -p $PGPORT -U $PGUSER abx_demo
    (or: source $envfile && psql abx_demo)
Try:  SELECT * FROM abx.assign('checkout-button', 'visitor-1');
      SELECT * FROM abx.variant_overview;
Stop it with:  make demo-stop
MSG
