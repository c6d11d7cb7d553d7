#!/usr/bin/env python3
"""Simulated traffic for an experiment, over abx-http only: subjects are assigned through
GET /api/experiments/:code/assignment, converters send an event through POST .../events, and
after each wave the aggregation runs (POST /api/internal/experiments/aggregate/run), so the
results page gets one look per wave. Used by `make demo` and the ops page's browser test.

  simulate_traffic.py URL CODE --token T --internal-token I [--subjects N] [--waves W]
                      [--rate VARIANT=P ...] [--event purchase] [--seed S] [--prefix P]
                      [--context NAME=VALUE ...]
"""
import argparse
import http.client
import json
import random
import sys
import urllib.parse


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("url")
    ap.add_argument("code")
    ap.add_argument("--token", required=True, help="a service token (assign, track)")
    ap.add_argument("--internal-token", help="runs the aggregation after each wave")
    ap.add_argument("--subjects", type=int, default=1000, help="per wave")
    ap.add_argument("--waves", type=int, default=3)
    ap.add_argument("--rate", action="append", default=[], help="VARIANT=P: conversion rate")
    ap.add_argument("--default-rate", type=float, default=0.1)
    ap.add_argument("--event", default="purchase")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--prefix", default="sim")
    ap.add_argument("--context", action="append", default=[],
                    help="NAME=VALUE: a targeting attribute sent with every assignment")
    a = ap.parse_args()
    rates = {k: float(v) for k, v in (r.split("=", 1) for r in a.rate)}
    u = urllib.parse.urlsplit(a.url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    rng = random.Random(a.seed)
    context = "".join("&" + urllib.parse.quote(k) + "=" + urllib.parse.quote(v)
                      for k, v in (c.split("=", 1) for c in a.context))

    def call(method, path, token, body=None):
        headers = {"Authorization": f"Bearer {token}"}
        data = None
        if body is not None:
            data = json.dumps(body)
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=data, headers=headers)
        r = conn.getresponse()
        text = r.read()
        if r.status >= 300:
            sys.exit(f"simulate_traffic: {method} {path} -> {r.status} {text[:300]!r}")
        return json.loads(text) if text else None

    code = urllib.parse.quote(a.code, safe="")
    counts = {}
    for wave in range(a.waves):
        events = []
        for i in range(a.subjects):
            subject = f"{a.prefix}-{wave}-{i}"
            got = call("GET", f"/api/experiments/{code}/assignment?subjectId={subject}{context}", a.token)
            variant = got["variantKey"]
            if variant is None:  # targeted out, or outside the coverage
                continue
            n, c = counts.get(variant, (0, 0))
            converted = rng.random() < rates.get(variant, a.default_rate)
            counts[variant] = (n + 1, c + converted)
            if converted:
                events.append({"subjectId": subject, "eventKey": a.event,
                               "value": round(rng.uniform(5, 80), 2)})
        if events:
            call("POST", f"/api/experiments/{code}/events", a.token, {"events": events})
        if a.internal_token:
            call("POST", "/api/internal/experiments/aggregate/run", a.internal_token, {})
    summary = ", ".join(f"{v}: {c}/{n}" for v, (n, c) in sorted(counts.items()))
    print(f"{a.code}: {a.waves} waves, conversions {summary}")


if __name__ == "__main__":
    main()
