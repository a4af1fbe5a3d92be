// Every workflow the worker runs (its `workflowsPath`). Pure orchestration: no I/O, no Node built-ins.
export { runRunnerWorkflow } from './run-runner';
export { cronTriggerWorkflow } from './trigger-cron';
export { pollTriggerWorkflow } from './trigger-poll';
