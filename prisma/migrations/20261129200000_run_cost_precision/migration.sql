-- A run's and a step's cost_usd are sums of their model_calls rows, which keep 8 decimals: stored with 6
-- they were rounded (a gpt-5-nano call of 3 tokens in and 1 out: ledger 0.0000011, run 0.000001), so the
-- run disagreed with its ledger and with the analytics. Same precision as the analytics rollups.
ALTER TABLE "runner_runs" ALTER COLUMN "cost_usd" SET DATA TYPE DECIMAL(20,8);
ALTER TABLE "runner_run_steps" ALTER COLUMN "cost_usd" SET DATA TYPE DECIMAL(20,8);
