-- pgbench over TCP: the same SQL function the gateway calls for GET .../assignment.
\set n random(1, 100000)
SELECT abx.http_assignment('{"code": "bench"}', jsonb_build_object('subjectId', 'u' || :n), 'null');
