#!/usr/bin/env bash
# make test: every test of abx. GoogleTest (ctest), pg_regress and isolation specs against a
# temporary cluster this script starts and stops. Exits non-zero on any failure.
source "$(dirname "$0")/common.sh"
cd "$ABX_ROOT"
jobs="$(nproc)"
mkdir -p build
log="build/test-logs"
rm -rf "$log" build/regress build/isolation
mkdir -p "$log" build/regress build/isolation

say "dependencies"
bash scripts/deps.sh

status=0
unit_pass=0 unit_fail=0 reg_pass=0 reg_fail=0 iso_pass=0 iso_fail=0

say "unit tests (GoogleTest via ctest)"
cmake -S . -B build/core -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$log/cmake.log"
cmake --build build/core -j"$jobs" 2>&1 | tee "$log/core-build.log" | grep -E "error|warning" || true
if [ "${PIPESTATUS[0]}" != 0 ]; then
    echo "core build failed, see $log/core-build.log"; exit 1
fi
if ctest --test-dir build/core --output-on-failure -j"$jobs" >"$log/ctest.log" 2>&1; then :; else status=1; fi
tail -n 30 "$log/ctest.log" | sed -n '/tests passed\|tests failed/,$p'
total=$(sed -n 's/.*tests failed out of \([0-9]*\).*/\1/p' "$log/ctest.log" | tail -n1)
unit_fail=$(sed -n 's/.*, \([0-9]*\) tests failed out of.*/\1/p' "$log/ctest.log" | tail -n1)
unit_pass=$(( ${total:-0} - ${unit_fail:-0} ))
if [ "$status" != 0 ]; then grep -E "Failed|\*\*\*" "$log/ctest.log" | head -n 40 || true; fi

say "extension build and install"
make -j"$jobs" >"$log/pgxs-build.log" 2>&1 || { tail -n 40 "$log/pgxs-build.log"; exit 1; }
grep -E "warning:" "$log/pgxs-build.log" || true
$SUDO make install >"$log/install.log" 2>&1 || { tail -n 20 "$log/install.log"; exit 1; }

say "temporary cluster"
envfile="$(bash scripts/cluster.sh start test --fresh)"
trap 'bash scripts/cluster.sh stop test' EXIT
source "$envfile"
export PGHOST PGPORT PGUSER

count() { grep -cE "$1" "$2" || true; }

say "pg_regress"
if make installcheck ISOLATION= >"$log/regress.log" 2>&1; then :; else status=1; fi
grep -E "^(ok|not ok|test |     )|tests (passed|failed)" "$log/regress.log" | grep -vE "^\s*$" || cat "$log/regress.log"
reg_pass=$(count '\.\.\. ok|^ok ' "$log/regress.log")
reg_fail=$(count 'FAILED|failed \(ignored\)|^not ok' "$log/regress.log")
if [ -s build/regress/regression.diffs ]; then head -n 150 build/regress/regression.diffs; fi

say "isolation specs"
if [ -n "$(ls specs/*.spec 2>/dev/null)" ]; then
    if make installcheck REGRESS= >"$log/isolation.log" 2>&1; then :; else status=1; fi
    grep -E "^(ok|not ok|test )|tests (passed|failed)" "$log/isolation.log" || cat "$log/isolation.log"
    iso_pass=$(count '\.\.\. ok|^ok ' "$log/isolation.log")
    iso_fail=$(count 'FAILED|^not ok' "$log/isolation.log")
    if [ -s build/isolation/regression.diffs ]; then head -n 150 build/isolation/regression.diffs; fi
fi

# Shell tests: scenarios across clusters and processes (dump/restore, concurrent clients); each
# starts the clusters it needs and exits non-zero on failure.
say "shell tests"
shell_pass=0 shell_fail=0
for t in tests/shell/*.sh; do
    name="$(basename "$t" .sh)"
    if bash "$t" >"$log/shell-$name.log" 2>&1; then
        shell_pass=$((shell_pass + 1)); echo "ok - $name"
    else
        shell_fail=$((shell_fail + 1)); echo "not ok - $name"; grep -E "^not ok|ERROR" "$log/shell-$name.log" | head -n 20
    fi
done

if [ $((unit_fail + reg_fail + iso_fail + shell_fail)) -gt 0 ]; then status=1; fi
echo
say "summary"
printf '  unit (GoogleTest): %4d passed, %d failed\n' "$unit_pass" "$unit_fail"
printf '  pg_regress:        %4d passed, %d failed\n' "$reg_pass" "$reg_fail"
printf '  isolation:         %4d passed, %d failed\n' "$iso_pass" "$iso_fail"
printf '  shell:             %4d passed, %d failed\n' "$shell_pass" "$shell_fail"
echo "logs: $log/"
echo "$((unit_pass + reg_pass + iso_pass + shell_pass)) passed, $((unit_fail + reg_fail + iso_fail + shell_fail)) failed"
exit "$status"
