-- Row-level security: every org-owned table is visible only to members of its org.
--
-- The API and the worker connect with DATABASE_URL and, for each org-scoped unit of work, open a
-- transaction that runs `SET LOCAL ROLE flapjack_app` (a role without BYPASSRLS) and
-- `set_config('app.org_id', <org>, true)`. Queries in that transaction see only that org's rows,
-- with or without a WHERE clause.

CREATE OR REPLACE FUNCTION app_current_org() RETURNS uuid
  LANGUAGE sql STABLE
  AS $$ SELECT nullif(current_setting('app.org_id', true), '')::uuid $$;

-- Membership of a user (set in app.user_id) in an org. SECURITY DEFINER so that reading
-- org_members here does not recurse into org_members' own policy.
CREATE OR REPLACE FUNCTION app_user_in_org(target_org uuid) RETURNS boolean
  LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public
  AS $$
    SELECT EXISTS (
      SELECT 1 FROM org_members m
      WHERE m.org_id = target_org
        AND m.user_id = nullif(current_setting('app.user_id', true), '')
    )
  $$;

-- True when the current request acts for `target_org`: an API key of that org (app.org_id) or a
-- member user (app.user_id). Plain SQL so the planner can inline it and use org_id indexes.
CREATE OR REPLACE FUNCTION is_org_member(target_org uuid) RETURNS boolean
  LANGUAGE sql STABLE
  AS $$ SELECT target_org = app_current_org() OR app_user_in_org(target_org) $$;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flapjack_app') THEN
    CREATE ROLE flapjack_app NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;

GRANT flapjack_app TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO flapjack_app;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO flapjack_app;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO flapjack_app;
GRANT EXECUTE ON FUNCTION app_current_org(), app_user_in_org(uuid), is_org_member(uuid) TO flapjack_app;
REVOKE ALL ON TABLE "_prisma_migrations" FROM flapjack_app;

ALTER TABLE orgs ENABLE ROW LEVEL SECURITY;
CREATE POLICY org_isolation ON orgs USING (is_org_member(id)) WITH CHECK (is_org_member(id));

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY[
    'org_members', 'api_keys', 'agents', 'mcp_servers', 'integrations', 'tools', 'skills',
    'agent_mcps', 'agent_integrations', 'agent_tools', 'knowledge_docs', 'knowledge_chunks',
    'runners', 'runner_steps', 'runner_triggers', 'runner_runs', 'runner_run_steps', 'model_calls',
    'runner_mcps', 'runner_integrations', 'runner_tools', 'runner_skills',
    'runner_web_config', 'runner_plan_config', 'runner_budget_config'
  ] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY org_isolation ON %I USING (is_org_member(org_id)) WITH CHECK (is_org_member(org_id))', t);
  END LOOP;
END
$$;

-- Full-text search over knowledge chunks, language-aware: tsv is maintained from (language, content).
CREATE OR REPLACE FUNCTION knowledge_chunks_tsv() RETURNS trigger
  LANGUAGE plpgsql
  AS $$
  BEGIN
    NEW.tsv := to_tsvector(NEW.language::regconfig, NEW.content);
    RETURN NEW;
  END
  $$;
CREATE TRIGGER knowledge_chunks_tsv BEFORE INSERT OR UPDATE OF content, language ON knowledge_chunks
  FOR EACH ROW EXECUTE FUNCTION knowledge_chunks_tsv();
CREATE INDEX knowledge_chunks_tsv_idx ON knowledge_chunks USING gin (tsv);
