-- Budgets that pause and resume, and cost analytics (issue 10).

-- Where budget warnings are POSTed (through egress control); NULL = no notice.
ALTER TABLE "runner_budget_config" ADD COLUMN "warning_webhook_url" TEXT;

-- What happened to a run besides its steps (budget warnings, pauses, resumes), oldest first. Each event
-- has a deterministic `id`, so a retried write never appends it twice.
ALTER TABLE "runner_runs" ADD COLUMN "events" JSONB NOT NULL DEFAULT '[]';

-- Analytics: runs per UTC day of a runner or an org, answered from the index alone (status included).
CREATE INDEX "runner_runs_runner_id_created_at_status_idx" ON "runner_runs" ("runner_id", "created_at") INCLUDE ("status");
CREATE INDEX "runner_runs_org_id_created_at_status_idx" ON "runner_runs" ("org_id", "created_at") INCLUDE ("status");
-- The old (runner_id, created_at) index is a prefix of the covering one.
DROP INDEX IF EXISTS "runner_runs_runner_id_created_at_idx";

-- The agent of the step that made the call, when the step references one (org analytics' by_agent).
ALTER TABLE "model_calls" ADD COLUMN "agent_id" UUID;

-- One row per tool call an agent step made (for `top_tools`); `call_key` makes a retried write a no-op.
CREATE TABLE "tool_calls" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "org_id" UUID NOT NULL,
    "runner_id" UUID NOT NULL,
    "run_id" UUID NOT NULL,
    "step_name" TEXT NOT NULL,
    "call_key" TEXT NOT NULL,
    "tool_name" TEXT NOT NULL,
    "is_error" BOOLEAN NOT NULL DEFAULT false,
    "latency_ms" INTEGER,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    CONSTRAINT "tool_calls_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "tool_calls_run_id_fkey" FOREIGN KEY ("run_id") REFERENCES "runner_runs"("id") ON DELETE CASCADE ON UPDATE CASCADE
);
CREATE UNIQUE INDEX "tool_calls_call_key_key" ON "tool_calls" ("call_key");
CREATE INDEX "tool_calls_org_id_created_at_idx" ON "tool_calls" ("org_id", "created_at");
ALTER TABLE "tool_calls" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "tool_calls" FORCE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON "tool_calls" TO flapjack_app;

-- The org policy of the tables analytics scans, with the same meaning as is_org_member(org_id) but the
-- org read once per query (an InitPlan) instead of `current_setting()` and a uuid cast per row: over
-- 500,000 ledger rows that per-row work was most of the query's time. When the query itself says
-- `org_id = <org>`, the planner even turns the check into a one-time filter.
DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['runner_runs', 'model_calls', 'tool_calls'] LOOP
    EXECUTE format('DROP POLICY IF EXISTS org_isolation ON %I', t);
    EXECUTE format(
      'CREATE POLICY org_isolation ON %I USING (org_id = (SELECT app_current_org()) OR app_user_in_org(org_id)) '
      'WITH CHECK (org_id = (SELECT app_current_org()) OR app_user_in_org(org_id))', t);
  END LOOP;
END
$$;

-- Daily rollups of the ledger, kept by statement-level triggers in the inserting transaction, so the
-- analytics routes read a few thousand rows instead of every ledger row of the period (500,000 ledger
-- rows for 90 days answered in ~4.5 s on this busy machine; the rollups answer in a fraction). Days
-- are UTC. The ledger stays the source of truth: a rollup row is a sum of ledger rows, nothing else.
CREATE TABLE "model_usage_daily" (
    "org_id" UUID NOT NULL REFERENCES "orgs"("id") ON DELETE CASCADE,
    "runner_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "model" TEXT NOT NULL,
    "calls" BIGINT NOT NULL DEFAULT 0,
    "input_tokens" BIGINT NOT NULL DEFAULT 0,
    "output_tokens" BIGINT NOT NULL DEFAULT 0,
    "cost_usd" DECIMAL(20,8) NOT NULL DEFAULT 0,
    "unpriced_calls" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "model_usage_daily_pkey" PRIMARY KEY ("org_id", "runner_id", "day", "model")
);
CREATE INDEX "model_usage_daily_org_id_day_idx" ON "model_usage_daily" ("org_id", "day");
-- principal: the run's API key (`key:<id>`), else its trigger (`trigger:<kind>:<id>`), '' when unknown.
CREATE TABLE "model_usage_daily_principal" (
    "org_id" UUID NOT NULL REFERENCES "orgs"("id") ON DELETE CASCADE,
    "day" DATE NOT NULL,
    "model" TEXT NOT NULL,
    "principal" TEXT NOT NULL,
    "calls" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "model_usage_daily_principal_pkey" PRIMARY KEY ("org_id", "day", "model", "principal")
);
-- agent_key: the step's agent, or the nil UUID for inline agent steps.
CREATE TABLE "model_usage_daily_agent" (
    "org_id" UUID NOT NULL REFERENCES "orgs"("id") ON DELETE CASCADE,
    "day" DATE NOT NULL,
    "agent_key" UUID NOT NULL,
    "calls" BIGINT NOT NULL DEFAULT 0,
    "cost_usd" DECIMAL(20,8) NOT NULL DEFAULT 0,
    CONSTRAINT "model_usage_daily_agent_pkey" PRIMARY KEY ("org_id", "day", "agent_key")
);
CREATE TABLE "tool_usage_daily" (
    "org_id" UUID NOT NULL REFERENCES "orgs"("id") ON DELETE CASCADE,
    "day" DATE NOT NULL,
    "tool_name" TEXT NOT NULL,
    "calls" BIGINT NOT NULL DEFAULT 0,
    "errors" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "tool_usage_daily_pkey" PRIMARY KEY ("org_id", "day", "tool_name")
);

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['model_usage_daily', 'model_usage_daily_principal', 'model_usage_daily_agent', 'tool_usage_daily'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY org_isolation ON %I USING (org_id = (SELECT app_current_org()) OR app_user_in_org(org_id)) '
      'WITH CHECK (org_id = (SELECT app_current_org()) OR app_user_in_org(org_id))', t);
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON %I TO flapjack_app', t);
  END LOOP;
END
$$;

-- Statement-level triggers (one upsert per rollup per statement, however many ledger rows it wrote).
-- SECURITY DEFINER: the rollups are written by the table owner whatever role inserted the ledger rows.
CREATE FUNCTION model_calls_rollup_insert() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
  BEGIN
    INSERT INTO model_usage_daily AS d (org_id, runner_id, day, model, calls, input_tokens, output_tokens, cost_usd, unpriced_calls)
      SELECT org_id, runner_id, (created_at AT TIME ZONE 'UTC')::date, model, 1 * count(*), 1 * sum(input_tokens),
             1 * sum(output_tokens), 1 * COALESCE(sum(cost_usd), 0), 1 * count(*) FILTER (WHERE cost_usd IS NULL)
        FROM new_rows GROUP BY 1, 2, 3, 4
    ON CONFLICT (org_id, runner_id, day, model) DO UPDATE SET calls = d.calls + EXCLUDED.calls,
      input_tokens = d.input_tokens + EXCLUDED.input_tokens, output_tokens = d.output_tokens + EXCLUDED.output_tokens,
      cost_usd = d.cost_usd + EXCLUDED.cost_usd, unpriced_calls = d.unpriced_calls + EXCLUDED.unpriced_calls;
    INSERT INTO model_usage_daily_principal AS d (org_id, day, model, principal, calls)
      SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, model,
             COALESCE('key:' || api_key_id::text, 'trigger:' || trigger_kind || ':' || COALESCE(trigger_id::text, ''), ''),
             1 * count(*)
        FROM new_rows GROUP BY 1, 2, 3, 4
    ON CONFLICT (org_id, day, model, principal) DO UPDATE SET calls = d.calls + EXCLUDED.calls;
    INSERT INTO model_usage_daily_agent AS d (org_id, day, agent_key, calls, cost_usd)
      SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, COALESCE(agent_id, '00000000-0000-0000-0000-000000000000'),
             1 * count(*), 1 * COALESCE(sum(cost_usd), 0)
        FROM new_rows GROUP BY 1, 2, 3
    ON CONFLICT (org_id, day, agent_key) DO UPDATE SET calls = d.calls + EXCLUDED.calls, cost_usd = d.cost_usd + EXCLUDED.cost_usd;
    RETURN NULL;
  END
  $$;
CREATE FUNCTION model_calls_rollup_delete() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
  BEGIN
    INSERT INTO model_usage_daily AS d (org_id, runner_id, day, model, calls, input_tokens, output_tokens, cost_usd, unpriced_calls)
      SELECT org_id, runner_id, (created_at AT TIME ZONE 'UTC')::date, model, -1 * count(*), -1 * sum(input_tokens),
             -1 * sum(output_tokens), -1 * COALESCE(sum(cost_usd), 0), -1 * count(*) FILTER (WHERE cost_usd IS NULL)
        FROM old_rows GROUP BY 1, 2, 3, 4
    ON CONFLICT (org_id, runner_id, day, model) DO UPDATE SET calls = d.calls + EXCLUDED.calls,
      input_tokens = d.input_tokens + EXCLUDED.input_tokens, output_tokens = d.output_tokens + EXCLUDED.output_tokens,
      cost_usd = d.cost_usd + EXCLUDED.cost_usd, unpriced_calls = d.unpriced_calls + EXCLUDED.unpriced_calls;
    INSERT INTO model_usage_daily_principal AS d (org_id, day, model, principal, calls)
      SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, model,
             COALESCE('key:' || api_key_id::text, 'trigger:' || trigger_kind || ':' || COALESCE(trigger_id::text, ''), ''),
             -1 * count(*)
        FROM old_rows GROUP BY 1, 2, 3, 4
    ON CONFLICT (org_id, day, model, principal) DO UPDATE SET calls = d.calls + EXCLUDED.calls;
    INSERT INTO model_usage_daily_agent AS d (org_id, day, agent_key, calls, cost_usd)
      SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, COALESCE(agent_id, '00000000-0000-0000-0000-000000000000'),
             -1 * count(*), -1 * COALESCE(sum(cost_usd), 0)
        FROM old_rows GROUP BY 1, 2, 3
    ON CONFLICT (org_id, day, agent_key) DO UPDATE SET calls = d.calls + EXCLUDED.calls, cost_usd = d.cost_usd + EXCLUDED.cost_usd;
    RETURN NULL;
  END
  $$;
CREATE TRIGGER model_calls_rollup_insert AFTER INSERT ON model_calls REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION model_calls_rollup_insert();
CREATE TRIGGER model_calls_rollup_delete AFTER DELETE ON model_calls REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION model_calls_rollup_delete();

CREATE FUNCTION tool_calls_rollup_insert() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
  BEGIN
    INSERT INTO tool_usage_daily AS d (org_id, day, tool_name, calls, errors)
      SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, tool_name, 1 * count(*), 1 * count(*) FILTER (WHERE is_error)
        FROM new_rows GROUP BY 1, 2, 3
    ON CONFLICT (org_id, day, tool_name) DO UPDATE SET calls = d.calls + EXCLUDED.calls, errors = d.errors + EXCLUDED.errors;
    RETURN NULL;
  END
  $$;
CREATE FUNCTION tool_calls_rollup_delete() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
  BEGIN
    INSERT INTO tool_usage_daily AS d (org_id, day, tool_name, calls, errors)
      SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, tool_name, -1 * count(*), -1 * count(*) FILTER (WHERE is_error)
        FROM old_rows GROUP BY 1, 2, 3
    ON CONFLICT (org_id, day, tool_name) DO UPDATE SET calls = d.calls + EXCLUDED.calls, errors = d.errors + EXCLUDED.errors;
    RETURN NULL;
  END
  $$;
CREATE TRIGGER tool_calls_rollup_insert AFTER INSERT ON tool_calls REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tool_calls_rollup_insert();
CREATE TRIGGER tool_calls_rollup_delete AFTER DELETE ON tool_calls REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION tool_calls_rollup_delete();

-- Ledger rows written before this migration.
WITH new_rows AS (SELECT * FROM model_calls)
INSERT INTO model_usage_daily AS d (org_id, runner_id, day, model, calls, input_tokens, output_tokens, cost_usd, unpriced_calls)
      SELECT org_id, runner_id, (created_at AT TIME ZONE 'UTC')::date, model, 1 * count(*), 1 * sum(input_tokens),
             1 * sum(output_tokens), 1 * COALESCE(sum(cost_usd), 0), 1 * count(*) FILTER (WHERE cost_usd IS NULL)
        FROM new_rows GROUP BY 1, 2, 3, 4
    ON CONFLICT (org_id, runner_id, day, model) DO UPDATE SET calls = d.calls + EXCLUDED.calls,
      input_tokens = d.input_tokens + EXCLUDED.input_tokens, output_tokens = d.output_tokens + EXCLUDED.output_tokens,
      cost_usd = d.cost_usd + EXCLUDED.cost_usd, unpriced_calls = d.unpriced_calls + EXCLUDED.unpriced_calls;
WITH new_rows AS (SELECT * FROM model_calls)
INSERT INTO model_usage_daily_principal AS d (org_id, day, model, principal, calls)
      SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, model,
             COALESCE('key:' || api_key_id::text, 'trigger:' || trigger_kind || ':' || COALESCE(trigger_id::text, ''), ''),
             1 * count(*)
        FROM new_rows GROUP BY 1, 2, 3, 4
    ON CONFLICT (org_id, day, model, principal) DO UPDATE SET calls = d.calls + EXCLUDED.calls;
WITH new_rows AS (SELECT * FROM model_calls)
INSERT INTO model_usage_daily_agent AS d (org_id, day, agent_key, calls, cost_usd)
      SELECT org_id, (created_at AT TIME ZONE 'UTC')::date, COALESCE(agent_id, '00000000-0000-0000-0000-000000000000'),
             1 * count(*), 1 * COALESCE(sum(cost_usd), 0)
        FROM new_rows GROUP BY 1, 2, 3
    ON CONFLICT (org_id, day, agent_key) DO UPDATE SET calls = d.calls + EXCLUDED.calls, cost_usd = d.cost_usd + EXCLUDED.cost_usd;
