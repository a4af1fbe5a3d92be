import { randomUUID } from 'node:crypto';
import { withOrg, withSqlClient } from '../db/scoped';
import { AppError } from '../errors/app-error';
import { resultSets, Sql } from '../db/sql-batch';
import { runCreateSchema } from '../shared/schemas';
import type { ServiceDeps } from './deps';
import { runStarterFor } from './run-starter';
import {
  beginAndReadSnapshot,
  inputIssues,
  recordRunsSql,
  type RunRecord,
  type RunToRecord,
  type TriggerSource,
} from './runs';

export { BULK_MAX_ITEMS } from '../shared/bulk-schemas';
/** Runs recorded per transaction (one multi-row insert each). */
export const BULK_BATCH_SIZE = 1_000;

/** One reason an item was refused: its index in `items`, the field (dotted path) and why. */
export interface BulkInvalidItem {
  index: number;
  field: string;
  message: string;
}

export interface BulkResult {
  /** One entry per valid item, in item order (invalid items are left out). */
  data: { id: string; status: string; idempotencyKey: string | null }[];
  created: number;
  existing: number;
  invalid: BulkInvalidItem[];
}

interface ValidItem {
  index: number;
  input: unknown;
  key: string | null;
}

/**
 * The common well-formed item without zod's per-item overhead (10,000 items): a plain object with only
 * `input` and an optional string `idempotencyKey` of 1–255 characters. Anything else takes the zod path,
 * which also words the errors.
 */
function plainItem(raw: unknown): { input: unknown; key: string | null } | null {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return null;
  const o = raw as Record<string, unknown>;
  let n = 0;
  for (const k in o) {
    if (k !== 'input' && k !== 'idempotencyKey') return null;
    n++;
  }
  if (n > 2) return null;
  const key = o.idempotencyKey;
  if (key !== undefined && (typeof key !== 'string' || key.length < 1 || key.length > 255)) return null;
  return { input: o.input === undefined ? {} : o.input, key: key ?? null };
}

/** Checks every item on its own (shape, then the runner's inputSchema); bad items never sink good ones. */
function validateItems(items: unknown[], inputSchema: unknown): { valid: ValidItem[]; invalid: BulkInvalidItem[] } {
  const valid: ValidItem[] = [];
  const invalid: BulkInvalidItem[] = [];
  items.forEach((raw, index) => {
    const fast = plainItem(raw);
    if (fast) {
      const issues = inputIssues(inputSchema, fast.input, `items.${index}.input`);
      if (!issues.length) {
        valid.push({ index, input: fast.input, key: fast.key });
        return;
      }
    }
    const parsed = runCreateSchema.safeParse(raw);
    if (!parsed.success) {
      for (const i of parsed.error.issues) {
        const keys = 'keys' in i && Array.isArray(i.keys) ? (i.keys as string[]) : null;
        const field = ['items', index, ...i.path.map(String), ...(keys?.length ? [keys[0]] : [])].join('.');
        invalid.push({ index, field, message: keys?.length ? `unknown field: ${keys.join(', ')}` : i.message });
      }
      return;
    }
    const input = parsed.data.input === undefined ? {} : parsed.data.input;
    const issues = inputIssues(inputSchema, input, `items.${index}.input`);
    if (issues.length) {
      for (const i of issues) invalid.push({ index, field: i.path, message: i.message });
      return;
    }
    valid.push({ index, input, key: parsed.data.idempotencyKey ?? null });
  });
  return { valid, invalid };
}

/**
 * Records up to 10,000 runs in one pass and starts their workflows in the background.
 *
 * The runner's snapshot is read once; valid items are written in batches of `BULK_BATCH_SIZE`, each one
 * multi-row insert in its own org-scoped transaction and one database round trip. An idempotency key
 * already used for this runner (before, by a concurrent request, or earlier in this request) gives
 * the existing run. Invalid items are reported with their index and do not stop the others. The
 * workflows of the created runs are queued on the process's `RunStarter`; whatever it cannot start
 * (a crash, Temporal down) is started by the reconciler, since every created run is recorded first.
 */
export async function createRunsBulk(
  deps: ServiceDeps,
  orgId: string,
  runnerId: string,
  items: unknown[],
  source: TriggerSource = { kind: 'bulk' },
): Promise<BulkResult> {
  const { recorded, result } = await withSqlClient(deps.db, async (c) => {
    const q = new Sql(c);
    // Opens the first batch's transaction; 404 if the runner is gone.
    const { stored, inputSchema } = await beginAndReadSnapshot(c, q, orgId, runnerId);
    const { valid, invalid } = validateItems(items, inputSchema);

    // Within one request a repeated key names one run: the first item with it is the one recorded.
    const firstByKey = new Map<string, RunToRecord>();
    const toRecord: RunToRecord[] = [];
    const runOf: RunToRecord[] = valid.map((v) => {
      const prior = v.key === null ? undefined : firstByKey.get(v.key);
      if (prior) return prior;
      const r = { id: randomUUID(), input: v.input, key: v.key };
      if (v.key !== null) firstByKey.set(v.key, r);
      toRecord.push(r);
      return r;
    });

    const inserted = new Set<string>();
    /** key → the run that holds it when that run is not one we just inserted. */
    const holders = new Map<string, { id: string; status: string }>();
    for (let at = 0, first = true; at < toRecord.length || first; at += BULK_BATCH_SIZE, first = false) {
      const batch = toRecord.slice(at, at + BULK_BATCH_SIZE);
      const keys = batch.flatMap((r) => (r.key === null ? [] : [q.lit(r.key)]));
      const statements = [
        ...(first ? [] : [q.beginOrg(orgId)]),
        ...(batch.length ? [recordRunsSql(q, orgId, runnerId, stored, source, batch)] : []),
        ...(keys.length
          ? [
              `SELECT id, status, idempotency_key FROM runner_runs
                WHERE runner_id = ${q.lit(runnerId)} AND idempotency_key = ANY(ARRAY[${keys.join(', ')}]::text[])`,
            ]
          : []),
        'COMMIT',
      ];
      const sets = resultSets<{ id: string; status?: string; idempotency_key?: string }>(
        await c.query(statements.join(';\n')),
      ).slice(first ? 0 : 2); // BEGIN and the role switch answer first
      const insertRows = batch.length ? (sets[0]?.rows ?? []) : [];
      for (const r of insertRows) inserted.add(r.id);
      const keyRows = keys.length ? (sets[batch.length ? 1 : 0]?.rows ?? []) : [];
      for (const r of keyRows) {
        if (!inserted.has(r.id) && r.idempotency_key)
          holders.set(r.idempotency_key, { id: r.id, status: r.status ?? 'pending' });
      }
    }

    const data = runOf.map((r) => {
      if (inserted.has(r.id)) return { id: r.id, status: 'pending', idempotencyKey: r.key };
      const h = r.key === null ? undefined : holders.get(r.key);
      return { id: h?.id ?? r.id, status: h?.status ?? 'pending', idempotencyKey: r.key };
    });
    const createdRuns: RunRecord[] = toRecord
      .filter((r) => inserted.has(r.id))
      .map((r) => ({ id: r.id, orgId, runnerId, input: r.input, snapshot: stored, triggerKind: source.kind }));
    return {
      recorded: createdRuns,
      result: { data, created: createdRuns.length, existing: data.length - createdRuns.length, invalid },
    };
  });
  runStarterFor(deps).enqueue(recorded);
  return result;
}

/** The status of many runs of one runner at once (for `--wait` in the CLI); unknown ids are left out. */
export async function bulkRunStatuses(deps: ServiceDeps, orgId: string, runnerId: string, ids: string[]) {
  return withOrg(deps.db, orgId, async (tx) => {
    const runner = await tx.runner.findFirst({ where: { id: runnerId }, select: { id: true } });
    if (!runner) throw AppError.notFound('Runner');
    const rows = await tx.runnerRun.findMany({
      where: { runnerId, id: { in: ids } },
      select: { id: true, status: true, error: true, completedAt: true },
    });
    const byId = new Map(rows.map((r) => [r.id, r]));
    return {
      data: ids.flatMap((id) => {
        const r = byId.get(id);
        return r
          ? [{ id, status: r.status, error: r.error ?? null, completedAt: r.completedAt?.toISOString() ?? null }]
          : [];
      }),
    };
  });
}
