-- floor: one round trip with the same parameter handling, no table access
\set n random(1, 100000)
SELECT 'u' || :n::text;
