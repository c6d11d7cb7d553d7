-- the same lookup statement run through SPI by a PL/pgSQL function
\set n random(1, 100000)
SELECT * FROM probe.assign_lookup('bench', 'u' || :n::text);
