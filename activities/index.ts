import type { Logger } from '../src/config/logger';
import { createLogger } from '../src/config/logger';
import type { PrismaClient } from '../src/db/client';
import type { WebSearchProvider } from '../src/agent/tool-types';
import type { SecretBox } from '../src/crypto/secret-box';
import type { LlmSettings } from '../src/llm/types';
import { connectMcp } from '../src/mcp-client/client';
import { parseAllowlist } from '../src/net/address-rules';
import { createEgressGuard } from '../src/net/egress';
import { retrieveKnowledge, type Embedder } from '../src/services/knowledge';
import type { PriceOverrides } from '../src/shared/pricing';
import { createAgentActivities, type AgentLimits } from './agent';
import { createComputerActivities } from './computer';
import { createPersistenceActivities } from './persistence';
import { createStepActivities } from './steps';
import type { RunActivities } from './types';
import { createWebhookActivities } from './webhook';

export interface ActivityDeps {
  db: PrismaClient;
  /** Hosts/IPs/CIDRs that webhook steps may reach although private or loopback (FLAPJACK_EGRESS_ALLOWLIST). */
  egressAllowlist: string[];
  webhookTimeoutMs?: number;
  /** Opens stored secrets (webhook step headers, connection secrets); built from FLAPJACK_SECRET_KEY. */
  secrets?: SecretBox;
  /** LLM providers (OPENAI_API_KEY/OPENAI_BASE_URL, ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL). None: agent steps fail naming the variable. */
  llm?: LlmSettings;
  /** FLAPJACK_MODEL_PRICES, parsed. */
  priceOverrides?: PriceOverrides;
  agentLimits?: Partial<AgentLimits>;
  /** Knowledge embeddings for hybrid retrieval (FLAPJACK_EMBEDDING_MODEL). */
  embedder?: Embedder;
  webSearch?: WebSearchProvider | null;
  log?: Logger;
}

/** Builds every activity the worker registers, from injected dependencies. */
export function createActivities(deps: ActivityDeps): RunActivities {
  const guard = createEgressGuard(parseAllowlist(deps.egressAllowlist.join(',')));
  const log = deps.log ?? createLogger('silent');
  const webhook = createWebhookActivities({ guard, timeoutMs: deps.webhookTimeoutMs });
  const computer = createComputerActivities();
  const persistence = createPersistenceActivities({ db: deps.db });
  const agent = createAgentActivities({
    db: deps.db,
    llm: deps.llm ?? {},
    priceOverrides: deps.priceOverrides,
    limits: deps.agentLimits,
    persistRun: persistence.persistRun,
    tools: {
      db: deps.db,
      log,
      secrets: deps.secrets,
      guard,
      connectMcp: (config, opts) => connectMcp(config, { guard, ...opts }),
      retrieveKnowledge: (orgId, runnerId, query, k) =>
        retrieveKnowledge({ db: deps.db, log }, orgId, runnerId, query, k, { embedder: deps.embedder }),
      webSearch: deps.webSearch ?? null,
    },
  });
  return {
    ...persistence,
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
  };
}

export type { RunActivities } from './types';
