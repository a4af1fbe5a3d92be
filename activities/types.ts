import type {
  CallModelArgs,
  CallModelResult,
  CallToolArgs,
  CallToolResult,
  PrepareAgentStepArgs,
  PrepareAndCallModelArgs,
  PreparedAgentStep,
  PreparedFirstCall,
} from '../src/shared/agent-types';
import type { ExecuteStepArgs, PersistBatch } from '../src/shared/run-types';
import type { BudgetWarningArgs, BudgetWarningResult } from './budget';

/** The activities the run workflow calls (workflows import this file for types only). */
export interface RunActivities {
  /** Applies a batch of run/step writes in one org-scoped transaction. Idempotent. */
  persistRun(batch: PersistBatch): Promise<void>;
  /** Executes one step (webhook, computer, agent) and returns its output, validated against outputSchema. */
  executeStep(args: ExecuteStepArgs): Promise<unknown>;
  /** Records a budget warning on the run (once) and POSTs it to the runner's warning webhook, if any. */
  notifyBudgetWarning(args: BudgetWarningArgs): Promise<BudgetWarningResult>;
  /** Agent steps (workflows/agent-step.ts): tools, knowledge and system prompt of a step. */
  prepareAgentStep(args: PrepareAgentStepArgs): Promise<PreparedAgentStep>;
  /** One model call, billed once in the ledger (idempotent by `<runId>:<step>:<n>`). */
  callModel(args: CallModelArgs): Promise<CallModelResult>;
  /** A step's preparation and first model call in one local activity (run shape ≥ 3, no USD limit). */
  prepareAndCallModel(args: PrepareAndCallModelArgs): Promise<PreparedFirstCall>;
  /** One tool call; a tool error is a result the model sees. */
  callTool(args: CallToolArgs): Promise<CallToolResult>;
}
