-- 2 abx: abx.assign for a new subject (random 64-bit number: a repeat is vanishingly rare).
\set r random(1, 1000000000000000)
SELECT * FROM abx.assign('bench', 'n' || :r::text);
