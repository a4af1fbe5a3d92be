/**
 * The run's budget controller, inside the run workflow (deterministic, no I/O of its own).
 *
 * Before every model call the agent loop calls `beforeModelCall` with the call's worst case (estimated
 * prompt tokens plus `max_tokens`, priced): the controller reserves it if it fits what is left, else
 * fails the run (`onExceed: fail`) or pauses it (`onExceed: pause`). After the call `afterModelCall`
 * replaces the reservation with the actual cost and fires the warning thresholds, each once.
 *
 * A pause writes `paused_budget` (with the reason) and the `RunStatus` search attribute, then waits in
 * `condition()` for the `resume` Update: no timer, no polling, no slot held, and nothing outside the
 * history, so the worker may evict the workflow from its cache and replay it when the resume arrives.
 */
import {
  condition,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import type { RunActivities } from '../activities/types';
import { failure } from '../src/shared/failure-codes';
import { BudgetAccount, formatUsd, toUnits, toUsd, type RunEvent } from '../src/shared/budget';
import type { BudgetSnapshot, PersistOp } from '../src/shared/run-types';
import type { RunStatus } from '../src/shared/status';
import { resumeUpdate, RunStatusKey, type ResumeResult } from '../src/shared/workflow-defs';

/** What the agent loop tells the controller about each model call. */
export interface ModelCallBudgetHooks {
  beforeModelCall(call: {
    stepName: string;
    model: string;
    callIndex: number;
    worstCaseUsd: number | null;
  }): Promise<void>;
  afterModelCall(call: { stepName: string; costUsd: number | null }): void;
}

export interface BudgetRunIO {
  runId: string;
  orgId: string;
  runnerId: string;
  /** Appends `ops` to the run's pending writes and flushes them all, in order. */
  persist(ops: PersistOp[]): Promise<void>;
  /** Keeps the workflow's own `status` (its progress query) in step. */
  setStatus(status: RunStatus): void;
}

export interface BudgetController extends ModelCallBudgetHooks {
  /** Waits for warning notices still in flight (call before the run ends). */
  settle(): Promise<void>;
  /** Whether the run has a USD limit (then warnings may be in flight when the run ends). */
  limited(): boolean;
  /** For progress queries and tests. */
  state(): { budgetUsd: number | null; spentUsd: number; paused: boolean };
}

const notify = proxyActivities<RunActivities>({
  startToCloseTimeout: '30s',
  retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
});

/** Installs the `resume` Update handler and returns the hooks the agent loop calls. */
export function createBudgetController(budget: BudgetSnapshot | null, io: BudgetRunIO): BudgetController {
  const limitUnits = budget && budget.budgetUsd !== null ? toUnits(budget.budgetUsd) : null;
  const account = new BudgetAccount(
    limitUnits,
    budget ? [budget.warningThreshold1, budget.warningThreshold2].sort((a, b) => a - b) : [],
  );
  const limitUsd = () => (account.limitUnits === null ? null : toUsd(account.limitUnits));
  let paused = false;
  /** Resumes received, and resumes the main loop has acted on (the Update answers once it has). */
  let resumesRequested = 0;
  let resumesDecided = 0;
  let lastPauseReason: string | undefined;
  /** What the resumes since the last pause added (for the `budget_resumed` event). */
  let pendingRaise = 0;
  let eventSeq = 0;
  const inFlight: Promise<unknown>[] = [];
  const now = () => new Date().toISOString(); // workflow time: deterministic

  const details = () => {
    if (account.limitUnits === null) return;
    const spent = toUsd(account.spentUnits);
    const limit = limitUsd() ?? 0;
    setCurrentDetails(
      `Budget: ${formatUsd(spent)} of ${formatUsd(limit)} spent` +
        (account.fired.size
          ? ` (warnings: ${[...account.fired].map((t) => `${Math.round(t * 100)}%`).join(', ')})`
          : '') +
        (paused && lastPauseReason ? `\n\n**Paused:** ${lastPauseReason}` : ''),
    );
  };

  setHandler(
    resumeUpdate,
    async (req): Promise<ResumeResult> => {
      if (req.additionalBudgetUsd) account.raise(req.additionalBudgetUsd);
      const mine = ++resumesRequested;
      pendingRaise += req.additionalBudgetUsd ?? 0;
      await condition(() => resumesDecided >= mine);
      return {
        status: paused ? 'paused_budget' : 'running',
        budgetUsd: limitUsd(),
        ...(paused && lastPauseReason ? { reason: lastPauseReason } : {}),
      };
    },
    {
      validator: (req) => {
        if (!paused) throw new Error('The run is not paused on its budget');
        const add = req?.additionalBudgetUsd;
        if (add !== undefined && (typeof add !== 'number' || !Number.isFinite(add) || add <= 0))
          throw new Error('additionalBudgetUsd must be a positive number');
      },
      description: 'Resume a run paused on its budget, optionally raising the budget by additionalBudgetUsd',
    },
  );

  const pause = async (
    call: { stepName: string; model: string; callIndex: number },
    check: ReturnType<BudgetAccount['check']>,
  ) => {
    const spentUsd = toUsd(account.spentUnits);
    const message = exceededMessage(call, check, spentUsd, limitUsd());
    const event: RunEvent = {
      id: `budget_paused:${++eventSeq}`,
      type: 'budget_paused',
      at: now(),
      ...exceedFigures(call, check),
      spentUsd,
      budgetUsd: limitUsd() ?? 0,
      message,
    };
    const wasPaused = paused;
    // Resumes received before this point led here: this pause is their answer. Later ones wake it up.
    const seen = resumesRequested;
    paused = true;
    lastPauseReason = message;
    io.setStatus('paused_budget');
    await io.persist([
      {
        op: 'runPaused',
        budgetUsd: limitUsd(),
        error: { code: 'budget_exceeded', message, step: call.stepName },
        event,
      },
    ]);
    if (!wasPaused) upsertSearchAttributes([{ key: RunStatusKey, value: 'paused_budget' }]);
    details();
    resumesDecided = Math.max(resumesDecided, seen);
    await condition(() => resumesRequested > seen);
  };

  const resumed = async () => {
    const event: RunEvent = {
      id: `budget_resumed:${++eventSeq}`,
      type: 'budget_resumed',
      at: now(),
      additionalBudgetUsd: Number(pendingRaise.toFixed(8)),
      budgetUsd: limitUsd() ?? 0,
    };
    pendingRaise = 0;
    paused = false;
    lastPauseReason = undefined;
    io.setStatus('running');
    await io.persist([{ op: 'runResumed', budgetUsd: limitUsd(), event }]);
    upsertSearchAttributes([{ key: RunStatusKey, value: 'running' }]);
    details();
    resumesDecided = resumesRequested;
  };

  return {
    async beforeModelCall(call) {
      if (!budget || account.limitUnits === null) return;
      if (call.worstCaseUsd === null) {
        throw failure(
          'unpriced_model',
          `Model "${call.model}" has no known price, so step "${call.stepName}" cannot run under the run's ` +
            `${formatUsd(limitUsd() ?? 0)} budget (price the model with FLAPJACK_MODEL_PRICES, or disable the budget)`,
        );
      }
      for (;;) {
        const check = account.check(call.worstCaseUsd);
        if (check.fits) {
          if (paused) await resumed();
          account.reserve(check.worstCaseUnits);
          return;
        }
        if (budget.onExceed === 'fail') {
          const message = exceededMessage(call, check, toUsd(account.spentUnits), limitUsd());
          throw failure('budget_exceeded', message, {
            details: [exceedFigures(call, check)],
          });
        }
        await pause(call, check);
      }
    },

    afterModelCall(call) {
      const crossed = account.settle(call.costUsd);
      if (account.limitUnits === null) return;
      for (const threshold of crossed) {
        const event = {
          id: `budget_warning:${threshold}`,
          type: 'budget_warning' as const,
          at: now(),
          threshold,
          spentUsd: toUsd(account.spentUnits),
          budgetUsd: limitUsd() ?? 0,
          step: call.stepName,
        };
        const summary = `budget: ${Math.round(threshold * 100)}% warning (${formatUsd(event.spentUsd)} of ${formatUsd(event.budgetUsd)}, step ${call.stepName})`;
        // Scheduled now, awaited by `settle()`: the model loop does not wait for a webhook.
        const p = notify.notifyBudgetWarning
          .executeWithOptions(
            {
              startToCloseTimeout: '30s',
              retry: { initialInterval: '1s', backoffCoefficient: 2, maximumInterval: '10s', maximumAttempts: 3 },
              summary,
            },
            [{ runId: io.runId, orgId: io.orgId, runnerId: io.runnerId, event }],
          )
          .catch(() => undefined);
        inFlight.push(p);
      }
      details();
    },

    async settle() {
      if (inFlight.length) await Promise.all(inFlight.splice(0, inFlight.length));
    },

    limited: () => account.limitUnits !== null,

    state: () => ({ budgetUsd: limitUsd(), spentUsd: toUsd(account.spentUnits), paused }),
  };
}

/** The call that did not fit and by how much: in the pause event and in the failure's details. */
function exceedFigures(
  call: { stepName: string; model: string; callIndex: number },
  check: ReturnType<BudgetAccount['check']>,
) {
  return {
    step: call.stepName,
    model: call.model,
    callIndex: call.callIndex,
    worstCaseUsd: toUsd(check.worstCaseUnits),
    remainingUsd: toUsd(check.remainingUnits),
    overByUsd: toUsd(check.overByUnits),
  };
}

function exceededMessage(
  call: { stepName: string; model: string; callIndex: number },
  check: ReturnType<BudgetAccount['check']>,
  spentUsd: number,
  budgetUsd: number | null,
): string {
  return (
    `Budget exceeded at step "${call.stepName}": model call ${call.callIndex} (${call.model}) could cost up to ` +
    `${formatUsd(toUsd(check.worstCaseUnits))}, but only ${formatUsd(toUsd(Math.max(0, check.remainingUnits)))} of the ` +
    `${formatUsd(budgetUsd ?? 0)} budget is left (${formatUsd(spentUsd)} spent); it would go over by ` +
    `${formatUsd(toUsd(check.overByUnits))}`
  );
}
