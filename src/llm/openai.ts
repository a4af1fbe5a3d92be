/** OpenAI-compatible chat completions (`POST {base}/chat/completions`): OpenAI, Ollama, vLLM, llama.cpp. */
import { postJsonWithRetry, type RetryPolicy } from './http';
import { LlmError, type ChatRequest, type ChatResponse, type LlmProvider, type ModelToolCall } from './types';

export const OPENAI_DEFAULT_BASE_URL = 'https://api.openai.com/v1';

interface OpenAiChoice {
  message?: {
    content?: string | null;
    refusal?: string | null;
    tool_calls?: { id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
  };
  finish_reason?: string | null;
}

interface OpenAiResponse {
  model?: string;
  choices?: OpenAiChoice[];
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
  };
}

/** OpenAI's own newer models take `max_completion_tokens`; other servers still read `max_tokens`. */
const usesMaxCompletionTokens = (model: string): boolean => /^(gpt-5|gpt-4\.1|gpt-4o|o\d)/.test(model);

export function parseToolArguments(raw: string | undefined): Pick<ModelToolCall, 'arguments' | 'argumentsError'> {
  if (raw === undefined || raw.trim() === '') return { arguments: {} };
  try {
    const v = JSON.parse(raw) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) return { arguments: v as Record<string, unknown> };
    return { arguments: {}, argumentsError: 'The tool arguments must be a JSON object' };
  } catch (e) {
    return { arguments: {}, argumentsError: `The tool arguments are not valid JSON: ${(e as Error).message}` };
  }
}

export function toOpenAiBody(req: ChatRequest): Record<string, unknown> {
  const messages: unknown[] = [];
  if (req.system) messages.push({ role: 'system', content: req.system });
  for (const m of req.messages) {
    if (m.role === 'user') messages.push({ role: 'user', content: m.content });
    else if (m.role === 'assistant') {
      messages.push({
        role: 'assistant',
        content: m.content,
        ...(m.toolCalls?.length
          ? {
              tool_calls: m.toolCalls.map((c) => ({
                id: c.id,
                type: 'function',
                function: { name: c.name, arguments: JSON.stringify(c.arguments) },
              })),
            }
          : {}),
      });
    } else {
      messages.push({ role: 'tool', tool_call_id: m.toolCallId, content: m.content });
    }
  }
  const body: Record<string, unknown> = { model: req.model, messages };
  body[usesMaxCompletionTokens(req.model) ? 'max_completion_tokens' : 'max_tokens'] = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({
      type: 'function',
      function: { name: t.name, description: t.description, parameters: t.inputSchema },
    }));
  }
  if (req.responseSchema) {
    body.response_format = {
      type: 'json_schema',
      json_schema: { name: req.responseSchema.name, schema: req.responseSchema.schema, strict: false },
    };
  }
  return body;
}

export function fromOpenAiResponse(
  json: unknown,
  requestedModel: string,
): Omit<ChatResponse, 'latencyMs' | 'attempts'> {
  const r = json as OpenAiResponse;
  const choice = r.choices?.[0];
  if (!choice?.message) throw new LlmError('invalid_response', 'OpenAI-compatible answer has no choices[0].message');
  const toolCalls: ModelToolCall[] = (choice.message.tool_calls ?? [])
    .filter((c) => c.function?.name)
    .map((c, i) => ({
      id: c.id ?? `call_${i}`,
      name: c.function?.name ?? '',
      ...parseToolArguments(c.function?.arguments),
    }));
  const fr = choice.finish_reason;
  return {
    provider: 'openai',
    model: r.model ?? requestedModel,
    text: choice.message.content ?? (choice.message.refusal ? choice.message.refusal : null),
    toolCalls,
    stopReason:
      toolCalls.length || fr === 'tool_calls'
        ? 'tool_use'
        : fr === 'length'
          ? 'max_tokens'
          : fr === 'stop'
            ? 'end'
            : 'other',
    usage: {
      inputTokens: r.usage?.prompt_tokens ?? 0,
      outputTokens: r.usage?.completion_tokens ?? 0,
      cachedTokens: r.usage?.prompt_tokens_details?.cached_tokens ?? 0,
    },
  };
}

export function createOpenAiProvider(o: {
  apiKey?: string;
  baseUrl?: string;
  retry: RetryPolicy;
  timeoutMs: number;
  onRetry?: () => void;
}): LlmProvider {
  const base = (o.baseUrl ?? OPENAI_DEFAULT_BASE_URL).replace(/\/+$/, '');
  return {
    name: 'openai',
    async chat(req) {
      const headers: Record<string, string> = {};
      if (o.apiKey) headers.authorization = `Bearer ${o.apiKey}`;
      if (req.idempotencyKey) headers['idempotency-key'] = req.idempotencyKey;
      const { json, latencyMs, attempts } = await postJsonWithRetry({
        provider: 'OpenAI-compatible provider',
        url: `${base}/chat/completions`,
        headers,
        body: toOpenAiBody(req),
        signal: req.signal,
        timeoutMs: o.timeoutMs,
        retry: o.retry,
        onRetry: o.onRetry,
      });
      return { ...fromOpenAiResponse(json, req.model), latencyMs, attempts };
    },
  };
}
