
-- ---------------------------------------------------------------------------------------------
-- Grants of the ops page's routes (as 0.4.0's): closed to PUBLIC like every abx function, then
-- executable by the five working roles, so that a call reaches its right check and the refusal
-- names the right. One list for both.
-- ---------------------------------------------------------------------------------------------
DO $$
DECLARE
    f regprocedure;
BEGIN
    FOREACH f IN ARRAY ARRAY[
        'abx.session_access()', 'abx.approve(text, text, text)', 'abx.http_me(jsonb, jsonb, jsonb)',
        'abx.http_pause(jsonb, jsonb, jsonb)', 'abx.http_resume(jsonb, jsonb, jsonb)',
        'abx.http_complete(jsonb, jsonb, jsonb)', 'abx.http_archive(jsonb, jsonb, jsonb)',
        'abx.http_reason(jsonb, boolean)', 'abx.http_approve(jsonb, jsonb, jsonb)',
        'abx.http_reject(jsonb, jsonb, jsonb)', 'abx.http_audit(jsonb, jsonb, jsonb)',
        'abx.http_audit_verify(jsonb, jsonb, jsonb)', 'abx.http_jobs(jsonb, jsonb, jsonb)']::regprocedure[]
    LOOP
        EXECUTE pg_catalog.format('REVOKE ALL ON FUNCTION %s FROM PUBLIC', f);
        EXECUTE pg_catalog.format('GRANT EXECUTE ON FUNCTION %s TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader', f);
    END LOOP;
END $$;
