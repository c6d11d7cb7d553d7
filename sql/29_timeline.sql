-- Results over time: each aggregation run that changed an experiment's statistics records its
-- look (abx.result_looks, abx.bandit_looks), exactly what abx.results reports after it; an idle
-- run records nothing; abx.timeline and GET /api/experiments/:id/timeline serve the looks;
-- abx.retention() thins old ones.
SET timezone = 'UTC';
SET abx.pinned_now = '2026-11-02 09:00:00+00';
CREATE FUNCTION t.tl_spec(code text) RETURNS jsonb LANGUAGE sql AS $$
SELECT t.spec(code, '{"metrics": {"primary": {"key": "conversion", "kind": "rate", "event": "buy"},
                                  "secondary": [{"key": "revenue", "kind": "sum", "event": "buy"}]}}')
$$;
-- Subjects first..last: the control buys 1 in 5, the treatment 1 in 3, for i % 7 + 1.
CREATE FUNCTION t.tl_traffic(code text, first int, last int, org text DEFAULT NULL) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE a record;
BEGIN
    FOR i IN first .. last LOOP
        SELECT * INTO a FROM abx.assign(code, 'tl' || i, '{}', org);
        IF (a.variant = 'control' AND i % 5 = 0) OR (a.variant = 'treatment' AND i % 3 = 0) THEN
            PERFORM abx.track(code, 'tl' || i, 'buy', i % 7 + 1, organization => org);
        END IF;
    END LOOP;
    RETURN last - first + 1;
END $$;
-- The looks of an experiment: runs and rows.
CREATE FUNCTION t.tl_looks(wanted text) RETURNS TABLE (runs bigint, result_rows bigint, bandit_rows bigint)
LANGUAGE sql AS $$
SELECT (SELECT count(DISTINCT run) FROM abx.result_looks l WHERE l.experiment_id = e.id),
       (SELECT count(*) FROM abx.result_looks l WHERE l.experiment_id = e.id),
       (SELECT count(*) FROM abx.bandit_looks l WHERE l.experiment_id = e.id)
  FROM abx.experiments e WHERE e.code = wanted AND e.organization_id IS NULL
$$;

SELECT abx.create_experiment(t.tl_spec('tl_ab'))->>'code', abx.start('tl_ab')->>'status';
SELECT * FROM t.tl_looks('tl_ab');
SELECT t.tl_traffic('tl_ab', 1, 300) AS subjects;
SELECT status, runs FROM abx.aggregate('tl_ab');
SELECT * FROM t.tl_looks('tl_ab');
-- Nothing new: the run takes its sequential look but records no row.
SET abx.pinned_now = '2026-11-02 09:30:00+00';
SELECT status, events, assignments, runs FROM abx.aggregate('tl_ab');
SELECT * FROM t.tl_looks('tl_ab');
-- New subjects only (assignments, no events): a look.
SET abx.pinned_now = '2026-11-02 10:00:00+00';
SELECT variant IS NOT NULL AS assigned FROM abx.assign('tl_ab', 'lonely');
SELECT status, events, assignments, runs FROM abx.aggregate('tl_ab');
SELECT * FROM t.tl_looks('tl_ab');
SET abx.pinned_now = '2026-11-02 11:00:00+00';
SELECT t.tl_traffic('tl_ab', 301, 700) AS subjects;
SELECT status, runs FROM abx.aggregate('tl_ab');
SET abx.pinned_now = '2026-11-02 12:00:00+00';
SELECT t.tl_traffic('tl_ab', 701, 1200) AS subjects;
SELECT status, runs FROM abx.aggregate('tl_ab');
SELECT * FROM t.tl_looks('tl_ab');
SELECT run, look_at, count(*) AS rows FROM abx.result_looks
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'tl_ab') GROUP BY 1, 2 ORDER BY 1;

-- The last look is abx.results() exactly, every field, row for row (compared as stored and as
-- abx.timeline serves it).
CREATE TEMP VIEW tl_last AS
SELECT v.key AS variant, l.* FROM abx.result_looks l JOIN abx.variants v ON v.id = l.variant_id
 WHERE l.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'tl_ab')
   AND l.run = (SELECT max(run) FROM abx.result_looks x WHERE x.experiment_id = l.experiment_id);
SELECT count(*) AS compared,
       count(*) FILTER (WHERE r.variant IS NULL OR l.variant IS NULL
                           OR (r.n, r.mean, r.mean_lower, r.mean_upper, r.p_value, r.seq_p_value,
                               r.chance_to_beat_control, r.prob_best)
                              IS DISTINCT FROM
                              (l.n, l.mean, l.mean_lower, l.mean_upper, l.p_value, l.seq_p_value,
                               l.chance_to_beat_control, l.prob_best)) AS differing
  FROM abx.results('tl_ab') r FULL JOIN tl_last l ON l.variant = r.variant AND l.metric_key = r.metric;
SELECT count(*) AS compared,
       count(*) FILTER (WHERE (r.n, r.mean, r.mean_lower, r.mean_upper, r.p_value, r.seq_p_value,
                               r.chance_to_beat_control, r.prob_best)
                              IS DISTINCT FROM
                              ((j->>'n')::float8, (j->>'mean')::float8, (j->>'mean_lower')::float8,
                               (j->>'mean_upper')::float8, (j->>'p_value')::float8, (j->>'seq_p_value')::float8,
                               (j->>'chance_to_beat_control')::float8, (j->>'prob_best')::float8)) AS differing
  FROM abx.results('tl_ab') r
  JOIN jsonb_array_elements(abx.timeline('tl_ab')->'looks') j
    ON j->>'variant' = r.variant AND j->>'metric' = r.metric
   AND (j->>'run')::int = (SELECT max(run) FROM tl_last);
-- What the rows hold: the control has no p-value nor chance to beat itself, every row a P(best).
SELECT variant, metric_key, n, round(mean::numeric, 4) AS mean, p_value IS NULL AS no_p,
       seq_p_value IS NULL AS no_seq_p, chance_to_beat_control IS NULL AS no_ctbc, prob_best IS NOT NULL AS has_prob_best
  FROM tl_last ORDER BY 1, 2;

-- The always-valid p-value is the running minimum over looks (docs/statistics.md): it never
-- rises from one look to the next, and with this much difference it fell.
SELECT v.key, l.metric_key, count(*) AS looks,
       count(*) FILTER (WHERE l.seq_p_value > l.prev) AS rises,
       count(*) FILTER (WHERE l.seq_p_value < l.prev) AS falls
  FROM (SELECT *, lag(seq_p_value) OVER (PARTITION BY variant_id, metric_key ORDER BY run) AS prev
          FROM abx.result_looks WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'tl_ab')) l
  JOIN abx.variants v ON v.id = l.variant_id
 WHERE NOT v.is_control GROUP BY 1, 2 ORDER BY 1, 2;

-- abx.timeline: the document, in time order then variant (then metric).
SELECT key, CASE WHEN jsonb_typeof(value) = 'array' THEN jsonb_array_length(value)::text ELSE value::text END AS value
  FROM jsonb_each(abx.timeline('tl_ab')) ORDER BY key;
SELECT j->>'at' AS at, j->>'run' AS run, j->>'variant' AS variant, j->>'metric' AS metric,
       (SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(j) k) AS fields
  FROM jsonb_array_elements(abx.timeline('tl_ab', 'conversion')->'looks') j;
-- At most max_looks runs, spread evenly (the first and the last kept); from `since` on.
SELECT abx.timeline('tl_ab', max_looks => 2) - 'looks' - 'bandit' AS doc,
       (SELECT array_agg(DISTINCT (j->>'run')::int) FROM jsonb_array_elements(abx.timeline('tl_ab', max_looks => 2)->'looks') j) AS runs;
SELECT (SELECT array_agg(DISTINCT (j->>'run')::int) FROM jsonb_array_elements(abx.timeline('tl_ab', max_looks => 3)->'looks') j) AS three,
       (SELECT array_agg(DISTINCT (j->>'run')::int) FROM jsonb_array_elements(abx.timeline('tl_ab', max_looks => 1)->'looks') j) AS one,
       (SELECT array_agg(DISTINCT (j->>'run')::int)
          FROM jsonb_array_elements(abx.timeline('tl_ab', since => '2026-11-02 11:00:00+00')->'looks') j) AS since_11;

-- Bad input.
SELECT t.err($$SELECT abx.timeline('tl_ab', 'nope')$$);
SELECT t.err($$SELECT abx.timeline(NULL)$$);
SELECT t.err($$SELECT abx.timeline('tl_missing')$$);
SELECT t.err($$SELECT abx.timeline('tl_ab', max_looks => 0)$$);
SELECT t.err($$SELECT abx.timeline('tl_ab', max_looks => 5001)$$);
SELECT t.err($$SELECT abx.timeline('tl_ab', max_looks => NULL)$$);

-- The route: :id is the numeric id or the code; query metric, from, limit.
SELECT r->>'experiment' AS experiment, jsonb_array_length(r->'looks') AS looks, r->'bandit' AS bandit
  FROM t.http('http_timeline', 'abx_analyst',
              path => jsonb_build_object('id', (SELECT id::text FROM abx.experiments WHERE code = 'tl_ab'))) r;
SELECT jsonb_array_length(r->'looks') AS looks, r->'total_runs' AS total_runs, r->'downsampled' AS downsampled
  FROM t.http('http_timeline', 'abx_reader', path => '{"id": "tl_ab"}',
              query => '{"metric": "revenue", "from": "2026-11-02T10:00:00Z", "limit": "2"}') r;
SELECT t.http('http_timeline', 'abx_analyst', path => '{"id": "tl_ab"}', query => '{"metric": "nope"}');
SELECT t.http('http_timeline', 'abx_analyst', path => '{"id": "tl_ab"}', query => '{"from": "yesterday"}');
SELECT t.http('http_timeline', 'abx_analyst', path => '{"id": "tl_ab"}', query => '{"limit": "0"}');
SELECT t.http('http_timeline', 'abx_analyst', path => '{"id": "tl_ab"}', query => '{"limit": "5001"}');
SELECT t.http('http_timeline', 'abx_analyst', path => '{"id": "tl_ab"}', query => '{"limit": "ten"}');
SELECT t.http('http_timeline', 'abx_analyst', path => '{"id": "tl_ab"}', query => '{"to": "2026-11-03T00:00:00Z"}');
SELECT t.http('http_timeline', 'abx_service', path => '{"id": "tl_ab"}');

-- A bandit: the arms' state at each look; the last is abx.bandit_arms exactly, and with the
-- Beta(1, 1) prior alpha - 1 + beta - 1 is the arm's trials (its assigned subjects).
SET abx.pinned_now = '2026-11-02 09:00:00+00';
SELECT abx.create_experiment('{"code": "tl_bandit", "kind": "bandit", "salt": "tl_bandit",
  "variants": [{"key": "a"}, {"key": "b"}, {"key": "c"}],
  "metrics": {"primary": {"key": "click_rate", "kind": "rate", "event": "click"}},
  "analysis": {"bandit": {"min_share": 0.05, "min_samples": 50, "draws": 20000, "seed": 7}}}')->>'kind';
SELECT abx.start('tl_bandit')->>'status';
CREATE FUNCTION t.tl_clicks(first int, last int) RETURNS bigint LANGUAGE sql AS $$
SELECT count(*) FROM (SELECT i, (abx.assign('tl_bandit', 'k' || i)).variant FROM generate_series(first, last) i) r,
       LATERAL abx.track('tl_bandit', 'k' || r.i, 'click')
 WHERE (r.variant = 'a' AND r.i % 20 = 0) OR (r.variant = 'b' AND r.i % 4 = 0) OR (r.variant = 'c' AND r.i % 10 = 0)
$$;
SELECT t.tl_clicks(1, 600) AS clicks;
SELECT status FROM abx.aggregate('tl_bandit');
SET abx.pinned_now = '2026-11-02 10:00:00+00';
SELECT t.tl_clicks(601, 1200) AS clicks;
SELECT status FROM abx.aggregate('tl_bandit');
SET abx.pinned_now = '2026-11-02 10:30:00+00';
SELECT status FROM abx.aggregate('tl_bandit');
SELECT * FROM t.tl_looks('tl_bandit');
SELECT j->>'run' AS run, j->>'variant' AS variant, round((j->>'share')::numeric, 3) AS share
  FROM jsonb_array_elements(abx.timeline('tl_bandit')->'bandit') j;
SELECT v.key, (l.alpha, l.beta, l.share) = (b.alpha, b.beta, b.share) AS equals_bandit_arms,
       l.alpha - 1 + l.beta - 1 = a.assigned AS trials, a.assigned
  FROM abx.bandit_looks l JOIN abx.variants v ON v.id = l.variant_id
  JOIN abx.bandit_arms b ON b.variant_id = l.variant_id
  JOIN abx.variant_assignments a ON a.variant_id = l.variant_id
 WHERE l.run = (SELECT max(run) FROM abx.bandit_looks x WHERE x.experiment_id = l.experiment_id)
   AND l.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'tl_bandit') ORDER BY 1;
-- A bandit's split follows the arms, not the weights: SRM is not applicable, and the winner's
-- srm_clean check does not block (not_configured) whatever the split.
SELECT s->>'applicable' AS srm_applicable, s->>'mismatch' AS mismatch, s->>'reason' AS reason
  FROM abx.srm('tl_bandit') s;
SELECT abx.evaluate_winner('tl_bandit') #>> '{checks,srm_clean,status}' AS srm_clean;
SELECT abx.srm('tl_ab') ->> 'applicable' AS ab_srm_applicable;
SELECT count(*) AS compared, count(*) FILTER (WHERE (b.alpha, b.beta, b.share) IS DISTINCT FROM
                                               ((j->>'alpha')::float8, (j->>'beta')::float8, (j->>'share')::float8)) AS differing
  FROM jsonb_array_elements(abx.timeline('tl_bandit')->'bandit') j
  JOIN abx.variants v ON v.key = j->>'variant' AND v.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'tl_bandit')
  JOIN abx.bandit_arms b ON b.variant_id = v.id
 WHERE (j->>'run')::int = 2;

-- Organizations: an organization's looks are its own. An analyst of the organization aggregates
-- (the look is written whoever runs it) and reads them; another organization sees nothing.
SELECT abx.create_organization('tl_one') > 0, abx.create_organization('tl_two') > 0;
SET abx.organization = 'tl_one';
SELECT abx.create_experiment(t.tl_spec('tl_org'))->>'code', abx.start('tl_org')->>'status';
SELECT t.tl_traffic('tl_org', 1, 100, 'tl_one') AS subjects;
RESET abx.organization;
CREATE ROLE tl_analyst_one NOLOGIN IN ROLE abx_analyst;
CREATE ROLE tl_analyst_two NOLOGIN IN ROLE abx_analyst;
SELECT abx.add_member('tl_one', 'tl_analyst_one'), abx.add_member('tl_two', 'tl_analyst_two');
SET ROLE tl_analyst_one;
SET abx.organization = 'tl_one';
SELECT status FROM abx.aggregate('tl_org');
SELECT count(DISTINCT run) AS runs_seen_by_own, count(*) AS rows_seen_by_own FROM abx.result_looks;
SELECT jsonb_array_length(abx.timeline('tl_org')->'looks') AS looks;
RESET ROLE;
RESET abx.organization;
SELECT * FROM (SELECT (SELECT count(*) FROM abx.result_looks l WHERE l.experiment_id = e.id) AS rows_recorded
                 FROM abx.experiments e WHERE e.code = 'tl_org') x;
SET ROLE tl_analyst_two;
SET abx.organization = 'tl_two';
SELECT count(*) AS rows_seen_by_other FROM abx.result_looks l
 WHERE l.experiment_id = (SELECT id FROM abx.experiments WHERE code = 'tl_org');
SELECT count(*) AS rows_seen_by_other_in_all FROM abx.result_looks;
SELECT t.err($$SELECT abx.timeline('tl_org')$$);
SELECT t.err($$SELECT abx.timeline('tl_org', organization => 'tl_one')$$);
RESET ROLE;
RESET abx.organization;
-- Over the route, as the gateway passes a token's organization.
CREATE ROLE tl_gw NOLOGIN IN ROLE abx_gateway;
GRANT abx_analyst TO tl_gw;
SET SESSION AUTHORIZATION tl_gw;
SELECT r->>'experiment' AS experiment, jsonb_array_length(r->'looks') AS own_org
  FROM t.http('http_timeline', 'abx_analyst', path => '{"id": "tl_org"}', org => 'tl_one') r;
SELECT t.http('http_timeline', 'abx_analyst', path => '{"id": "tl_org"}', org => 'tl_two');
RESET SESSION AUTHORIZATION;
DROP OWNED BY tl_analyst_one, tl_analyst_two, tl_gw;
DROP ROLE tl_analyst_one, tl_analyst_two, tl_gw;

-- Retention: every look of the last 2 days; older, the last of each hour; beyond 30 days the last
-- of each day. The looks are written here as a run writes them (a run's own timing depends on
-- concurrent transactions: see src/pg/aggregate.cpp), with a bandit arm each.
SELECT abx.create_experiment(t.tl_spec('tl_thin'))->>'code';
INSERT INTO abx.result_looks (experiment_id, run, look_at, variant_id, metric_key, n, mean)
SELECT e.id, x.run, x.at, v.id, 'conversion', x.run, 0.5
  FROM abx.experiments e JOIN abx.variants v ON v.experiment_id = e.id,
       unnest(ARRAY['2026-09-01 10:00', '2026-09-01 10:20', '2026-09-01 15:40',   -- > 30 days: the day's last
                    '2026-10-20 10:00', '2026-10-20 10:20', '2026-10-20 11:05',   -- > 2 days: each hour's last
                    '2026-11-09 10:00', '2026-11-09 10:20']::timestamptz[])       -- the last 2 days: all
       WITH ORDINALITY AS x(at, run)
 WHERE e.code = 'tl_thin';
INSERT INTO abx.bandit_looks (experiment_id, run, look_at, variant_id, alpha, beta, share)
SELECT experiment_id, run, look_at, variant_id, 1, 1, 0.5 FROM abx.result_looks
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'tl_thin');
SET abx.pinned_now = '2026-11-10 12:00:00+00';
SELECT (r->>'looks_thinned')::int >= 3 AS thinned, (r->>'look_rows_deleted')::int >= 12 AS rows_deleted
  FROM abx.retention() r;
SELECT run, look_at, count(*) AS result_rows,
       (SELECT count(*) FROM abx.bandit_looks b WHERE b.experiment_id = l.experiment_id AND b.run = l.run) AS bandit_rows
  FROM abx.result_looks l
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'tl_thin') GROUP BY 1, 2, l.experiment_id ORDER BY 1;
SELECT count(*) AS bandit_rows_left FROM abx.bandit_looks
 WHERE experiment_id = (SELECT id FROM abx.experiments WHERE code = 'tl_thin');
-- Thinning again changes nothing; the run is audited with its counts.
SELECT (abx.retention()->>'looks_thinned')::int AS thinned_again;
SELECT action, (change->'after'->>'looks_thinned')::int >= 3 AS reported
  FROM abx.audit_log WHERE action = 'retention.run' AND (change->'after'->>'looks_thinned')::int > 0
 ORDER BY seq DESC LIMIT 1;
RESET abx.pinned_now;
