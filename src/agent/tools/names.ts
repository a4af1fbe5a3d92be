/**
 * Tool names as a model sees them. Providers accept `[a-zA-Z0-9_-]{1,64}` (OpenAI and Anthropic alike),
 * so MCP tools are offered as `<slug>__<tool>` with anything else replaced by `_`, cut to 64 characters
 * with a short hash when too long, and made unique within one toolset. The toolset keeps the way back
 * (exposed name → server and original tool name), so nothing ever has to parse a name.
 */
import { createHash } from 'node:crypto';

export const MODEL_TOOL_NAME_RE = /^[a-zA-Z0-9_-]{1,64}$/;
const MAX = 64;

const shortHash = (s: string): string => createHash('sha256').update(s).digest('hex').slice(0, 8);

/** A safe form of `raw`: invalid characters become `_`; over 64 characters, cut with a hash of the whole. */
export function safeToolName(raw: string): string {
  let s = raw.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (s === '') s = `tool_${shortHash(raw)}`;
  if (s.length > MAX) s = `${s.slice(0, MAX - 9)}_${shortHash(raw)}`;
  return s;
}

/** The name an MCP server's tool is offered under. */
export function mcpToolName(slug: string, tool: string): string {
  return safeToolName(`${slug}__${tool}`);
}

/** Makes names unique within one toolset: a clash gets `_2`, `_3`, … (kept within 64 characters). */
export class NameRegistry {
  private readonly taken = new Set<string>();

  constructor(reserved: readonly string[] = []) {
    for (const r of reserved) this.taken.add(r);
  }

  claim(raw: string): string {
    const base = safeToolName(raw);
    let name = base;
    for (let i = 2; this.taken.has(name); i++) {
      const suffix = `_${i}`;
      name = `${base.slice(0, MAX - suffix.length)}${suffix}`;
    }
    this.taken.add(name);
    return name;
  }
}
