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
