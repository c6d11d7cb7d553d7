-- abx 0.4.0 -> 0.5.0: what leaves the database. The WebSocket feed of abx-http, webhook
-- subscriptions and notification channels delivered from the outbox, and SLO guardrails
-- (Prometheus and in-database). Each part of this upgrade is a file of src/sql/0.5.0/.
\echo Use "ALTER EXTENSION abx UPDATE TO '0.5.0'" to load this file. \quit
