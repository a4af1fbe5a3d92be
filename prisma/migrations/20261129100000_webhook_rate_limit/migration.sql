-- Webhook rate limit shared by every API process (issue 11): the trigger's "theoretical arrival time"
-- of the generic cell rate algorithm (a token bucket kept as one timestamp), advanced by one UPDATE per
-- delivery. NULL: no delivery yet (a full bucket).
ALTER TABLE "runner_triggers" ADD COLUMN "rate_limit_tat" TIMESTAMPTZ(6);
