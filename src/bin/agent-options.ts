import type { ActivityDeps } from '../../activities';
import { webSearchProviderFromEnv } from '../agent/tools/web';
import type { Env } from '../config/env';
import type { Logger } from '../config/logger';
import { createOpenAiEmbedder } from '../knowledge/embed';
import { llmSettingsFromEnv } from '../llm/router';
import { parseAllowlist } from '../net/address-rules';
import { createEgressGuard } from '../net/egress';
import { parsePriceOverrides } from '../shared/pricing';
import { die } from './startup';

/**
 * The agent steps' part of the worker's dependencies, from the environment: LLM providers
 * (OPENAI_API_KEY, OPENAI_BASE_URL, ANTHROPIC_API_KEY, ANTHROPIC_BASE_URL), price overrides (FLAPJACK_MODEL_PRICES, a bad value stops start-up with one
 * line), per-step limits, knowledge embeddings, the web search provider (FLAPJACK_WEB_SEARCH_URL).
 */
export function agentWorkerOptions(
  env: Env,
  log: Logger,
): Pick<ActivityDeps, 'llm' | 'priceOverrides' | 'agentLimits' | 'embedder' | 'webSearch' | 'log'> {
  let priceOverrides;
  try {
    priceOverrides = parsePriceOverrides(env.FLAPJACK_MODEL_PRICES);
  } catch (e) {
    die((e as Error).message);
  }
  const llm = llmSettingsFromEnv(env);
  if (!llm.openai?.apiKey && !llm.openai?.baseUrl && !llm.anthropic?.apiKey && !llm.anthropic?.baseUrl) {
    log.warn(
      'no LLM provider configured (OPENAI_API_KEY/OPENAI_BASE_URL, ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL): agent steps will fail',
    );
  }
  return {
    llm,
    priceOverrides,
    agentLimits: { maxIterations: env.FLAPJACK_AGENT_MAX_ITERATIONS, maxTokens: env.FLAPJACK_AGENT_MAX_TOKENS },
    embedder: env.FLAPJACK_EMBEDDING_MODEL
      ? createOpenAiEmbedder({
          model: env.FLAPJACK_EMBEDDING_MODEL,
          apiKey: env.OPENAI_API_KEY,
          baseUrl: env.OPENAI_BASE_URL,
        })
      : undefined,
    webSearch: webSearchProviderFromEnv(
      env,
      createEgressGuard(parseAllowlist(env.FLAPJACK_EGRESS_ALLOWLIST.join(','))),
    ),
    log,
  };
}
