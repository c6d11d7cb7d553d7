-- the same statement run through SPI by a PL/pgSQL function
\set n random(1, 100000)
SELECT * FROM probe.track_cte('bench', 'u' || :n::text, 'purchase', 1.0);
