-- one PK probe + variant through SPI (experiment id known): the floor for a function with a cache
\set n random(1, 100000)
SELECT * FROM probe.assign_pk(:experiment_id, 'u' || :n::text);
