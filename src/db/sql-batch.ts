import type { Client, PoolClient } from 'pg';
import { APP_ROLE, SYSTEM_ROLE } from './roles';

/**
 * Builds SQL text with values inlined as literals, for sending several statements in one round trip
 * (the simple query protocol takes no parameters). Every value goes through pg's `escapeLiteral`;
 * numbers must be finite, and nothing else is accepted, so no caller can splice raw text in.
 */
export class Sql {
  constructor(private readonly client: PoolClient) {}

  /** A text/uuid/number/boolean/null literal. */
  lit(v: string | number | boolean | null | undefined): string {
    if (v === null || v === undefined) return 'NULL';
    if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) throw new Error('non-finite number in SQL batch');
      return String(v);
    }
    return this.client.escapeLiteral(v);
  }

  /** A jsonb literal of any JSON value (`null` stays a JSON null: use `jsonOrNull` for SQL NULL). */
  json(v: unknown): string {
    return `${this.client.escapeLiteral(JSON.stringify(v ?? null))}::jsonb`;
  }

  jsonOrNull(v: unknown): string {
    return v === undefined || v === null ? 'NULL' : this.json(v);
  }

  /** The statements that open an org-scoped (RLS) transaction. */
  beginOrg(orgId: string): string {
    return `BEGIN; SELECT set_config('role', ${this.lit(APP_ROLE)}, true), set_config('app.org_id', ${this.lit(orgId)}, true)`;
  }

  /** The statements that open a cross-org transaction (use through `systemBatch`, which names the reason). */
  beginSystem(reason: string): string {
    return `BEGIN; SELECT set_config('role', ${this.lit(SYSTEM_ROLE)}, true), set_config('app.system_reason', ${this.lit(reason)}, true)`;
  }

  /** A uuid[] literal. */
  uuids(ids: readonly string[]): string {
    return `ARRAY[${ids.map((id) => this.lit(id)).join(', ')}]::uuid[]`;
  }

  /**
   * `EXECUTE` of a prepared statement with these literal arguments (each built with `lit`/`json`/…), for a
   * batch sent after `ensurePrepared` made sure this connection has it.
   */
  exec(stmt: PreparedStatement, ...args: string[]): string {
    if (inFull.has(this.client)) return this.inline(stmt, ...args);
    return args.length ? `EXECUTE ${stmt.name}(${args.join(', ')})` : `EXECUTE ${stmt.name}`;
  }

  /** The statement in full, each `$n` replaced by its typed argument (no preparing needed). */
  inline(stmt: PreparedStatement, ...args: string[]): string {
    // `$n` stands only for parameters in these bodies (no dollar quoting).
    return stmt.body.replace(
      /\$(\d+)/g,
      (_, n: string) => `(${args[Number(n) - 1] ?? 'NULL'})::${stmt.types[Number(n) - 1]}`,
    );
  }
}

/**
 * A statement of a hot path that each connection prepares once (SQL `PREPARE`) and batches then run with
 * `EXECUTE` (`Sql.exec`): PostgreSQL plans a batch's plain statements afresh every time (the simple query
 * protocol has no plan cache), and for the short statements of a run's path planning is most of their
 * cost (the snapshot's three reads: 0.72 ms of server CPU planned each time, 0.15 ms prepared; see
 * `bench/pg-cpu.ts`). Needs a connection of its own per session (direct, or a session-mode pooler):
 * prepared statements do not survive a transaction-mode PgBouncer.
 */
export interface PreparedStatement {
  name: string;
  types: readonly string[];
  /** The statement, `$1`… for its parameters. */
  body: string;
  /** `PREPARE <name>(<types>) AS <body>`. */
  sql: string;
}

export function preparedStatement(name: string, types: readonly string[], body: string): PreparedStatement {
  if (!/^fj_[a-z0-9_]+$/.test(name)) throw new Error(`prepared statement name must match fj_[a-z0-9_]+: ${name}`);
  return { name, types, body, sql: `PREPARE ${name}${types.length ? `(${types.join(', ')})` : ''} AS ${body}` };
}

const preparedOn = new WeakMap<PoolClient | Client, Set<string>>();
const broken = new WeakSet<PoolClient | Client>();
/** Connections of a pool made with `preparedStatements: false` (see `createDb`). */
const inFull = new WeakSet<PoolClient | Client>();

/** This connection gets every statement in full, never prepared (behind a transaction-mode pooler). */
export function sendStatementsInFull(client: PoolClient | Client): void {
  inFull.add(client);
}

/**
 * Prepares on this connection the statements it does not have yet: one round trip the first time a
 * connection meets them, none after. A connection on which preparing failed is marked broken (its
 * statements are in an unknown state), and `withSqlClient` then closes it instead of pooling it.
 */
export async function ensurePrepared(c: PoolClient, stmts: readonly PreparedStatement[]): Promise<void> {
  if (inFull.has(c)) return;
  let have = preparedOn.get(c);
  if (!have) {
    have = new Set();
    preparedOn.set(c, have);
  }
  const missing = stmts.filter((s) => !have.has(s.name));
  if (!missing.length) return;
  try {
    await c.query(missing.map((s) => s.sql).join(';\n'));
  } catch (e) {
    broken.add(c);
    throw e;
  }
  for (const s of missing) have.add(s.name);
}

/**
 * True when the connection must not go back to the pool: preparing failed on it, or `error` says a
 * prepared statement went stale (a migration changed a table it reads: "cached plan must not change
 * result type"); a new connection prepares the statements afresh.
 */
export function mustDiscard(c: PoolClient, error?: unknown): boolean {
  return broken.has(c) || (error as { code?: string } | undefined)?.code === '0A000';
}

/** Result sets of a multi-statement query, in statement order (pg returns one object for one statement). */
export function resultSets<R>(r: unknown): { rows: R[] }[] {
  return (Array.isArray(r) ? r : [r]) as { rows: R[] }[];
}
