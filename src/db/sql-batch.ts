import type { PoolClient } from 'pg';
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
}

/** Result sets of a multi-statement query, in statement order (pg returns one object for one statement). */
export function resultSets<R>(r: unknown): { rows: R[] }[] {
  return (Array.isArray(r) ? r : [r]) as { rows: R[] }[];
}
