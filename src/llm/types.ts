/**
 * One small interface in front of every LLM provider (OpenAI-compatible chat completions, Anthropic
 * Messages). Plain data in and out; the providers speak HTTP with `fetch`, no vendor SDK.
 */

export type ProviderName = 'openai' | 'anthropic';

/** A tool the model may call: a name within `[a-zA-Z0-9_-]{1,64}`, a description, a JSON Schema. */
export interface ModelToolSpec {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
}

/** A tool call the model asked for. */
export interface ModelToolCall {
  /** The provider's id of the call (echoed back with the result). */
  id: string;
  name: string;
  /** Parsed arguments; `{}` when the model sent none or sent invalid JSON (see `argumentsError`). */
  arguments: Record<string, unknown>;
  /** Set when the model's arguments were not a JSON object; the loop answers the call with this error. */
  argumentsError?: string;
}

export type ChatMessage =
  | { role: 'user'; content: string }
  | { role: 'assistant'; content: string | null; toolCalls?: ModelToolCall[] }
  | { role: 'tool'; toolCallId: string; name: string; content: string; isError?: boolean };

export interface ChatRequest {
  /** The provider's own model name (after routing: `openai/llama3.1:8b` → `llama3.1:8b`). */
  model: string;
  system?: string;
  messages: ChatMessage[];
  tools?: ModelToolSpec[];
  /** Upper bound of output tokens for this call (also what worst-case cost estimates use). */
  maxTokens: number;
  temperature?: number;
  /** Ask for JSON matching this schema, through the provider's structured output where it has one. */
  responseSchema?: { name: string; schema: Record<string, unknown> };
  /** Aborts the HTTP request (cancellation). */
  signal?: AbortSignal;
  /** Sent as `Idempotency-Key` (providers that honour it never bill a retried request twice). */
  idempotencyKey?: string;
}

export interface TokenUsage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from the provider's prompt cache (part of, or in addition to, `inputTokens`: see `costOf`). */
  cachedTokens: number;
}

export interface ChatResponse {
  provider: ProviderName;
  /** The model name the provider reported (falls back to the requested one). */
  model: string;
  text: string | null;
  toolCalls: ModelToolCall[];
  stopReason: 'end' | 'tool_use' | 'max_tokens' | 'other';
  usage: TokenUsage;
  /** Wall time of the successful HTTP exchange (retries excluded). */
  latencyMs: number;
  /** HTTP attempts made (1 = no retry). */
  attempts: number;
}

export interface LlmProvider {
  readonly name: ProviderName;
  chat(req: ChatRequest): Promise<ChatResponse>;
}

export interface ProviderEndpoint {
  apiKey?: string;
  baseUrl?: string;
}

/** Provider configuration, from OPENAI_API_KEY/OPENAI_BASE_URL and ANTHROPIC_API_KEY/ANTHROPIC_BASE_URL. */
export interface LlmSettings {
  openai?: ProviderEndpoint;
  anthropic?: ProviderEndpoint;
  /** Retries of 429/5xx/network errors inside one model call. */
  retry?: { maxAttempts?: number; baseDelayMs?: number; maxDelayMs?: number };
  /** Per-HTTP-request timeout. Default 10 minutes. */
  requestTimeoutMs?: number;
}

export type LlmErrorKind =
  | 'not_configured'
  | 'unknown_model'
  | 'bad_request'
  | 'auth'
  | 'rate_limited'
  | 'server'
  | 'network'
  | 'timeout'
  | 'aborted'
  | 'invalid_response';

/** A provider failure; `retryable` says whether trying again later can help. */
export class LlmError extends Error {
  override readonly name = 'LlmError';
  readonly kind: LlmErrorKind;
  readonly status?: number;
  readonly retryable: boolean;
  /** Seconds from `Retry-After`, when the provider sent one. */
  readonly retryAfterSec?: number;

  constructor(
    kind: LlmErrorKind,
    message: string,
    opts: { status?: number; retryable?: boolean; retryAfterSec?: number; cause?: unknown } = {},
  ) {
    super(message, { cause: opts.cause });
    this.kind = kind;
    this.status = opts.status;
    this.retryable = opts.retryable ?? false;
    this.retryAfterSec = opts.retryAfterSec;
  }
}
