
-- ---------------------------------------------------------------------------------------------
-- In-database guardrails: the one-sided always-valid test for harm on guardrail metrics
-- (docs/statistics.md, "Guardrails"), one look per aggregation run like the two-sided sequential
-- test, kept next to it per variant and metric.
-- ---------------------------------------------------------------------------------------------
ALTER TABLE abx.variant_metric_stats
    ADD COLUMN harm_looks   bigint NOT NULL DEFAULT 0,
    ADD COLUMN harm_p_value double precision NOT NULL DEFAULT 1,
    ADD COLUMN harm_lower   double precision NOT NULL DEFAULT '-Infinity';
COMMENT ON COLUMN abx.variant_metric_stats.harm_lower IS
    'Guardrail metrics: always-valid lower bound of the harm (the difference in the harmful direction); above 0 the guardrail has failed';
