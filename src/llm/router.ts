/**
 * Model-name routing: which provider serves a model, and whether that provider is configured.
 *
 * - `claude-*` → Anthropic; `gpt-*`, `chatgpt-*`, `o1*`, `o3*`, `o4*` → OpenAI-compatible;
 * - `openai/<model>` and `anthropic/<model>` name the provider explicitly (`openai/llama3.1:8b` for
 *   Ollama, vLLM or llama.cpp at OPENAI_BASE_URL); the provider receives `<model>`.
 * - A provider is configured when its API key or its base URL is set (local OpenAI-compatible
 *   servers need no key).
 */
import { createAnthropicProvider } from './anthropic';
import { DEFAULT_RETRY, type RetryPolicy } from './http';
import { createOpenAiProvider } from './openai';
import { LlmError, type LlmProvider, type LlmSettings, type ProviderName } from './types';

export interface ModelRoute {
  provider: ProviderName;
  /** The name the provider receives. */
  model: string;
}

const ENV_VARS: Record<ProviderName, { key: string; url: string; label: string }> = {
  openai: { key: 'OPENAI_API_KEY', url: 'OPENAI_BASE_URL', label: 'the OpenAI-compatible provider' },
  anthropic: { key: 'ANTHROPIC_API_KEY', url: 'ANTHROPIC_BASE_URL', label: 'the Anthropic provider' },
};

/** The provider and provider-side name of `model`; throws `LlmError('unknown_model')` when no rule matches. */
export function routeModel(model: string): ModelRoute {
  const name = model.trim();
  const slash = name.indexOf('/');
  if (slash > 0) {
    const prefix = name.slice(0, slash).toLowerCase();
    const rest = name.slice(slash + 1);
    if ((prefix === 'openai' || prefix === 'anthropic') && rest) return { provider: prefix, model: rest };
    throw new LlmError(
      'unknown_model',
      `Unknown provider "${name.slice(0, slash)}" in model "${name}": use openai/<model> (any OpenAI-compatible server at OPENAI_BASE_URL) or anthropic/<model>`,
    );
  }
  const lower = name.toLowerCase();
  if (lower.startsWith('claude-')) return { provider: 'anthropic', model: name };
  if (/^(gpt-|chatgpt-|o1|o3|o4)/.test(lower)) return { provider: 'openai', model: name };
  throw new LlmError(
    'unknown_model',
    `Unknown model "${name}": use a Claude model (claude-*), an OpenAI model (gpt-*, o1*, o3*, o4*), or name the provider (openai/<model> for an OpenAI-compatible server such as Ollama, anthropic/<model>)`,
  );
}

export function isConfigured(settings: LlmSettings, provider: ProviderName): boolean {
  const e = settings[provider];
  return !!(e?.apiKey || e?.baseUrl);
}

/** Throws `LlmError('not_configured')` naming the variables to set when `route`'s provider has neither key nor URL. */
export function assertConfigured(settings: LlmSettings, route: ModelRoute, modelAsWritten: string): void {
  if (isConfigured(settings, route.provider)) return;
  const v = ENV_VARS[route.provider];
  throw new LlmError(
    'not_configured',
    `Model "${modelAsWritten}" needs ${v.label}, which is not configured on the worker: set ${v.key}` +
      ` (or ${v.url} for a compatible server)`,
  );
}

export interface LlmClients {
  readonly settings: LlmSettings;
  /** Routes `model`, checks its provider is configured, and returns the provider with the provider-side name. */
  forModel(model: string): { provider: LlmProvider; route: ModelRoute };
}

/** Providers built once per worker from `LlmSettings`. */
export function createLlmClients(settings: LlmSettings): LlmClients {
  const retry: RetryPolicy = { ...DEFAULT_RETRY, ...settings.retry };
  const timeoutMs = settings.requestTimeoutMs ?? 600_000;
  const providers: Record<ProviderName, LlmProvider> = {
    openai: createOpenAiProvider({ ...settings.openai, retry, timeoutMs }),
    anthropic: createAnthropicProvider({ ...settings.anthropic, retry, timeoutMs }),
  };
  return {
    settings,
    forModel(model) {
      const route = routeModel(model);
      assertConfigured(settings, route, model);
      return { provider: providers[route.provider], route };
    },
  };
}

/** `LlmSettings` from the environment variables of the contract (parsed `Env`). */
export function llmSettingsFromEnv(env: {
  OPENAI_API_KEY?: string;
  OPENAI_BASE_URL?: string;
  ANTHROPIC_API_KEY?: string;
  ANTHROPIC_BASE_URL?: string;
}): LlmSettings {
  return {
    openai: { apiKey: env.OPENAI_API_KEY, baseUrl: env.OPENAI_BASE_URL },
    anthropic: { apiKey: env.ANTHROPIC_API_KEY, baseUrl: env.ANTHROPIC_BASE_URL },
  };
}
