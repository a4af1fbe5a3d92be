/**
 * Connecting to users' MCP servers (for agent tools and poll triggers) with `@modelcontextprotocol/sdk`:
 * stdio (a spawned process) or Streamable HTTP.
 *
 * - Every request has a timeout (`timeoutMs` for connect and listTools, per call for callTool).
 * - HTTP targets go through an egress guard: the socket connects only to an address that the guard
 *   checked (private, loopback and link-local targets are refused unless allowlisted). Without a guard
 *   argument the strict default (empty allowlist) applies. Redirects are never followed across origins.
 * - Error messages name the server's host or command, never header values or env values.
 */
import http from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import { createEgressGuard, EgressRefusedError, type EgressGuard } from '../net/egress';

export type McpConnectionConfig =
  | { transport: 'stdio'; command: string; args?: string[]; env?: Record<string, string>; cwd?: string }
  | { transport: 'http'; url: string; headers?: Record<string, string> };

export interface McpConnectOptions {
  /** Bounds the connection handshake and every request without its own timeout. Default 30 s. */
  timeoutMs?: number;
  /** Egress control for HTTP targets; default: private/loopback/link-local refused. */
  guard?: EgressGuard;
  /** How this client introduces itself. */
  clientInfo?: { name: string; version: string };
}

export interface McpToolInfo {
  name: string;
  title?: string;
  description?: string;
  inputSchema: Record<string, unknown>;
  outputSchema?: Record<string, unknown>;
}

export interface McpToolResult {
  /** The content blocks as the server sent them. */
  content: unknown[];
  structuredContent?: Record<string, unknown>;
  /** True when the tool reported a failure (the call itself worked). */
  isError: boolean;
  /** The text blocks joined by newlines (handy for models and logs). */
  text: string;
}

export interface McpConnection {
  readonly serverInfo: { name: string; version: string } | undefined;
  listTools(opts?: { timeoutMs?: number }): Promise<McpToolInfo[]>;
  callTool(
    name: string,
    args?: Record<string, unknown>,
    opts?: { timeoutMs?: number; signal?: AbortSignal },
  ): Promise<McpToolResult>;
  close(): Promise<void>;
}

export type McpClientErrorKind = 'invalid_config' | 'egress_refused' | 'connect' | 'timeout' | 'protocol' | 'closed';

export class McpClientError extends Error {
  override readonly name = 'McpClientError';
  readonly kind: McpClientErrorKind;

  constructor(kind: McpClientErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_TOOL_PAGES = 50;
const STDERR_TAIL_BYTES = 4096;

/**
 * A `fetch` for the SDK's HTTP transport that connects through the egress guard (node:http with the
 * guard's `lookup`, a fresh socket per request, literal IPs checked up front) and never follows
 * redirects itself.
 */
export function createGuardedFetch(guard: EgressGuard) {
  return async (input: string | URL, init?: RequestInit): Promise<Response> => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new McpClientError('invalid_config', `Unsupported URL scheme "${url.protocol}": only http and https`);
    }
    guard.assertLiteralHost(url.hostname);
    const body = request.body ? Buffer.from(await request.arrayBuffer()) : undefined;
    const headers: Record<string, string> = {};
    request.headers.forEach((value, key) => {
      headers[key] = value;
    });
    if (body) headers['content-length'] = String(body.length);
    return new Promise<Response>((resolve, reject) => {
      const requestFn = url.protocol === 'https:' ? https.request : http.request;
      const req = requestFn(
        url,
        { method: request.method, headers, lookup: guard.lookup, agent: false, signal: request.signal },
        (res) => {
          const status = res.statusCode ?? 502;
          const responseHeaders = new Headers();
          for (const [k, v] of Object.entries(res.headers)) {
            if (Array.isArray(v)) for (const item of v) responseHeaders.append(k, item);
            else if (v !== undefined) responseHeaders.set(k, v);
          }
          const noBody = status === 204 || status === 304 || request.method === 'HEAD';
          if (noBody) res.resume();
          const stream = noBody ? null : (Readable.toWeb(res) as unknown as ReadableStream<Uint8Array>);
          resolve(
            new Response(stream, {
              status: status < 200 || status > 599 ? 502 : status,
              statusText: res.statusMessage,
              headers: responseHeaders,
            }),
          );
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  };
}

function describeTarget(config: McpConnectionConfig): string {
  if (config.transport === 'stdio') return `stdio command "${config.command}"`;
  try {
    return `${new URL(config.url).host}`;
  } catch {
    return 'the MCP server';
  }
}

function findEgressRefusal(e: unknown, depth = 0): EgressRefusedError | undefined {
  if (!e || typeof e !== 'object' || depth > 5) return undefined;
  if (e instanceof EgressRefusedError || (e as { code?: unknown }).code === 'EGRESS_REFUSED')
    return e as EgressRefusedError;
  return findEgressRefusal((e as { cause?: unknown }).cause, depth + 1);
}

function toClientError(e: unknown, what: string, target: string, timeoutMs: number): McpClientError {
  if (e instanceof McpClientError) return e;
  const refused = findEgressRefusal(e);
  if (refused) return new McpClientError('egress_refused', refused.message, { cause: e });
  if (e instanceof McpError) {
    if (e.code === ErrorCode.RequestTimeout) {
      return new McpClientError('timeout', `${what} on ${target} timed out after ${timeoutMs} ms`, { cause: e });
    }
    if (e.code === ErrorCode.ConnectionClosed) {
      return new McpClientError('closed', `The connection to ${target} closed during ${what}`, { cause: e });
    }
    return new McpClientError('protocol', `${what} on ${target} failed: ${e.message}`, { cause: e });
  }
  if ((e as { name?: string })?.name === 'AbortError') {
    return new McpClientError('timeout', `${what} on ${target} was aborted`, { cause: e });
  }
  const code = (e as { code?: unknown })?.code;
  const detail = typeof code === 'string' ? code : e instanceof Error ? e.message : String(e);
  return new McpClientError('connect', `${what} on ${target} failed: ${detail}`, { cause: e });
}

function validateConfig(config: McpConnectionConfig): void {
  if (config.transport === 'stdio') {
    if (!config.command) throw new McpClientError('invalid_config', 'A stdio MCP server needs a command');
  } else if (config.transport === 'http') {
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new McpClientError('invalid_config', 'The MCP server URL is not a valid absolute URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new McpClientError('invalid_config', `Unsupported URL scheme "${url.protocol}": only http and https`);
    }
  } else {
    throw new McpClientError('invalid_config', 'Unknown MCP transport');
  }
}

/** Connects (spawns or opens a session) and completes the MCP handshake within `timeoutMs`. */
export async function connectMcp(config: McpConnectionConfig, opts: McpConnectOptions = {}): Promise<McpConnection> {
  validateConfig(config);
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const target = describeTarget(config);
  let stderrTail = '';
  let transport: Transport;

  if (config.transport === 'stdio') {
    const stdio = new StdioClientTransport({
      command: config.command,
      args: config.args ?? [],
      env: config.env,
      cwd: config.cwd,
      stderr: 'pipe',
    });
    stdio.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
    });
    transport = stdio;
  } else {
    const guard = opts.guard ?? createEgressGuard([]);
    const url = new URL(config.url);
    try {
      guard.assertLiteralHost(url.hostname);
    } catch (e) {
      throw toClientError(e, 'Connecting', target, timeoutMs);
    }
    transport = new StreamableHTTPClientTransport(url, {
      requestInit: { headers: { ...(config.headers ?? {}) } },
      fetch: createGuardedFetch(guard),
      redirectPolicy: 'same-origin',
      reconnectionOptions: {
        maxRetries: 0,
        initialReconnectionDelay: 1000,
        maxReconnectionDelay: 1000,
        reconnectionDelayGrowFactor: 1,
      },
    });
  }

  const client = new Client(opts.clientInfo ?? { name: 'flapjack-runners', version: '0.1.0' }, { capabilities: {} });
  // Transport-level errors surface through the pending request; keep them from being unhandled.
  client.onerror = () => undefined;
  try {
    await client.connect(transport, { timeout: timeoutMs, maxTotalTimeout: timeoutMs });
  } catch (e) {
    await client.close().catch(() => undefined);
    const err = toClientError(e, 'Connecting', target, timeoutMs);
    if (config.transport === 'stdio' && err.kind !== 'timeout' && stderrTail.trim()) {
      // The process's own last words usually say why (missing module, bad flag). They come from the
      // user's server, not from its env values, but keep them short.
      err.message += ` (stderr: ${stderrTail.trim().slice(-500)})`;
    }
    throw err;
  }

  let closed = false;
  return {
    serverInfo: client.getServerVersion()
      ? { name: client.getServerVersion()!.name, version: client.getServerVersion()!.version }
      : undefined,

    async listTools(o = {}) {
      const t = o.timeoutMs ?? timeoutMs;
      const tools: McpToolInfo[] = [];
      let cursor: string | undefined;
      try {
        for (let pageNo = 0; pageNo < MAX_TOOL_PAGES; pageNo++) {
          const res = await client.listTools(cursor ? { cursor } : undefined, { timeout: t, maxTotalTimeout: t });
          for (const tool of res.tools) {
            tools.push({
              name: tool.name,
              ...(tool.title ? { title: tool.title } : {}),
              ...(tool.description ? { description: tool.description } : {}),
              inputSchema: tool.inputSchema as Record<string, unknown>,
              ...(tool.outputSchema ? { outputSchema: tool.outputSchema as Record<string, unknown> } : {}),
            });
          }
          cursor = res.nextCursor;
          if (!cursor) break;
        }
      } catch (e) {
        throw toClientError(e, 'Listing tools', target, t);
      }
      return tools;
    },

    async callTool(name, args = {}, o = {}) {
      const t = o.timeoutMs ?? timeoutMs;
      try {
        const res = await client.callTool({ name, arguments: args }, undefined, {
          timeout: t,
          maxTotalTimeout: t,
          ...(o.signal ? { signal: o.signal } : {}),
        });
        const content = Array.isArray(res.content) ? (res.content as unknown[]) : [];
        const text = content
          .filter((c): c is { type: 'text'; text: string } => (c as { type?: unknown })?.type === 'text')
          .map((c) => c.text)
          .join('\n');
        return {
          content,
          ...(res.structuredContent ? { structuredContent: res.structuredContent as Record<string, unknown> } : {}),
          isError: res.isError === true,
          text,
        };
      } catch (e) {
        throw toClientError(e, `Calling tool "${name}"`, target, t);
      }
    },

    async close() {
      if (closed) return;
      closed = true;
      if (transport instanceof StreamableHTTPClientTransport) {
        // Ends the server-side session politely; a server that does not support it is fine too.
        await transport.terminateSession().catch(() => undefined);
      }
      await client.close().catch(() => undefined);
    },
  };
}
