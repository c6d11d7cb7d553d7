-- abx.assign for a new subject of a bandit experiment (3 arms, allocation shares from its posteriors).
\set s random(1, 2000000000)
SELECT variant FROM abx.assign('bandit', 'n' || :s);
