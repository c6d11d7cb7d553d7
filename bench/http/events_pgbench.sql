-- pgbench over TCP: the same SQL function the gateway calls for POST .../events.
\set n random(1, 100000)
SELECT abx.http_events('{"code": "bench"}', '{}', jsonb_build_object('subjectId', 'u' || :n, 'eventKey', 'purchase', 'value', 1));
