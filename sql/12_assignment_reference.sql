-- abx.assign against an independent reference: the algorithm of docs/assignment.md written in SQL
-- with PostgreSQL's own sha256(), over 20,000 subjects of varied length and script.
SET abx.pinned_now = '2026-03-06 10:00:00+00';
SELECT abx.create_experiment('{"code": "hash-ref", "salt": "ref:salt", "coverage": 0.5,
  "variants": [{"key": "a", "weight": 1}, {"key": "b", "weight": 1}, {"key": "c", "weight": 1}]}')->>'code';
SELECT abx.start('hash-ref')->>'status';
-- bucket = first 8 bytes of SHA-256(salt ":" purpose ":" subject), unsigned big-endian, mod 10000.
CREATE FUNCTION pg_temp.bucket(salt text, purpose text, subject text) RETURNS int LANGUAGE sql AS $$
  SELECT ((h::numeric + CASE WHEN h < 0 THEN 18446744073709551616 ELSE 0 END) % 10000)::int
    FROM (SELECT ('x' || left(encode(sha256(convert_to(salt || ':' || purpose || ':' || subject, 'UTF8')), 'hex'), 16))::bit(64)::bigint AS h) s
$$;
CREATE TEMP TABLE ref_subjects AS
SELECT i, left(md5(i::text) || md5((i * 7919)::text), 1 + i % 64)
          || CASE i % 5 WHEN 0 THEN 'é' WHEN 1 THEN ' ✓' WHEN 2 THEN ':' ELSE '' END AS subject
  FROM generate_series(1, 20000) i;
-- coverage 0.5: buckets 0..4999; weights 1/1/1: boundaries round(1/3 * 10000) = 3333,
-- round(2/3 * 10000) = 6667, 10000.
CREATE TEMP TABLE ref_expected AS
SELECT s.subject,
       CASE WHEN pg_temp.bucket('ref:salt', 'coverage', s.subject) >= 5000 THEN NULL
            WHEN pg_temp.bucket('ref:salt', 'variant', s.subject) < 3333 THEN 'a'
            WHEN pg_temp.bucket('ref:salt', 'variant', s.subject) < 6667 THEN 'b'
            ELSE 'c' END AS variant
  FROM ref_subjects s;
SELECT count(*) AS subjects,
       count(*) FILTER (WHERE a.variant IS NOT DISTINCT FROM e.variant) AS agree,
       count(*) FILTER (WHERE e.variant IS NULL AND a.reason = 'not_in_coverage') AS uncovered_agree
  FROM ref_expected e, LATERAL abx.assign('hash-ref', e.subject) a;
-- Not a trivial agreement: every outcome occurs, in about the expected proportions.
SELECT coalesce(variant, 'not covered') AS outcome, count(*) BETWEEN 0.9 * 20000 * share AND 1.1 * 20000 * share AS plausible
  FROM ref_expected, LATERAL (SELECT CASE WHEN variant IS NULL THEN 0.5 ELSE 0.5 / 3 END AS share) s
 GROUP BY 1, share ORDER BY 1;
RESET abx.pinned_now;
