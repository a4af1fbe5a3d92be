-- Agent steps (issue 9): the cost ledger gets what it lacked, runs know their principal, and run steps
-- keep the agent's record (tools offered, notes, plan, knowledge sources, calls, unknown-price flag).

-- The principal that started a run: the API key (null for runs started by a trigger: see trigger_kind/trigger_id).
ALTER TABLE "runner_runs" ADD COLUMN "api_key_id" UUID;

ALTER TABLE "runner_run_steps" ADD COLUMN "details" JSONB;

ALTER TABLE "model_calls"
  ADD COLUMN "call_index" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "cached_tokens" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "latency_ms" INTEGER NOT NULL DEFAULT 0,
  ADD COLUMN "api_key_id" UUID,
  ADD COLUMN "trigger_kind" TEXT,
  ADD COLUMN "trigger_id" UUID,
  ADD COLUMN "price_version" TEXT,
  ADD COLUMN "response" JSONB;

-- A call of a model with no known price costs null (unknown), never 0.
ALTER TABLE "model_calls" ALTER COLUMN "cost_usd" DROP DEFAULT, ALTER COLUMN "cost_usd" DROP NOT NULL;

CREATE INDEX "model_calls_run_id_step_name_idx" ON "model_calls"("run_id", "step_name");
