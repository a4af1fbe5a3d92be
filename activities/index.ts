import type { Client } from '@temporalio/client';
import type { Logger } from '../src/config/logger';
import { createLogger } from '../src/config/logger';
import type { PrismaClient } from '../src/db/client';
import type { ToolsetDeps, WebSearchProvider } from '../src/agent/tool-types';
import { closeMcpConnections } from '../src/agent/tools';
import type { SecretBox } from '../src/crypto/secret-box';
import type { LlmSettings } from '../src/llm/types';
import { connectMcp } from '../src/mcp-client/client';
import { parseAllowlist } from '../src/net/address-rules';
import { createEgressGuard } from '../src/net/egress';
import { createBudgetActivities } from './budget';
import { retrieveKnowledge, type Embedder } from '../src/services/knowledge';
import type { PriceOverrides } from '../src/shared/pricing';
import { createLlmClients } from '../src/llm/router';
import { createAgentActivities, type AgentLimits } from './agent';
import { createRunWrites, type RunWrites } from './run-writes';
import { createReflectActivities } from './reflect';
import { createComputerActivities } from './computer';
import { createPersistenceActivities } from './persistence';
import { createStepActivities } from './steps';
import { createTriggerActivities, type TriggerActivities, type TriggerActivityDeps } from './triggers';
import type { RunActivities } from './types';
import type { RunCancelWatch } from '../src/db/run-cancel';
import { createWebhookActivities } from './webhook';

export interface ActivityDeps {
  db: PrismaClient;
  /** Hosts/IPs/CIDRs that webhook steps may reach although private or loopback (FLAPJACK_EGRESS_ALLOWLIST). */
  egressAllowlist: string[];
  webhookTimeoutMs?: number;
  /** Opens stored secrets (webhook step headers, connection secrets); built from FLAPJACK_SECRET_KEY. */
  secrets?: SecretBox;
  /** For trigger workflows: the client that starts the runs they record, and where those runs go. */
  client?: Client;
  runTaskQueue?: string;
  namespace?: string;
  triggerFaults?: TriggerActivityDeps['faults'];
  /** LLM providers (OPENAI_API_KEY/OPENAI_BASE_URL, ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL). None: agent steps fail naming the variable. */
  llm?: LlmSettings;
  /** FLAPJACK_MODEL_PRICES, parsed. */
  priceOverrides?: PriceOverrides;
  agentLimits?: Partial<AgentLimits>;
  /** Knowledge embeddings for hybrid retrieval (FLAPJACK_EMBEDDING_MODEL). */
  embedder?: Embedder;
  webSearch?: WebSearchProvider | null;
  log?: Logger;
  /** Cancel announcements for local model calls (src/db/run-cancel.ts); `createRunWorker` makes one. */
  cancelWatch?: RunCancelWatch;
  /** The writes activities leave in flight per run (activities/run-writes.ts); `createRunWorker` drains it. */
  runWrites?: RunWrites;
  /**
   * Receives what to close when the worker stops: the MCP connections agent steps keep open between calls
   * (a stdio server is a child process; an idle one is kept up to a minute). `createRunWorker` calls them.
   */
  onClose?: (close: () => Promise<void>) => void;
}

/** Builds every activity the worker registers, from injected dependencies. */
export function createActivities(
  deps: ActivityDeps,
): RunActivities & TriggerActivities & ReturnType<typeof createReflectActivities> {
  const guard = createEgressGuard(parseAllowlist(deps.egressAllowlist.join(',')));
  const log = deps.log ?? createLogger('silent');
  const webhook = createWebhookActivities({ guard, timeoutMs: deps.webhookTimeoutMs });
  const computer = createComputerActivities();
  const runWrites = deps.runWrites ?? createRunWrites();
  const persistence = createPersistenceActivities({ db: deps.db, runWrites });
  const tools: ToolsetDeps = {
    db: deps.db,
    log,
    secrets: deps.secrets,
    guard,
    connectMcp: (config, opts) => connectMcp(config, { guard, ...opts }),
    retrieveKnowledge: (orgId, runnerId, query, k) =>
      retrieveKnowledge({ db: deps.db, log }, orgId, runnerId, query, k, { embedder: deps.embedder }),
    webSearch: deps.webSearch ?? null,
  };
  deps.onClose?.(() => closeMcpConnections(tools));
  const agent = createAgentActivities({
    db: deps.db,
    llm: deps.llm ?? {},
    priceOverrides: deps.priceOverrides,
    limits: deps.agentLimits,
    persistRun: persistence.persistRun,
    cancelWatch: deps.cancelWatch,
    runWrites,
    tools,
  });
  return {
    ...persistence,
    ...createBudgetActivities({ db: deps.db, guard }),
    ...createStepActivities({
      db: deps.db,
      secrets: deps.secrets,
      persistRun: persistence.persistRun,
      executors: {
        executeWebhookStep: webhook.executeWebhookStep,
        executeComputerStep: computer.executeComputerStep,
      },
    }),
    ...agent,
    ...createTriggerActivities({
      db: deps.db,
      client: deps.client,
      runTaskQueue: deps.runTaskQueue ?? 'flapjack-runs',
      namespace: deps.namespace ?? 'default',
      secrets: deps.secrets,
      guard,
      log,
      faults: deps.triggerFaults,
    }),
    ...createReflectActivities({
      db: deps.db,
      log,
      routeModel: routeForReflection(deps.llm ?? {}),
      priceOverrides: deps.priceOverrides,
    }),
  };
}

/** `reflectOnFailure` uses the same provider settings as agent steps. */
function routeForReflection(settings: LlmSettings) {
  const clients = createLlmClients(settings);
  return (model: string) => {
    const { provider, route } = clients.forModel(model);
    return { provider, model: route.model };
  };
}

export type { RunActivities } from './types';
export type { TriggerActivities } from './triggers';
