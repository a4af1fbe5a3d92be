/**
 * The configuration an agent step runs with: the runner's connections merged with the agent's own,
 * exactly as the spec's merge table says. Pure data in, pure data out (safe for workflows).
 *
 * | resource     | rule                                                                     |
 * | ------------ | ------------------------------------------------------------------------ |
 * | MCP servers  | combined; deduplicated by slug, the agent's server wins                  |
 * | integrations | combined; the agent's entry overrides the runner's for the same id       |
 * | tools        | combined; deduplicated by name, the agent's tool wins                    |
 * | web config   | the agent's when the agent has web config enabled, else the runner's     |
 * | skills, plan | the runner's (agents have none)                                          |
 *
 * A step without an agent uses the runner's connections alone.
 *
 * Order of the result: the runner's items in their order (an item the agent overrides keeps the
 * runner's position but carries the agent's value), then the agent's remaining items in theirs.
 *
 * Preamble: the runner's `learnedInstructions`, then the step's `preambleOverride` (it prepends to
 * the agent's preamble, and is the whole preamble of an inline step), then the agent's preamble;
 * empty parts are left out and the rest are joined by a blank line.
 * Model: the step's `modelOverride`, else the agent's model, else the runner's `defaultModel`.
 *
 * Secrets travel only as ciphertext (the `*Ciphertext` fields: AES-GCM text from `SecretBox`, bound to
 * `<orgId>/<column>` as `secretContext` says). A run's snapshot carries them so editing a connection
 * never changes a run in flight; only the activity that connects decrypts them, so no plaintext secret
 * ever enters Temporal history.
 */

export interface ResolvedMcpServer {
  id: string;
  slug: string;
  name: string;
  transport: 'stdio' | 'http';
  command?: string | null;
  args?: string[] | null;
  url?: string | null;
  /** Whether encrypted env vars / headers exist for it. */
  hasEnv?: boolean;
  hasHeaders?: boolean;
  /** Ciphertext of the env map (`mcp_servers.env`), decrypted only by the activity that connects. */
  envCiphertext?: string | null;
  /** Ciphertext of the headers map (`mcp_servers.headers`). */
  headersCiphertext?: string | null;
}

export interface ResolvedIntegration {
  id: string;
  name: string;
  kind: 'postgres';
  readOnly: boolean;
  allowedSchemas: string[];
  /** Ciphertext of the connection string (`integrations.connection`), decrypted only by the SQL tool. */
  connectionCiphertext?: string | null;
}

export interface ResolvedTool {
  id: string;
  name: string;
  description: string;
  /** JSON Schema of the arguments. */
  parameters: Record<string, unknown>;
  url: string;
  method: string;
  hasHeaders?: boolean;
  /** Ciphertext of the headers map (`tools.headers`), decrypted only by the HTTP tool's activity. */
  headersCiphertext?: string | null;
}

export interface ResolvedSkill {
  id: string;
  name: string;
  instructions: string;
}

export interface WebConfig {
  enabled: boolean;
  searchEnabled: boolean;
  researchEnabled: boolean;
}

export const WEB_CONFIG_DISABLED: WebConfig = Object.freeze({
  enabled: false,
  searchEnabled: false,
  researchEnabled: false,
});

/** The runner-level side of the merge. */
export interface RunnerStepContext {
  learnedInstructions?: string | null;
  defaultModel?: string | null;
  mcpServers?: readonly ResolvedMcpServer[];
  integrations?: readonly ResolvedIntegration[];
  tools?: readonly ResolvedTool[];
  skills?: readonly ResolvedSkill[];
  webConfig?: WebConfig | null;
  planEnabled?: boolean;
}

/** The agent a step references (`agentId`). */
export interface AgentStepContext {
  id: string;
  name?: string;
  preamble?: string | null;
  model?: string | null;
  mcpServers?: readonly ResolvedMcpServer[];
  integrations?: readonly ResolvedIntegration[];
  tools?: readonly ResolvedTool[];
  webConfig?: WebConfig | null;
}

/** The step's own overrides. */
export interface StepOverrides {
  preambleOverride?: string | null;
  modelOverride?: string | null;
}

export interface ResolvedStepConfig {
  /** The agent the step references, or null for an inline step. */
  agentId: string | null;
  preamble: string;
  model: string | null;
  mcpServers: ResolvedMcpServer[];
  integrations: ResolvedIntegration[];
  tools: ResolvedTool[];
  skills: ResolvedSkill[];
  webConfig: WebConfig;
  planEnabled: boolean;
}

/**
 * Merges two lists by `key`: `base` order first, an item of `override` with the same key replaces the
 * base item in place; `override` items with new keys are appended. Duplicate keys within one list keep
 * their first occurrence.
 */
export function mergeByKey<T>(base: readonly T[], override: readonly T[], key: (item: T) => string): T[] {
  const overrides = new Map<string, T>();
  for (const item of override) {
    const k = key(item);
    if (!overrides.has(k)) overrides.set(k, item);
  }
  const out: T[] = [];
  const seen = new Set<string>();
  for (const item of base) {
    const k = key(item);
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(overrides.get(k) ?? item);
  }
  for (const [k, item] of overrides) {
    if (seen.has(k)) continue;
    seen.add(k);
    out.push(item);
  }
  return out;
}

const nonEmpty = (s: string | null | undefined): s is string => typeof s === 'string' && s.trim() !== '';

/** Preamble parts in the spec's order, empty ones left out, joined by a blank line. */
export function composePreamble(parts: readonly (string | null | undefined)[]): string {
  return parts
    .filter(nonEmpty)
    .map((p) => p.trim())
    .join('\n\n');
}

const copyWeb = (w: WebConfig): WebConfig => ({
  enabled: w.enabled,
  searchEnabled: w.searchEnabled,
  researchEnabled: w.researchEnabled,
});

export function resolveStepConfig(
  runner: RunnerStepContext,
  agent?: AgentStepContext | null,
  step: StepOverrides = {},
): ResolvedStepConfig {
  const runnerMcps = runner.mcpServers ?? [];
  const runnerIntegrations = runner.integrations ?? [];
  const runnerTools = runner.tools ?? [];
  const runnerWeb = runner.webConfig ?? WEB_CONFIG_DISABLED;

  const model =
    (nonEmpty(step.modelOverride) ? step.modelOverride : null) ??
    (agent && nonEmpty(agent.model) ? agent.model : null) ??
    (nonEmpty(runner.defaultModel) ? runner.defaultModel : null);

  if (!agent) {
    return {
      agentId: null,
      preamble: composePreamble([runner.learnedInstructions, step.preambleOverride]),
      model,
      mcpServers: mergeByKey(runnerMcps, [], (m) => m.slug),
      integrations: mergeByKey(runnerIntegrations, [], (i) => i.id),
      tools: mergeByKey(runnerTools, [], (t) => t.name),
      skills: mergeByKey(runner.skills ?? [], [], (s) => s.id),
      webConfig: copyWeb(runnerWeb),
      planEnabled: runner.planEnabled ?? false,
    };
  }

  return {
    agentId: agent.id,
    preamble: composePreamble([runner.learnedInstructions, step.preambleOverride, agent.preamble]),
    model,
    mcpServers: mergeByKey(runnerMcps, agent.mcpServers ?? [], (m) => m.slug),
    integrations: mergeByKey(runnerIntegrations, agent.integrations ?? [], (i) => i.id),
    tools: mergeByKey(runnerTools, agent.tools ?? [], (t) => t.name),
    skills: mergeByKey(runner.skills ?? [], [], (s) => s.id),
    webConfig: copyWeb(agent.webConfig?.enabled ? agent.webConfig : runnerWeb),
    planEnabled: runner.planEnabled ?? false,
  };
}
