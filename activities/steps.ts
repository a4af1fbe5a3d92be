import { failure } from '../src/shared/failure-codes';
import type { PrismaClient } from '../src/db/client';
import { withOrg } from '../src/db/scoped';
import { validateAgainst } from '../src/validation/json-schema';
import type { SecretBox } from '../src/crypto/secret-box';
import { openWebhookHeaders } from '../src/crypto/webhook-headers';
import type { ExecuteStepArgs, PersistBatch, PersistOp } from '../src/shared/run-types';
import { mustWriteFirst } from './persistence';

/**
 * How long the last step's activity holds back the writes that travel with it (the step's start and what
 * the workflow had pending): a step that ends sooner has them written with its end, in one transaction
 * (one PostgreSQL transaction less per run); a slower one has them written at this point, as other steps do.
 */
export const MERGE_WITH_END_MS = 50;

export interface StepExecutors {
  executeWebhookStep(args: {
    runId: string;
    stepName: string;
    url: string;
    headers?: Record<string, string>;
    input: unknown;
    boundMs?: number;
  }): Promise<unknown>;
  executeComputerStep(args: {
    runId: string;
    orgId?: string;
    stepName: string;
    computer: NonNullable<ExecuteStepArgs['step']['computer']>;
    input: unknown;
  }): Promise<unknown>;
}

/**
 * A webhook step's headers: their ciphertext travels with the step in the workflow's snapshot and is
 * decrypted here only, with the worker's secret box. Runs started before that (no ciphertext in the
 * step) read it from the run's stored snapshot.
 */
async function loadWebhookHeaders(
  db: PrismaClient,
  box: SecretBox | undefined,
  args: ExecuteStepArgs,
): Promise<Record<string, string>> {
  let stored: unknown = args.step.webhookHeaders;
  if (typeof stored !== 'string') {
    const run = await withOrg(db, args.orgId, (tx) =>
      tx.runnerRun.findUnique({ where: { id: args.runId }, select: { snapshot: true } }),
    );
    const steps = ((run?.snapshot ?? {}) as { steps?: { name: string; webhookHeaders?: unknown }[] }).steps;
    stored = steps?.find((s) => s.name === args.step.name)?.webhookHeaders;
  }
  try {
    return openWebhookHeaders(box, args.orgId, stored) ?? {};
  } catch (e) {
    // No key on this worker, or a different one: retrying cannot help.
    throw failure(
      'step_failed',
      `The headers of step "${args.step.name}" cannot be decrypted on this worker: ${(e as Error).message}`,
    );
  }
}

/** Tries a database write a few times with backoff before letting the activity's retry policy take over. */
async function withDbRetries(fn: () => Promise<void>, attempts = 4): Promise<void> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (e) {
      if (i >= attempts) throw e;
      await new Promise((r) => setTimeout(r, 250 * 2 ** i));
    }
  }
}

export function createStepActivities(deps: {
  db: PrismaClient;
  secrets?: SecretBox;
  executors: StepExecutors;
  persistRun: (batch: PersistBatch) => Promise<void>;
}) {
  async function runStep(args: ExecuteStepArgs): Promise<unknown> {
    const { step } = args;
    switch (step.kind) {
      case 'webhook': {
        const headers = step.hasWebhookHeaders ? await loadWebhookHeaders(deps.db, deps.secrets, args) : undefined;
        return deps.executors.executeWebhookStep({
          runId: args.runId,
          stepName: step.name,
          url: step.webhookUrl ?? '',
          headers,
          input: args.input,
          boundMs: args.localBoundMs,
        });
      }
      case 'computer':
        if (!step.computer) throw failure('sandbox_error', 'computer step has no code');
        return deps.executors.executeComputerStep({
          runId: args.runId,
          orgId: args.orgId,
          stepName: step.name,
          computer: step.computer,
          input: args.input,
        });
      case 'agent':
        throw failure(
          'agent_unavailable',
          `Agent steps are not available in this version of the engine (step "${step.name}")`,
        );
      case 'condition':
        throw failure('internal', 'condition steps are evaluated by the workflow');
    }
  }

  return {
    async executeStep(args: ExecuteStepArgs): Promise<unknown> {
      const { step } = args;
      const startedAt = new Date();
      // The workflow's pending writes (the step's start among them) go out while the step runs: the
      // step does not read them, so waiting for them first only added a database round trip of latency.
      // Both are awaited before the activity answers, so every write lands before the workflow's next one.
      // (The write's error is caught at once and rethrown below: no rejection is left unhandled meanwhile.)
      // On the run's last step they wait up to MERGE_WITH_END_MS: a step that ends sooner has its start and
      // its end (and the run's) recorded in one transaction instead of two.
      const pending = args.persist;
      // The first writes of a run recorded while its workflow started, by another process, land (and find
      // the record) before the step does anything; this process's own record is awaited (`mustWriteFirst`).
      const writeFirst = await mustWriteFirst(pending);
      let persisted: Promise<{ error: unknown } | null> | null = null;
      const writePending = (): Promise<{ error: unknown } | null> =>
        (persisted ??= pending
          ? withDbRetries(() => deps.persistRun({ ...pending, onlyIfActive: true })).then(
              () => null,
              (e: unknown) => ({ error: e }),
            )
          : Promise.resolve(null));
      const deferred = pending !== undefined && args.finalize !== undefined && !writeFirst;
      const timer = deferred ? setTimeout(() => void writePending(), MERGE_WITH_END_MS) : undefined;
      if (!deferred) void writePending();
      if (writeFirst) {
        const failed = await writePending();
        if (failed) throw failed.error;
      }
      let outcome: { ok: true; value: unknown } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, value: await runStep(args) };
      } catch (e) {
        outcome = { ok: false, error: e };
      } finally {
        clearTimeout(timer);
      }
      let output = outcome.ok ? (outcome.value === undefined ? null : outcome.value) : null;
      const issues = outcome.ok && step.outputSchema ? validateAgainst(step.outputSchema, output, 'output') : [];
      // Still unsent (a fast last step): sent now, with the step's end when it succeeded.
      const merge = persisted === null && pending !== undefined && outcome.ok && issues.length === 0;
      // A failed step, too, waits for its start to be recorded (its failure is written after it).
      const writeFailed = merge ? null : await writePending();
      if (writeFailed) throw writeFailed.error;
      if (!outcome.ok) throw outcome.error;
      if (issues.length > 0) {
        const listed = issues
          .slice(0, 5)
          .map((i) => `${i.path} ${i.message}`)
          .join('; ');
        throw failure(
          'output_schema_mismatch',
          `Output of step "${step.name}" does not match its outputSchema: ${listed}`,
          {
            details: [issues],
          },
        );
      }
      if (args.finalize) {
        const { index, context } = args.finalize;
        output = output ?? null;
        const finalContext = {
          ...context,
          steps: { ...context.steps, [step.name]: { output, status: 'completed' as const } },
        };
        const end: PersistOp[] = [
          { op: 'stepFinished', index, status: 'completed', input: args.input, output },
          { op: 'runFinished', status: 'completed', output, error: null },
        ];
        const done: PersistBatch = {
          runId: args.runId,
          orgId: args.orgId,
          // Merged: the pending writes first (the context goes before every op, see persistRun); their
          // start times are the activity's, not the transaction's.
          ops: merge && pending ? [...pending.ops, ...end] : end,
          context: finalContext,
          currentStep: index,
          onlyIfActive: true,
          ...(merge ? { startedAt: startedAt.toISOString() } : {}),
        };
        await withDbRetries(() => deps.persistRun(done));
      }
      return output;
    },
  };
}
