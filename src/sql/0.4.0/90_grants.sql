
-- ---------------------------------------------------------------------------------------------
-- Grants. Closed to PUBLIC like the rest of abx. The routes a token's role calls, and the helpers
-- those (SECURITY INVOKER) routes call, are executable by the five working roles, so that a call
-- reaches its right check and the refusal names the right (abx.require_right included: the
-- SECURITY INVOKER routes check their right with it). The probe and the internal-token
-- routes are abx_gateway's. abx.as_owner, abx.refuse and the owner-only helpers have no grant.
-- ---------------------------------------------------------------------------------------------
-- Every function this upgrade creates is closed to PUBLIC: the extension's functions with no
-- privilege set yet (each earlier abx function has its own), so no new one can be left out.
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOR f IN SELECT p.oid FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_proc p ON p.oid = d.objid
              WHERE d.classid = 'pg_catalog.pg_proc'::regclass AND d.deptype = 'e'
                AND d.refclassid = 'pg_catalog.pg_extension'::regclass
                AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'abx')
                AND p.proacl IS NULL
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
    END LOOP;
END $$;

GRANT EXECUTE ON FUNCTION
    abx.require_right(text, text, boolean),
    abx.evaluate_winner_with(text, jsonb, text), abx.set_internal_token(text),
    abx.http_args(jsonb, jsonb, jsonb, text, text, text[], text), abx.http_field(jsonb, text, text, text, boolean),
    abx.http_number(jsonb, text, text, bigint, bigint), abx.http_timestamp(jsonb, text, text),
    abx.http_keys(jsonb, text, text[]), abx.http_slug(text, text, integer), abx.http_code(text, text),
    abx.http_reraise(text, text, jsonb, text, text),
    abx.http_metrics(jsonb, jsonb, jsonb), abx.http_audit_stats(jsonb, jsonb, jsonb),
    abx.http_meta_start(jsonb, jsonb, jsonb), abx.http_meta_stop(jsonb, jsonb, jsonb),
    abx.http_meta_metrics(jsonb, jsonb, jsonb),
    abx.http_winner_snapshot(text), abx.http_assignment(jsonb, jsonb, jsonb), abx.http_event_message(text, text),
    abx.http_events(jsonb, jsonb, jsonb), abx.http_winner(jsonb, jsonb, jsonb),
    abx.http_experiment_list(jsonb, text), abx.http_admin_list(jsonb, jsonb, jsonb),
    abx.http_admin_create(jsonb, jsonb, jsonb), abx.http_admin_get(jsonb, jsonb, jsonb),
    abx.http_admin_update(jsonb, jsonb, jsonb), abx.http_admin_delete(jsonb, jsonb, jsonb),
    abx.http_admin_metrics(jsonb, jsonb, jsonb),
    abx.http_seed002_spec(jsonb, boolean), abx.http_seed002_doc(jsonb), abx.http_seed002_names(),
    abx.http_create_experiment(jsonb, jsonb, jsonb), abx.http_list_experiments(jsonb, jsonb, jsonb),
    abx.http_get_experiment(jsonb, jsonb, jsonb), abx.http_update_experiment(jsonb, jsonb, jsonb),
    abx.http_start(jsonb, jsonb, jsonb), abx.http_stop(jsonb, jsonb, jsonb), abx.http_assign(jsonb, jsonb, jsonb),
    abx.http_get_assignment(jsonb, jsonb, jsonb), abx.http_track(jsonb, jsonb, jsonb),
    abx.http_results(jsonb, jsonb, jsonb), abx.http_insights(jsonb, jsonb, jsonb),
    abx.http_promotion_config(jsonb, text), abx.http_eligibility(text, jsonb),
    abx.http_promotion_eligibility(jsonb, jsonb, jsonb), abx.http_promote(jsonb, jsonb, jsonb),
    abx.http_rollback(jsonb, jsonb, jsonb), abx.http_promotion_history(jsonb, jsonb, jsonb)
    TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;

GRANT EXECUTE ON FUNCTION
    abx.http_readiness(jsonb, jsonb, jsonb), abx.http_internal_aggregate(jsonb, jsonb, jsonb),
    abx.http_internal_retention(jsonb, jsonb, jsonb), abx.http_auto_promotion_check(jsonb, jsonb, jsonb)
    TO abx_gateway;
