export const RUN_STATUSES = ['pending', 'running', 'completed', 'failed', 'cancelled', 'paused_budget'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

export const STEP_STATUSES = ['pending', 'running', 'completed', 'failed', 'skipped'] as const;
export type StepStatus = (typeof STEP_STATUSES)[number];

export const STEP_KINDS = ['agent', 'webhook', 'condition', 'computer'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const TERMINAL_RUN_STATUSES: readonly RunStatus[] = ['completed', 'failed', 'cancelled'];

export function isTerminalRunStatus(s: string): boolean {
  return (TERMINAL_RUN_STATUSES as readonly string[]).includes(s);
}
