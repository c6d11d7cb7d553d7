#!/usr/bin/env python3
"""Splits a perf profile of one PostgreSQL backend into the parts of a call (docs/benchmarks.md).

    perf record -F 5000 -g -p <backend pid> -o perf.data -- sleep 5     # while pgbench runs
    perf script -i perf.data | python3 bench/analysis/stack_breakdown.py [TPS [HZ SECONDS]]

Each sample is counted once, in the first category whose frames all appear in its stack. With the
pgbench tps of the run, shares are also turned into backend CPU µs per transaction
(samples / HZ / (TPS * SECONDS)); HZ and SECONDS default to 5000 and 5."""
import collections
import sys

CATEGORIES = [
    ("abx: result TupleDesc rebuilt from pg_proc (make_record)", ["make_record", "build_function_result_tupdesc_t"]),
    ("abx: experiment cache validation (still_current)", ["still_current"]),
    ("abx: relation name lookups (abx_relation)", ["abx_relation"]),
    ("abx: assignment primary-key probe (stored_variant)", ["stored_variant"]),
    ("abx: inner SPI statement (SPI_execute_plan)", ["SPI_execute_plan"]),
    ("abx: SPI_connect / SPI_finish", ["SPI_connect"]),
    ("abx: SPI_connect / SPI_finish", ["SPI_finish"]),
    ("abx: rest of the C++ function", ["abx_"]),
    ("executor: result TupleDesc of a function with OUT parameters", ["build_function_result_tupdesc_t"]),
    ("executor: function scan (tuplestore)", ["ExecMakeTableFunctionResult"]),
    ("commit", ["CommitTransactionCommand"]),
    ("sending the result", ["__send"]),
    ("reading the next request", ["pq_getbyte"]),
    ("bind (plan cache, locks)", ["exec_bind_message"]),
    ("top-level executor start", ["standard_ExecutorStart"]),
    ("top-level executor run", ["standard_ExecutorRun"]),
    ("top-level executor end", ["standard_ExecutorEnd"]),
]


def stacks(lines):
    cur = []
    for line in lines:
        line = line.rstrip("\n")
        if not line.strip():
            if cur:
                yield " ".join(cur)
            cur = []
        elif line.startswith((" ", "\t")):
            parts = line.strip().split(None, 1)
            if len(parts) == 2:
                cur.append(parts[1])
    if cur:
        yield " ".join(cur)


def main():
    tps = float(sys.argv[1]) if len(sys.argv) > 1 else None
    hz = float(sys.argv[2]) if len(sys.argv) > 2 else 5000.0
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 5.0
    count = collections.Counter()
    total = 0
    for stack in stacks(sys.stdin):
        total += 1
        for name, frames in CATEGORIES:
            if all(f in stack for f in frames):
                count[name] += 1
                break
        else:
            count["other"] += 1
    names = list(dict.fromkeys([n for n, _ in CATEGORIES] + ["other"]))
    per_tx = (1e6 / hz / (tps * seconds)) if tps else None
    for name in names:
        if count[name]:
            us = f"{count[name] * per_tx:6.2f} µs" if per_tx else ""
            print(f"{100 * count[name] / total:5.1f}%  {us}  {name}")
    print(f"{total} samples" + (f", {total * per_tx:.1f} µs backend CPU per transaction" if per_tx else ""))


if __name__ == "__main__":
    main()
