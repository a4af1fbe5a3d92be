-- Opt-in runner setting: after a failed run, ask the model for one short lesson and append it to
-- learned_instructions (issue 9).
ALTER TABLE "runners" ADD COLUMN "reflect_on_failure" BOOLEAN NOT NULL DEFAULT false;
