-- abx.assign for a new subject of a plain hashed experiment (3 variants).
\set s random(1, 2000000000)
SELECT variant FROM abx.assign('hashed', 'n' || :s);
