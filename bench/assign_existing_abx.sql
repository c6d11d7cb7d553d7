-- 1 abx: abx.assign for a returning subject (already assigned by bench/setup.sql).
\set n random(1, 100000)
SELECT * FROM abx.assign('bench', 'u' || :n::text);
