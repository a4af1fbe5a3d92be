/**
 * Read-only SQL over a user's PostgreSQL integration, for the agent's `sql` tools.
 *
 * Every call opens its own connection (through the egress guard) and runs exactly one statement:
 *
 * 1. `BEGIN READ ONLY`, `SET LOCAL statement_timeout`, `SET LOCAL search_path` to the allowed schemas;
 * 2. `EXPLAIN (VERBOSE, FORMAT JSON)` of the statement: anything that is not a query (a utility
 *    statement, a data-modifying plan) is refused, and so is a plan that scans a relation outside the
 *    allowed schemas;
 * 3. the query runs as a cursor (`DECLARE … NO SCROLL CURSOR`, `FETCH <cap + 1>`), so at most the row cap
 *    (plus one, to know it was cut) is ever read from the server;
 * 4. `ROLLBACK`, and the connection is closed.
 *
 * The statement travels with the extended query protocol, which refuses several statements in one
 * string (no `COMMIT; DELETE …`). A read-only transaction refuses writes even through functions.
 * The integration's own role and grants still apply: the cleanest setup is a role with SELECT only.
 */
import net from 'node:net';
import { Client, type QueryResult } from 'pg';
import type { EgressGuard } from '../../net/egress';

export interface ReadOnlyQueryOptions {
  connectionString: string;
  sql: string;
  /** Schemas the query may read; empty means `public` only. */
  allowedSchemas: readonly string[];
  /** Most rows returned (more are cut and `truncated` is set). Default 200. */
  rowCap?: number;
  /** Server-side statement timeout, also enforced on the client. Default 10 s. */
  statementTimeoutMs?: number;
  /** Connection timeout. Default 10 s. */
  connectTimeoutMs?: number;
  guard?: EgressGuard;
  signal?: AbortSignal;
}

export interface ReadOnlyQueryResult {
  columns: string[];
  rows: Record<string, unknown>[];
  rowCount: number;
  truncated: boolean;
}

/** A refusal or failure that goes back to the model as a tool error (its message is safe to show). */
export class SqlToolError extends Error {
  override readonly name = 'SqlToolError';
  readonly kind: 'refused' | 'query' | 'connect' | 'timeout';

  constructor(kind: SqlToolError['kind'], message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.kind = kind;
  }
}

export const SQL_DEFAULTS = {
  rowCap: 200,
  statementTimeoutMs: 10_000,
  connectTimeoutMs: 10_000,
  maxSqlChars: 20_000,
} as const;

const quoteIdent = (s: string): string => `"${s.replace(/"/g, '""')}"`;

/** The schemas a query may touch: the configured ones, or `public` when none are. */
export function effectiveSchemas(allowed: readonly string[]): string[] {
  return allowed.length > 0 ? [...allowed] : ['public'];
}

interface PlanNode {
  'Node Type'?: string;
  'Relation Name'?: string;
  Schema?: string;
  Plans?: PlanNode[];
  [k: string]: unknown;
}

/** Walks an EXPLAIN (FORMAT JSON) plan: data-modifying nodes and relations outside `schemas`. */
export function inspectPlan(plan: PlanNode, schemas: readonly string[]): { writes: boolean; foreign: string[] } {
  const allowed = new Set(schemas);
  const foreign = new Set<string>();
  let writes = false;
  const walk = (n: PlanNode): void => {
    if (n['Node Type'] === 'ModifyTable' || n['Node Type'] === 'LockRows') writes = true;
    if (typeof n['Relation Name'] === 'string') {
      const schema = typeof n.Schema === 'string' ? n.Schema : '';
      if (!allowed.has(schema)) foreign.add(`${schema}.${n['Relation Name']}`);
    }
    for (const child of n.Plans ?? []) walk(child);
  };
  walk(plan);
  return { writes, foreign: [...foreign] };
}

/** A pg `stream` factory whose socket resolves and connects through the egress guard. */
function guardedStream(guard: EgressGuard) {
  return () => {
    const socket = new net.Socket();
    const connect = socket.connect.bind(socket) as (opts: net.TcpSocketConnectOpts) => net.Socket;
    (socket as unknown as { connect: (port: number, host: string) => net.Socket }).connect = (port, host) => {
      try {
        guard.assertLiteralHost(host);
      } catch (e) {
        process.nextTick(() => socket.destroy(e as Error));
        return socket;
      }
      return connect({ port, host, lookup: guard.lookup });
    };
    return socket;
  };
}

function pgMessage(e: unknown): string {
  const err = e as { message?: string; code?: string };
  return err?.message ?? String(e);
}

/** Rows as JSON-friendly values: Dates become ISO strings, Buffers base64, bigints stay strings (pg's default). */
function jsonValue(v: unknown): unknown {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (Buffer.isBuffer(v)) return { base64: v.toString('base64') };
  return v;
}

export async function runReadOnlyQuery(opts: ReadOnlyQueryOptions): Promise<ReadOnlyQueryResult> {
  const sql = opts.sql.trim().replace(/;\s*$/, '');
  if (!sql) throw new SqlToolError('refused', 'The query is empty');
  if (sql.length > SQL_DEFAULTS.maxSqlChars) {
    throw new SqlToolError('refused', `The query is longer than ${SQL_DEFAULTS.maxSqlChars} characters`);
  }
  const rowCap = Math.max(1, Math.min(10_000, Math.floor(opts.rowCap ?? SQL_DEFAULTS.rowCap)));
  const timeoutMs = Math.max(100, Math.floor(opts.statementTimeoutMs ?? SQL_DEFAULTS.statementTimeoutMs));
  const schemas = effectiveSchemas(opts.allowedSchemas);

  const client = new Client({
    connectionString: opts.connectionString,
    connectionTimeoutMillis: opts.connectTimeoutMs ?? SQL_DEFAULTS.connectTimeoutMs,
    // Client-side bound too: a server that ignores statement_timeout cannot hold the activity.
    query_timeout: timeoutMs + 2_000,
    application_name: 'flapjack-agent-sql',
    ...(opts.guard ? { stream: guardedStream(opts.guard) } : {}),
  });
  client.on('error', () => undefined);
  const onAbort = (): void => {
    void client.end().catch(() => undefined);
  };
  opts.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    try {
      await client.connect();
    } catch (e) {
      const msg = pgMessage(e);
      if (/egress/i.test(msg)) throw new SqlToolError('refused', msg, { cause: e });
      // The message names the host or says what failed; never the password (pg does not echo it).
      throw new SqlToolError('connect', `Could not connect to the database: ${msg}`, { cause: e });
    }
    const run = (text: string): Promise<QueryResult> => client.query({ text, queryMode: 'extended' } as never);

    await client.query('BEGIN TRANSACTION READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${timeoutMs}`);
    await client.query(`SET LOCAL idle_in_transaction_session_timeout = ${timeoutMs * 2}`);
    await client.query(`SET LOCAL search_path = ${schemas.map(quoteIdent).join(', ')}`);

    let plan: PlanNode | undefined;
    try {
      const explained = await run(`EXPLAIN (VERBOSE, FORMAT JSON) ${sql}`);
      const first = explained.rows[0] as Record<string, unknown> | undefined;
      const raw = first ? Object.values(first)[0] : undefined;
      const doc = (typeof raw === 'string' ? JSON.parse(raw) : raw) as { Plan?: PlanNode }[] | undefined;
      plan = doc?.[0]?.Plan;
    } catch (e) {
      throw classifyQueryError(e, sql);
    }
    if (!plan) throw new SqlToolError('refused', 'Only a single SELECT query is allowed');
    const { writes, foreign } = inspectPlan(plan, schemas);
    if (writes) {
      throw new SqlToolError(
        'refused',
        'Refused: this database is read-only for agents (the statement would write or lock rows)',
      );
    }
    if (foreign.length > 0) {
      throw new SqlToolError(
        'refused',
        `Refused: the query reads ${foreign.slice(0, 5).join(', ')}, outside the allowed schemas (${schemas.join(', ')})`,
      );
    }

    let fetched: QueryResult;
    try {
      await run(`DECLARE flapjack_agent_cursor NO SCROLL CURSOR FOR ${sql}`);
      fetched = await client.query(`FETCH ${rowCap + 1} FROM flapjack_agent_cursor`);
    } catch (e) {
      throw classifyQueryError(e, sql);
    }
    const columns = fetched.fields.map((f) => f.name);
    const truncated = fetched.rows.length > rowCap;
    const rows = (fetched.rows as Record<string, unknown>[]).slice(0, rowCap).map((r) => {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(r)) out[k] = jsonValue(v);
      return out;
    });
    await client.query('ROLLBACK').catch(() => undefined);
    return { columns, rows, rowCount: rows.length, truncated };
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
    await client.end().catch(() => undefined);
  }
}

function classifyQueryError(e: unknown, sql: string): SqlToolError {
  if (e instanceof SqlToolError) return e;
  const err = e as { code?: string; message?: string };
  const msg = pgMessage(e);
  // 25006: read_only_sql_transaction.
  if (err.code === '25006')
    return new SqlToolError('refused', `Refused: this database is read-only for agents (${msg})`, { cause: e });
  // 57014: query_canceled (statement_timeout).
  if (err.code === '57014' || /timeout/i.test(msg))
    return new SqlToolError('timeout', `The query timed out: ${msg}`, { cause: e });
  // 42601: syntax error — EXPLAIN and DECLARE accept queries only, so a utility statement lands here.
  if (err.code === '42601' && !/^\s*(select|with|values|table)\b/i.test(sql)) {
    return new SqlToolError(
      'refused',
      `Refused: only a single read-only query (SELECT, WITH, VALUES, TABLE) is allowed (${msg})`,
      {
        cause: e,
      },
    );
  }
  if (err.code === '42P01')
    return new SqlToolError('query', `${msg} (the search path is limited to the allowed schemas)`, { cause: e });
  return new SqlToolError('query', msg, { cause: e });
}
