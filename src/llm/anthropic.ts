/** Anthropic Messages (`POST {base}/v1/messages`). */
import { postJsonWithRetry, type RetryPolicy } from './http';
import {
  LlmError,
  type ChatMessage,
  type ChatRequest,
  type ChatResponse,
  type LlmProvider,
  type ModelToolCall,
} from './types';

export const ANTHROPIC_DEFAULT_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_VERSION = '2023-06-01';

/** Models with native JSON outputs (`output_config.format`); older ones rely on instructions and validation. */
export const supportsAnthropicJsonOutput = (model: string): boolean =>
  /^claude-(opus|sonnet|haiku)-(4-[5-9]|[5-9])/.test(model);

interface AnthropicResponse {
  model?: string;
  content?: (
    | { type: 'text'; text?: string }
    | { type: 'tool_use'; id?: string; name?: string; input?: unknown }
    | { type: string }
  )[];
  stop_reason?: string | null;
  usage?: {
    input_tokens?: number;
    output_tokens?: number;
    cache_read_input_tokens?: number | null;
    cache_creation_input_tokens?: number | null;
  };
}

type Block = Record<string, unknown>;

/** Anthropic wants alternating user/assistant turns: tool results of one turn go in one user message. */
function toAnthropicMessages(messages: ChatMessage[]): { role: 'user' | 'assistant'; content: string | Block[] }[] {
  const out: { role: 'user' | 'assistant'; content: string | Block[] }[] = [];
  const pushUserBlocks = (blocks: Block[]) => {
    const last = out[out.length - 1];
    if (last && last.role === 'user') {
      const prev: Block[] = typeof last.content === 'string' ? [{ type: 'text', text: last.content }] : last.content;
      last.content = [...prev, ...blocks];
    } else out.push({ role: 'user', content: blocks });
  };
  for (const m of messages) {
    if (m.role === 'user') {
      const last = out[out.length - 1];
      if (last && last.role === 'user') pushUserBlocks([{ type: 'text', text: m.content }]);
      else out.push({ role: 'user', content: m.content });
    } else if (m.role === 'assistant') {
      const blocks: Block[] = [];
      if (m.content) blocks.push({ type: 'text', text: m.content });
      for (const c of m.toolCalls ?? []) blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: c.arguments });
      out.push({ role: 'assistant', content: blocks.length ? blocks : [{ type: 'text', text: '' }] });
    } else {
      pushUserBlocks([
        {
          type: 'tool_result',
          tool_use_id: m.toolCallId,
          content: m.content,
          ...(m.isError ? { is_error: true } : {}),
        },
      ]);
    }
  }
  return out;
}

export function toAnthropicBody(req: ChatRequest): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: req.model,
    max_tokens: req.maxTokens,
    messages: toAnthropicMessages(req.messages),
  };
  if (req.system) body.system = req.system;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.inputSchema }));
  }
  if (req.responseSchema && supportsAnthropicJsonOutput(req.model)) {
    body.output_config = { format: { type: 'json_schema', schema: req.responseSchema.schema } };
  }
  return body;
}

export function fromAnthropicResponse(
  json: unknown,
  requestedModel: string,
): Omit<ChatResponse, 'latencyMs' | 'attempts'> {
  const r = json as AnthropicResponse;
  if (!Array.isArray(r.content)) throw new LlmError('invalid_response', 'Anthropic answer has no content array');
  const texts: string[] = [];
  const toolCalls: ModelToolCall[] = [];
  for (const b of r.content) {
    if (b.type === 'text') texts.push((b as { text?: string }).text ?? '');
    else if (b.type === 'tool_use') {
      const t = b as { id?: string; name?: string; input?: unknown };
      const input = t.input;
      const ok = input !== null && typeof input === 'object' && !Array.isArray(input);
      toolCalls.push({
        id: t.id ?? `toolu_${toolCalls.length}`,
        name: t.name ?? '',
        arguments: ok ? (input as Record<string, unknown>) : {},
        ...(ok || input === undefined ? {} : { argumentsError: 'The tool arguments must be a JSON object' }),
      });
    }
  }
  const u = r.usage ?? {};
  const cacheRead = u.cache_read_input_tokens ?? 0;
  const cacheWrite = u.cache_creation_input_tokens ?? 0;
  const sr = r.stop_reason;
  return {
    provider: 'anthropic',
    model: r.model ?? requestedModel,
    text: texts.length ? texts.join('') : null,
    toolCalls,
    stopReason:
      sr === 'tool_use' || toolCalls.length
        ? 'tool_use'
        : sr === 'max_tokens'
          ? 'max_tokens'
          : sr === 'end_turn' || sr === 'stop_sequence'
            ? 'end'
            : 'other',
    usage: {
      // Anthropic counts cache reads and writes apart from input_tokens; the ledger counts all prompt tokens.
      inputTokens: (u.input_tokens ?? 0) + cacheRead + cacheWrite,
      outputTokens: u.output_tokens ?? 0,
      cachedTokens: cacheRead,
    },
  };
}

export function createAnthropicProvider(o: {
  apiKey?: string;
  baseUrl?: string;
  retry: RetryPolicy;
  timeoutMs: number;
  onRetry?: () => void;
}): LlmProvider {
  const base = (o.baseUrl ?? ANTHROPIC_DEFAULT_BASE_URL).replace(/\/+$/, '').replace(/\/v1$/, '');
  return {
    name: 'anthropic',
    async chat(req) {
      const headers: Record<string, string> = { 'anthropic-version': ANTHROPIC_VERSION };
      if (o.apiKey) headers['x-api-key'] = o.apiKey;
      if (req.idempotencyKey) headers['idempotency-key'] = req.idempotencyKey;
      const { json, latencyMs, attempts } = await postJsonWithRetry({
        provider: 'Anthropic',
        url: `${base}/v1/messages`,
        headers,
        body: toAnthropicBody(req),
        signal: req.signal,
        timeoutMs: o.timeoutMs,
        retry: o.retry,
        onRetry: o.onRetry,
      });
      return { ...fromAnthropicResponse(json, req.model), latencyMs, attempts };
    },
  };
}
