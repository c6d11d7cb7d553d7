-- bench/aggregation/looks_cost.sh: a realistic experiment: 3 variants, 4 metrics (primary rate, a sum, an avg, a guardrail rate),
-- 30,000 subjects and about 45,000 events, aggregated once.
SELECT abx.create_experiment('{"code": "bench", "salt": "bench",
  "variants": [{"key": "a", "is_control": true}, {"key": "b"}, {"key": "c"}],
  "metrics": {"primary": {"key": "conversion", "kind": "rate", "event": "buy"},
              "secondary": [{"key": "revenue", "kind": "sum", "event": "buy"},
                            {"key": "basket", "kind": "avg", "event": "buy"}],
              "guardrails": [{"key": "errors", "kind": "rate", "event": "error", "objective": "minimize"}]}}')->>'code';
SELECT abx.start('bench')->>'status';
CREATE FUNCTION public.traffic(first int, last int) RETURNS bigint LANGUAGE sql AS $$
SELECT count(*) FROM (SELECT i, (abx.assign('bench', 's' || i)).variant FROM generate_series(first, last) i) r,
       LATERAL (SELECT abx.track('bench', 's' || r.i, 'buy', r.i % 50 + 1) WHERE r.i % 4 = 0
                UNION ALL SELECT abx.track('bench', 's' || r.i, 'error') WHERE r.i % 10 = 0
                UNION ALL SELECT abx.track('bench', 's' || r.i, 'view') WHERE r.i % 2 = 0) x
$$;
SELECT public.traffic(1, 30000);
SELECT status, events FROM abx.aggregate('bench');
