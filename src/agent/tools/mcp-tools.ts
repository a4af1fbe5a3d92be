/**
 * The tools of a step's MCP servers (stdio and Streamable HTTP, through `src/mcp-client`).
 *
 * Connections are kept for a short while per (run, server), so a tool loop does not spawn a process or
 * open a session for every call: an idle connection is closed after `idleMs`, and at most `maxOpen`
 * are kept per worker (the least recently used is closed first). A connection that fails is dropped and
 * the next call opens a fresh one. Secrets (env, headers) are decrypted here, right before connecting.
 */
import type { McpConnection, McpConnectionConfig, McpToolInfo } from '../../mcp-client/client';
import { openSecretMap } from '../../crypto/secret-box';
import type { ResolvedMcpServer } from '../../shared/step-config';
import type { ToolsetDeps } from '../tool-types';

export const MCP_TOOL_DEFAULTS = {
  connectTimeoutMs: 30_000,
  callTimeoutMs: 120_000,
  idleMs: 60_000,
  maxOpen: 32,
} as const;

const ENV_COLUMN = 'mcp_servers.env';
const HEADERS_COLUMN = 'mcp_servers.headers';

/** A failure to reach or configure a server (not a tool's own error); the message is safe to show. */
export class McpToolError extends Error {
  override readonly name = 'McpToolError';
}

/** The connection config with secrets decrypted. Never log or return it. */
export function mcpConnectionConfig(
  server: ResolvedMcpServer,
  orgId: string,
  deps: Pick<ToolsetDeps, 'secrets'>,
): McpConnectionConfig {
  const needs = server.transport === 'stdio' ? server.envCiphertext : server.headersCiphertext;
  if (needs && !deps.secrets) {
    throw new McpToolError(
      `MCP server "${server.slug}" has secrets, and this worker has no FLAPJACK_SECRET_KEY to open them`,
    );
  }
  let secrets: Record<string, string> | null = null;
  try {
    if (needs && deps.secrets) {
      secrets = openSecretMap(deps.secrets, orgId, server.transport === 'stdio' ? ENV_COLUMN : HEADERS_COLUMN, needs);
    }
  } catch {
    throw new McpToolError(
      `The secrets of MCP server "${server.slug}" cannot be decrypted on this worker (was FLAPJACK_SECRET_KEY changed?)`,
    );
  }
  if (server.transport === 'stdio') {
    return { transport: 'stdio', command: server.command ?? '', args: server.args ?? [], env: secrets ?? {} };
  }
  return { transport: 'http', url: server.url ?? '', headers: secrets ?? {} };
}

interface Entry {
  conn: Promise<McpConnection>;
  lastUsed: number;
  timer?: NodeJS.Timeout;
  busy: number;
}

/** Per-worker cache of open MCP connections, keyed by run and server. */
export class McpConnectionPool {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly opts: { idleMs?: number; maxOpen?: number } = {}) {}

  async use<T>(key: string, open: () => Promise<McpConnection>, fn: (conn: McpConnection) => Promise<T>): Promise<T> {
    let entry = this.entries.get(key);
    if (!entry) {
      entry = { conn: open(), lastUsed: Date.now(), busy: 0 };
      this.entries.set(key, entry);
      this.evict();
      // A failed connect must not be reused.
      const created = entry;
      entry.conn.catch(() => this.drop(key, created));
    }
    const e = entry;
    if (e.timer) clearTimeout(e.timer);
    e.busy++;
    try {
      const conn = await e.conn;
      return await fn(conn);
    } catch (err) {
      // A tool's own failure is a result, not a throw: a throw means the connection may be broken
      // (closed process, lost session, timeout), so the next call reconnects.
      void this.drop(key, e);
      throw err;
    } finally {
      e.busy--;
      e.lastUsed = Date.now();
      if (this.entries.get(key) === e && e.busy === 0) {
        e.timer = setTimeout(() => this.drop(key, e), this.opts.idleMs ?? MCP_TOOL_DEFAULTS.idleMs);
        e.timer.unref();
      }
    }
  }

  /** Closes every connection of one run (e.g. when its step ends). */
  async closeRun(runId: string): Promise<void> {
    const prefix = `${runId}:`;
    await Promise.all(
      [...this.entries.entries()].filter(([k]) => k.startsWith(prefix)).map(([k, e]) => this.drop(k, e)),
    );
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.entries.entries()].map(([k, e]) => this.drop(k, e)));
  }

  get size(): number {
    return this.entries.size;
  }

  private evict(): void {
    const max = this.opts.maxOpen ?? MCP_TOOL_DEFAULTS.maxOpen;
    if (this.entries.size <= max) return;
    const idle = [...this.entries.entries()]
      .filter(([, e]) => e.busy === 0)
      .sort((a, b) => a[1].lastUsed - b[1].lastUsed);
    for (const [k, e] of idle) {
      if (this.entries.size <= max) break;
      void this.drop(k, e);
    }
  }

  private async drop(key: string, entry: Entry): Promise<void> {
    if (this.entries.get(key) === entry) this.entries.delete(key);
    if (entry.timer) clearTimeout(entry.timer);
    await entry.conn.then((c) => c.close()).catch(() => undefined);
  }
}

const pools = new WeakMap<object, McpConnectionPool>();

/** The pool of one worker (one per `ToolsetDeps`). */
export function poolFor(deps: ToolsetDeps): McpConnectionPool {
  let pool = pools.get(deps);
  if (!pool) {
    pool = new McpConnectionPool();
    pools.set(deps, pool);
  }
  return pool;
}

/** Closes the MCP connections a worker keeps (all, or one run's). */
export async function closeMcpConnections(deps: ToolsetDeps, runId?: string): Promise<void> {
  const pool = pools.get(deps);
  if (!pool) return;
  await (runId ? pool.closeRun(runId) : pool.closeAll());
}

function openerFor(server: ResolvedMcpServer, orgId: string, deps: ToolsetDeps) {
  return () =>
    deps.connectMcp(mcpConnectionConfig(server, orgId, deps), {
      timeoutMs: MCP_TOOL_DEFAULTS.connectTimeoutMs,
      guard: deps.guard,
    });
}

export async function listServerTools(
  server: ResolvedMcpServer,
  ctx: { runId: string; orgId: string; deps: ToolsetDeps },
): Promise<McpToolInfo[]> {
  return poolFor(ctx.deps).use(`${ctx.runId}:${server.id}`, openerFor(server, ctx.orgId, ctx.deps), (c) =>
    c.listTools(),
  );
}

export async function callServerTool(
  server: ResolvedMcpServer,
  tool: string,
  args: Record<string, unknown>,
  ctx: { runId: string; orgId: string; deps: ToolsetDeps; signal?: AbortSignal },
) {
  return poolFor(ctx.deps).use(`${ctx.runId}:${server.id}`, openerFor(server, ctx.orgId, ctx.deps), (c) =>
    c.callTool(tool, args, {
      timeoutMs: MCP_TOOL_DEFAULTS.callTimeoutMs,
      ...(ctx.signal ? { signal: ctx.signal } : {}),
    }),
  );
}
