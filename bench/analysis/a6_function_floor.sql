-- floor of calling any C function the way the benchmarks call abx: SELECT * FROM f() (abx.now())
\set n random(1, 100000)
SELECT * FROM abx.now();
