// Every workflow the worker runs (its `workflowsPath`). Pure orchestration: no I/O, no Node built-ins.
import type { RunWorkflow } from '../src/shared/workflow-defs';
import type { runRunnerWorkflow } from './run-runner';

export { runRunnerWorkflow } from './run-runner';
export { cronTriggerWorkflow } from './trigger-cron';
export { pollTriggerWorkflow } from './trigger-poll';

/** Compiles only while `T` is assignable to `U`. */
type Assignable<T extends U, U> = T;
/** The API starts the run workflow as `RunWorkflow`: this stops compiling if the two drift apart. */
export type RunWorkflowSignature = Assignable<typeof runRunnerWorkflow, RunWorkflow>;
