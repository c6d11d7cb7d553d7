-- abx 0.5.0 -> 0.6.0: what the ops page (/ui/ of abx-http) needs from the database. Who the caller
-- is and may do, the lifecycle and approval routes, the audit log, job runs and results over time.
-- Each part of this upgrade is a file of src/sql/0.6.0/.
\echo Use "ALTER EXTENSION abx UPDATE TO '0.6.0'" to load this file. \quit
