-- Row-level security that cannot be forgotten (docs/tenancy.md).
--
-- 1. Every org-owned table (every table with an org_id column, and orgs) has RLS enabled AND forced, so
--    the table owner is held to the policies too (a superuser still is not: that is why the app's
--    connections start as flapjack_app, see src/db/client.ts).
-- 2. flapjack_system: a second role without BYPASSRLS whose own policy admits every row. The few
--    cross-org paths (withSystem in src/db/scoped.ts) switch to it for one transaction. Being a policy
--    rather than BYPASSRLS, it works whether or not the migrating user is a superuser.
-- 3. org_members gets a policy that does not call app_user_in_org(): under FORCE, that SECURITY DEFINER
--    function reads org_members as the owner, and a policy calling it back would recurse.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'flapjack_system') THEN
    CREATE ROLE flapjack_system NOLOGIN NOBYPASSRLS;
  END IF;
END
$$;

GRANT flapjack_system TO CURRENT_USER;
GRANT USAGE ON SCHEMA public TO flapjack_system;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO flapjack_system;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO flapjack_system;
REVOKE ALL ON TABLE "_prisma_migrations" FROM flapjack_system;

DROP POLICY IF EXISTS org_isolation ON org_members;
CREATE POLICY org_isolation ON org_members
  USING (org_id = app_current_org() OR user_id = nullif(current_setting('app.user_id', true), ''))
  WITH CHECK (org_id = app_current_org());

DO $$
DECLARE t text;
BEGIN
  FOR t IN
    SELECT c.relname
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p')
       AND (c.relname = 'orgs' OR EXISTS (
             SELECT 1 FROM pg_attribute a
              WHERE a.attrelid = c.oid AND a.attname = 'org_id' AND a.attnum > 0 AND NOT a.attisdropped))
  LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY system_access ON %I TO flapjack_system USING (true) WITH CHECK (true)', t);
  END LOOP;
END
$$;
