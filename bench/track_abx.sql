-- 3 abx: abx.track of one event for an assigned subject.
\set n random(1, 100000)
SELECT * FROM abx.track('bench', 'u' || :n::text, 'purchase', 1.0);
