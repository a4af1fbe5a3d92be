import type { FailureError } from './failure-codes';
import type { RunEvent } from './budget';
import type { ComputerConfig } from './schemas';
import type {
  AgentStepContext,
  ResolvedIntegration,
  ResolvedMcpServer,
  ResolvedSkill,
  ResolvedTool,
} from './step-config';
import type { RunStatus, StepKind, StepStatus } from './status';

/** A step as it was when the run was created. Webhook header values travel as ciphertext only. */
export interface StepSnapshot {
  id: string;
  name: string;
  kind: StepKind;
  orderIndex: number;
  agentId: string | null;
  preambleOverride: string | null;
  modelOverride: string | null;
  outputSchema: Record<string, unknown> | null;
  inputMapping: Record<string, string> | null;
  webhookUrl: string | null;
  /** True when the step has custom headers. */
  hasWebhookHeaders: boolean;
  /**
   * The headers' ciphertext (see webhook-headers.ts), opened only by the webhook activity. Absent in
   * runs started before it travelled with the step: the activity then reads the run's stored snapshot.
   */
  webhookHeaders?: string | null;
  conditionExpr: string | null;
  computer: ComputerConfig | null;
}

export interface BudgetSnapshot {
  budgetUsd: number | null;
  onExceed: 'pause' | 'fail';
  warningThreshold1: number;
  warningThreshold2: number;
  /**
   * Where warnings are POSTed. Kept in the run's stored snapshot only (such URLs often carry a token):
   * the workflow's copy leaves it out and the notifying activity reads it from the database.
   */
  warningWebhookUrl?: string | null;
}

/** The runner definition frozen into a run at creation: later edits of the runner never reach it. */
export interface RunnerSnapshot {
  runner: {
    id: string;
    name: string;
    learnedInstructions: string | null;
    defaultModel: string | null;
    /** Opt-in: after a failed run, ask the model for a lesson (absent in runs created before the setting). */
    reflectOnFailure?: boolean;
  };
  steps: StepSnapshot[];
  connections: {
    mcpServerIds: string[];
    integrationIds: string[];
    toolIds: string[];
    skillIds: string[];
    webConfig: { enabled: boolean; searchEnabled: boolean; researchEnabled: boolean } | null;
    planConfig: { enabled: boolean } | null;
  };
  budget: BudgetSnapshot | null;
  /**
   * The runner's connection definitions (secrets as ciphertext), the runner side of
   * `resolveStepConfig`. Absent in runs created before agent steps ran.
   */
  definitions?: {
    mcpServers: ResolvedMcpServer[];
    integrations: ResolvedIntegration[];
    tools: ResolvedTool[];
    skills: ResolvedSkill[];
  };
  /** The agents the run's steps reference, by id, with their own connections, as they were at creation. */
  agents?: Record<string, AgentStepContext>;
}

/**
 * The run shape new runs are started with (`RunWorkflowInput.shape`). A run that carries it takes every
 * workflow change up to it without asking `patched()`, which costs each run a marker and a
 * search-attribute upsert per patch; runs started before it (no `shape`) still ask, so they replay.
 * Later changes gate on `shape >= 2`, … the same way (docs/run-shape.md).
 * - 1: persist-with-step, finalize-with-last-step, local short steps, the agent loop (no patch markers);
 * - 2: an agent step's preparation and tool calls run as bounded local activities;
 * - 3: an agent step's model calls run as local activities (a step of short calls is one workflow task).
 */
export const RUN_SHAPE = 3;

export interface RunWorkflowInput {
  runId: string;
  orgId: string;
  runnerId: string;
  input: unknown;
  snapshot: RunnerSnapshot;
  /** See `RUN_SHAPE`; absent in runs started by older code. */
  shape?: number;
  /**
   * The API wrote the run's record while the workflow started, not before (eager start in one process):
   * the run's first write must find the record before the first step does anything
   * (docs/run-shape.md, "The run's record and its start, side by side"). Absent: the record came first.
   */
  recordedAfterStart?: boolean;
}

export interface RunContext {
  input: unknown;
  steps: Record<string, { output: unknown; status: StepStatus }>;
}

/** A run's or step's error; `code` is from the closed set of src/shared/failure-codes.ts. */
export type StepError = FailureError;

/** One write the workflow asks the persistence activity to make; a batch is applied in one transaction. */
export type PersistOp =
  | {
      op: 'runStarted';
      /** From `RunWorkflowInput.recordedAfterStart`: the record may still be on its way. */
      recordedAfterStart?: boolean;
    }
  | { op: 'stepStarted'; index: number; input: unknown }
  | {
      op: 'stepFinished';
      index: number;
      status: Extract<StepStatus, 'completed' | 'failed'>;
      input: unknown;
      output?: unknown;
      error?: StepError;
    }
  | { op: 'stepsSkipped'; fromIndex: number }
  | {
      /** The run pauses on its budget: `error` says why (the next call's cost and how far over it goes). */
      op: 'runPaused';
      budgetUsd: number | null;
      error: StepError;
      event: RunEvent;
    }
  | { op: 'runResumed'; budgetUsd: number | null; event: RunEvent }
  | {
      op: 'runFinished';
      status: Extract<RunStatus, 'completed' | 'failed' | 'cancelled'>;
      output: unknown;
      error: StepError | null;
    };

export interface PersistBatch {
  runId: string;
  orgId: string;
  ops: PersistOp[];
  context: RunContext;
  currentStep: number | null;
  /**
   * For writes made by a step's activity rather than by the workflow: apply them only while the run
   * is still pending/running, so an activity finishing after the run was cancelled cannot overwrite it.
   */
  onlyIfActive?: boolean;
  /**
   * When the batch is written later than its start writes happened (the last step's activity writes the
   * step's start with its end): the time `runStarted` and `stepStarted` stand for (ISO 8601), instead of the
   * transaction's. Never later than the transaction's time.
   */
  startedAt?: string;
}

export interface ExecuteStepArgs {
  runId: string;
  orgId: string;
  step: StepSnapshot;
  input: unknown;
  /**
   * Writes that travel with the step (its `stepStarted` and whatever the workflow had pending), applied by
   * the same activity while the step runs: one activity instead of two. Applied on every attempt
   * (idempotent; `attempts` counts them). With `finalize`, a step that ends within `MERGE_WITH_END_MS`
   * (activities/steps.ts) has them applied with its end, in one transaction.
   */
  persist?: PersistBatch;
  /**
   * Set when this is the run's last step: on success the activity itself records the step's result
   * and the run's completion (context = this one plus the step's output), so the workflow needs no
   * further write.
   */
  finalize?: { index: number; context: RunContext };
  /**
   * Set when the step runs as a local activity: an attempt that reaches this many milliseconds stops
   * with `EXCEEDED_LOCAL_BOUND` and the workflow continues the step as a regular activity.
   */
  localBoundMs?: number;
}

export interface RunWorkflowResult {
  status: RunStatus;
  output: unknown;
  error: StepError | null;
}
