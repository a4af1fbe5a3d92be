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

-- Analytics over the ledger, answered from the indexes alone (after the old two-column ones).
CREATE INDEX "model_calls_runner_id_created_at_cover_idx" ON "model_calls" ("runner_id", "created_at")
  INCLUDE ("model", "cost_usd", "input_tokens", "output_tokens");
CREATE INDEX "model_calls_org_id_created_at_cover_idx" ON "model_calls" ("org_id", "created_at")
  INCLUDE ("model", "cost_usd", "api_key_id", "trigger_kind", "trigger_id", "agent_id");
DROP INDEX IF EXISTS "model_calls_runner_id_created_at_idx";
DROP INDEX IF EXISTS "model_calls_org_id_created_at_idx";

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
CREATE INDEX "tool_calls_org_id_created_at_idx" ON "tool_calls" ("org_id", "created_at") INCLUDE ("tool_name", "is_error");
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
