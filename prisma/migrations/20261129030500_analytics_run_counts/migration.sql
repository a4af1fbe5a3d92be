-- Analytics within 200 ms on 100,000 runs (issue 10): two more rollups, so no route scans rows per run.
--
-- Before this, runs per day were counted from `runner_runs` (its covering index: one entry per run of
-- the period, 100,000 for the org's 90 days: ~350-530 ms of the org route under load), and distinct
-- principals per model came from `count(DISTINCT)` over the per-day principal rollup (24,000 rows for
-- 90 days, ~50-150 ms). Both are now read from rollups of a few hundred rows.

-- No run or ledger row may be written between the triggers below taking effect and the backfill at the
-- end reading what is there (this whole file is one transaction; the locks go at its commit).
LOCK TABLE runner_runs, model_calls IN SHARE ROW EXCLUSIVE MODE;

-- Runs per runner and UTC day of creation: all of them, and those completed or failed (the only
-- statuses the analytics name). Kept exact by triggers on `runner_runs`: an insert adds, a delete
-- subtracts, and a status change into or out of `completed`/`failed` moves the run between counts.
CREATE TABLE "run_counts_daily" (
    "org_id" UUID NOT NULL REFERENCES "orgs"("id") ON DELETE CASCADE,
    "runner_id" UUID NOT NULL,
    "day" DATE NOT NULL,
    "runs" BIGINT NOT NULL DEFAULT 0,
    "completed" BIGINT NOT NULL DEFAULT 0,
    "failed" BIGINT NOT NULL DEFAULT 0,
    CONSTRAINT "run_counts_daily_pkey" PRIMARY KEY ("org_id", "runner_id", "day")
);
CREATE INDEX "run_counts_daily_org_id_day_idx" ON "run_counts_daily" ("org_id", "day");

-- The last UTC day each principal (the same text as `model_usage_daily_principal.principal`) called each
-- model; NULL once its calls were all deleted. The periods end today, so "distinct principals with a
-- call in the period" is the number of rows whose last day is on or after the period's first day.
CREATE TABLE "model_usage_principal_last_day" (
    "org_id" UUID NOT NULL REFERENCES "orgs"("id") ON DELETE CASCADE,
    "model" TEXT NOT NULL,
    "principal" TEXT NOT NULL,
    "last_day" DATE,
    CONSTRAINT "model_usage_principal_last_day_pkey" PRIMARY KEY ("org_id", "model", "principal")
);
-- When ledger rows are deleted, a principal's new last day is found by walking back its own days.
CREATE INDEX "model_usage_daily_principal_org_id_model_principal_day_idx"
  ON "model_usage_daily_principal" ("org_id", "model", "principal", "day");

DO $$
DECLARE t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['run_counts_daily', 'model_usage_principal_last_day'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format(
      'CREATE POLICY org_isolation ON %I USING (org_id = (SELECT app_current_org()) OR app_user_in_org(org_id)) '
      'WITH CHECK (org_id = (SELECT app_current_org()) OR app_user_in_org(org_id))', t);
    -- Only the triggers (SECURITY DEFINER, as the owner) write these; the app only reads them.
    EXECUTE format('GRANT SELECT ON %I TO flapjack_app', t);
  END LOOP;
END
$$;

-- Inserts (one run or a bulk batch of 1,000): one upsert per (runner, day) per statement. Groups are
-- upserted in key order, so two concurrent batches lock the counter rows in the same order.
CREATE FUNCTION runner_runs_counts_insert() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
  BEGIN
    INSERT INTO run_counts_daily AS d (org_id, runner_id, day, runs, completed, failed)
      SELECT org_id, runner_id, (created_at AT TIME ZONE 'UTC')::date, count(*),
             count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed')
        FROM new_rows GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (org_id, runner_id, day) DO UPDATE SET runs = d.runs + EXCLUDED.runs,
      completed = d.completed + EXCLUDED.completed, failed = d.failed + EXCLUDED.failed;
    RETURN NULL;
  END
  $$;

-- Deletes only ever subtract from rows their insert created, so they update and never insert: an org
-- deleted with its runs (whose cascade may already have removed the counters) leaves nothing behind.
CREATE FUNCTION runner_runs_counts_delete() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
  BEGIN
    UPDATE run_counts_daily AS d SET runs = d.runs - o.runs, completed = d.completed - o.completed,
           failed = d.failed - o.failed
      FROM (SELECT org_id, runner_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS runs,
                   count(*) FILTER (WHERE status = 'completed') AS completed,
                   count(*) FILTER (WHERE status = 'failed') AS failed
              FROM old_rows GROUP BY 1, 2, 3) o
     WHERE d.org_id = o.org_id AND d.runner_id = o.runner_id AND d.day = o.day;
    RETURN NULL;
  END
  $$;

-- Status changes: a row trigger whose WHEN (checked without calling any function) lets through only
-- the updates that change a count: into or out of completed/failed, or a moved run. The run's many
-- other updates (steps, events, pending → running → paused) cost nothing. A statement trigger could
-- not be restricted that way (transition tables exclude column lists) and would run for every update.
CREATE FUNCTION runner_runs_counts_update() RETURNS trigger
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = public
  AS $$
  DECLARE
    old_day date := (OLD.created_at AT TIME ZONE 'UTC')::date;
    new_day date := (NEW.created_at AT TIME ZONE 'UTC')::date;
  BEGIN
    IF OLD.org_id = NEW.org_id AND OLD.runner_id = NEW.runner_id AND old_day = new_day THEN
      UPDATE run_counts_daily
         SET completed = completed + (NEW.status = 'completed')::int - (OLD.status = 'completed')::int,
             failed = failed + (NEW.status = 'failed')::int - (OLD.status = 'failed')::int
       WHERE org_id = NEW.org_id AND runner_id = NEW.runner_id AND day = new_day;
    ELSE
      UPDATE run_counts_daily
         SET runs = runs - 1, completed = completed - (OLD.status = 'completed')::int,
             failed = failed - (OLD.status = 'failed')::int
       WHERE org_id = OLD.org_id AND runner_id = OLD.runner_id AND day = old_day;
      INSERT INTO run_counts_daily AS d (org_id, runner_id, day, runs, completed, failed)
        VALUES (NEW.org_id, NEW.runner_id, new_day, 1, (NEW.status = 'completed')::int, (NEW.status = 'failed')::int)
      ON CONFLICT (org_id, runner_id, day) DO UPDATE SET runs = d.runs + 1,
        completed = d.completed + EXCLUDED.completed, failed = d.failed + EXCLUDED.failed;
    END IF;
    RETURN NULL;
  END
  $$;

CREATE TRIGGER runner_runs_counts_insert AFTER INSERT ON runner_runs REFERENCING NEW TABLE AS new_rows
  FOR EACH STATEMENT EXECUTE FUNCTION runner_runs_counts_insert();
CREATE TRIGGER runner_runs_counts_delete AFTER DELETE ON runner_runs REFERENCING OLD TABLE AS old_rows
  FOR EACH STATEMENT EXECUTE FUNCTION runner_runs_counts_delete();
CREATE TRIGGER runner_runs_counts_update AFTER UPDATE OF status, created_at, org_id, runner_id ON runner_runs
  FOR EACH ROW
  WHEN ((OLD.status IS DISTINCT FROM NEW.status
         AND (OLD.status IN ('completed', 'failed') OR NEW.status IN ('completed', 'failed')))
        OR OLD.created_at IS DISTINCT FROM NEW.created_at
        OR OLD.org_id IS DISTINCT FROM NEW.org_id
        OR OLD.runner_id IS DISTINCT FROM NEW.runner_id)
  EXECUTE FUNCTION runner_runs_counts_update();

-- The ledger's rollup functions of 20261129030000 again, each with the last-day upkeep added at the end
-- (same OIDs: the triggers keep pointing at them).
CREATE OR REPLACE FUNCTION model_calls_rollup_insert() RETURNS trigger
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
    -- Rewritten only when the day moves forward (once a day per principal and model), not per call.
    INSERT INTO model_usage_principal_last_day AS l (org_id, model, principal, last_day)
      SELECT org_id, model,
             COALESCE('key:' || api_key_id::text, 'trigger:' || trigger_kind || ':' || COALESCE(trigger_id::text, ''), ''),
             max((created_at AT TIME ZONE 'UTC')::date)
        FROM new_rows GROUP BY 1, 2, 3
    ON CONFLICT (org_id, model, principal) DO UPDATE SET last_day = EXCLUDED.last_day
      WHERE l.last_day IS NULL OR l.last_day < EXCLUDED.last_day;
    RETURN NULL;
  END
  $$;
CREATE OR REPLACE FUNCTION model_calls_rollup_delete() RETURNS trigger
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
    -- A deletion on a principal's last day may leave that day without calls: walk back to the latest
    -- day that still has some (NULL when none). Deletions on earlier days cannot move the last day.
    UPDATE model_usage_principal_last_day AS l
       SET last_day = (SELECT max(p.day) FROM model_usage_daily_principal p
                        WHERE p.org_id = l.org_id AND p.model = l.model AND p.principal = l.principal AND p.calls > 0)
      FROM (SELECT DISTINCT org_id, model,
                   COALESCE('key:' || api_key_id::text, 'trigger:' || trigger_kind || ':' || COALESCE(trigger_id::text, ''), '') AS principal,
                   (created_at AT TIME ZONE 'UTC')::date AS day
              FROM old_rows) o
     WHERE l.org_id = o.org_id AND l.model = o.model AND l.principal = o.principal AND l.last_day = o.day;
    RETURN NULL;
  END
  $$;

-- Rows written before this migration (the triggers above exist already, in this same transaction).
INSERT INTO run_counts_daily (org_id, runner_id, day, runs, completed, failed)
  SELECT org_id, runner_id, (created_at AT TIME ZONE 'UTC')::date, count(*),
         count(*) FILTER (WHERE status = 'completed'), count(*) FILTER (WHERE status = 'failed')
    FROM runner_runs GROUP BY 1, 2, 3;
INSERT INTO model_usage_principal_last_day (org_id, model, principal, last_day)
  SELECT org_id, model, principal, max(day) FROM model_usage_daily_principal WHERE calls > 0 GROUP BY 1, 2, 3;
