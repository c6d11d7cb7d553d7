-- Idempotency keys are scoped like subjects: per experiment and organization. The same key from
-- two organizations on one global experiment is two events, each its own.
SET abx.pinned_now = '2026-03-09 10:00:00+00';
SELECT abx.create_organization('org-a') > 0 AS a, abx.create_organization('org-b') > 0 AS b;
SELECT abx.create_experiment(t.spec('shared-keys'))->>'organization' IS NULL AS global;
SELECT abx.start('shared-keys')->>'status';
SELECT variant IS NOT NULL AS assigned FROM abx.assign('shared-keys', 's1', '{}', 'org-a');
SELECT variant IS NOT NULL AS assigned FROM abx.assign('shared-keys', 's1', '{}', 'org-b');
CREATE TEMP TABLE a AS SELECT * FROM abx.track('shared-keys', 's1', 'buy', idempotency_key => 'order-1', organization => 'org-a');
CREATE TEMP TABLE b AS SELECT * FROM abx.track('shared-keys', 's1', 'buy', idempotency_key => 'order-1', organization => 'org-b');
SELECT a.status AS a_status, b.status AS b_status, a.event_id <> b.event_id AS distinct_events FROM a, b;
-- Within one organization the key still deduplicates (single call, then a batch).
SELECT status, event_id = (SELECT event_id FROM a) AS same_event
  FROM abx.track('shared-keys', 's1', 'buy', idempotency_key => 'order-1', organization => 'org-a');
SELECT item, status, event_id = (SELECT event_id FROM b) AS same_as_b
  FROM abx.track_batch('[{"experiment": "shared-keys", "subject": "s1", "event": "buy", "idempotency_key": "order-1", "organization": "org-b"},
                         {"experiment": "shared-keys", "subject": "s1", "event": "buy", "idempotency_key": "order-2", "organization": "org-a"},
                         {"experiment": "shared-keys", "subject": "s1", "event": "buy", "idempotency_key": "order-2", "organization": "org-b"}]')
 ORDER BY item;
SELECT o.key AS organization, count(*) AS events
  FROM abx.events e JOIN abx.experiments x ON x.id = e.experiment_id JOIN abx.organizations o ON o.id = e.organization_id
 WHERE x.code = 'shared-keys' GROUP BY 1 ORDER BY 1;
RESET abx.pinned_now;
