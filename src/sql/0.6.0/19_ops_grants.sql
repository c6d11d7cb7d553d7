
-- ---------------------------------------------------------------------------------------------
-- Grants of the ops page's routes (as 0.4.0's): executable by the five working roles, so that a
-- call reaches its right check and the refusal names the right. Closed to PUBLIC first, like
-- every abx function.
-- ---------------------------------------------------------------------------------------------
REVOKE ALL ON FUNCTION
    abx.session_access(), abx.approve(text, text, text), abx.http_me(jsonb, jsonb, jsonb),
    abx.http_pause(jsonb, jsonb, jsonb), abx.http_resume(jsonb, jsonb, jsonb),
    abx.http_complete(jsonb, jsonb, jsonb), abx.http_archive(jsonb, jsonb, jsonb),
    abx.http_reason(jsonb, boolean), abx.http_approve(jsonb, jsonb, jsonb), abx.http_reject(jsonb, jsonb, jsonb),
    abx.http_audit(jsonb, jsonb, jsonb), abx.http_audit_verify(jsonb, jsonb, jsonb), abx.http_jobs(jsonb, jsonb, jsonb)
    FROM PUBLIC;
GRANT EXECUTE ON FUNCTION
    abx.session_access(), abx.approve(text, text, text), abx.http_me(jsonb, jsonb, jsonb),
    abx.http_pause(jsonb, jsonb, jsonb), abx.http_resume(jsonb, jsonb, jsonb),
    abx.http_complete(jsonb, jsonb, jsonb), abx.http_archive(jsonb, jsonb, jsonb),
    abx.http_reason(jsonb, boolean), abx.http_approve(jsonb, jsonb, jsonb), abx.http_reject(jsonb, jsonb, jsonb),
    abx.http_audit(jsonb, jsonb, jsonb), abx.http_audit_verify(jsonb, jsonb, jsonb), abx.http_jobs(jsonb, jsonb, jsonb)
    TO abx_admin, abx_experimenter, abx_analyst, abx_service, abx_reader;
