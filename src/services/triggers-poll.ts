import { JSONPath } from 'jsonpath-plus';
import { withOrg } from '../db/scoped';
import { connectMcp, type McpToolResult } from '../mcp-client/client';
import type { EgressGuard } from '../net/egress';
import { evaluatePath } from '../shared/jsonpath';
import type { PollFetchResult, PollItem } from '../shared/trigger-defs';
import { pollPlan, type PollConfig, type PollPlan } from '../shared/trigger-schemas';
import type { ServiceDeps } from './deps';
import { loadMcpConnectionConfig } from './mcp-servers';

/**
 * Poll triggers: one MCP tool call per poll (the template's), the new items in its result, and the
 * cursor to store once their runs are recorded. The workflow (workflows/trigger-poll.ts) orders the
 * steps so a crash never loses or duplicates an item: runs are recorded with the item id as their
 * idempotency key first, the cursor moves after (compare-and-set).
 */

export type Cursor = string | number | null;

/** At most this many items start runs per poll; the rest come with the next poll (the cursor stops at the last taken). */
export const MAX_ITEMS_PER_POLL = 500;

export class PollError extends Error {
  override readonly name = 'PollError';
  constructor(
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

const isNumeric = (v: unknown): boolean =>
  typeof v === 'number' ? Number.isFinite(v) : typeof v === 'string' && /^-?\d+(\.\d+)?$/.test(v.trim());

/** Orders cursor values: numerically when both are numeric, else as strings (ISO timestamps sort right). */
export function compareCursor(a: string | number, b: string | number): number {
  if (isNumeric(a) && isNumeric(b)) return Number(a) - Number(b);
  const x = String(a);
  const y = String(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

/** The tool result as JSON: its structured content, else its text parsed as JSON. */
export function toolResultJson(r: McpToolResult): unknown {
  if (r.structuredContent !== undefined) return r.structuredContent;
  try {
    return JSON.parse(r.text) as unknown;
  } catch {
    throw new PollError('The poll tool returned neither structured content nor JSON text', false);
  }
}

/**
 * The new items of one poll result: items at or below `cursor` (by their cursor value) are not new;
 * ids are deduplicated; items come oldest first when they have cursor values; the new cursor is the
 * largest cursor value taken.
 */
export function extractPollItems(
  plan: PollPlan,
  result: unknown,
  cursor: Cursor,
): { items: PollItem[]; cursorAfter: Cursor; skipped: number } {
  const found = JSONPath({ path: plan.itemsPath, json: result as object, wrap: true, eval: false }) as unknown;
  let raw: unknown[] = Array.isArray(found) ? found : [];
  if (raw.length === 1 && Array.isArray(raw[0])) raw = raw[0] as unknown[];
  const candidates: { id: string; input: unknown; c: string | number | null }[] = [];
  let skipped = 0;
  const seen = new Set<string>();
  for (const item of raw) {
    const id = evaluatePath(plan.itemIdPath, item);
    if (!(typeof id === 'string' && id !== '') && !(typeof id === 'number' && Number.isFinite(id))) {
      skipped++;
      continue;
    }
    const idStr = String(id);
    if (seen.has(idStr)) continue;
    seen.add(idStr);
    let c: string | number | null = null;
    if (plan.itemCursorPath) {
      const v = evaluatePath(plan.itemCursorPath, item);
      if (typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v))) c = v;
    }
    if (cursor !== null && c !== null && compareCursor(c, cursor) <= 0) continue;
    candidates.push({ id: idStr, input: plan.inputPath ? evaluatePath(plan.inputPath, item) : item, c });
  }
  if (plan.itemCursorPath) {
    candidates.sort((a, b) => (a.c === null || b.c === null ? 0 : compareCursor(a.c, b.c)));
  }
  const taken = candidates.slice(0, MAX_ITEMS_PER_POLL);
  let cursorAfter: Cursor = cursor;
  for (const t of taken) {
    if (t.c !== null && (cursorAfter === null || compareCursor(t.c, cursorAfter) > 0)) cursorAfter = t.c;
  }
  return { items: taken.map((t) => ({ id: t.id, input: t.input })), cursorAfter, skipped };
}

/** Loads the trigger, calls its template's tool on its MCP server and returns the new items. */
export async function fetchPollItems(
  deps: Pick<ServiceDeps, 'db' | 'secrets' | 'log'>,
  guard: EgressGuard,
  orgId: string,
  triggerId: string,
  timeoutMs = 60_000,
): Promise<PollFetchResult> {
  const t = await withOrg(deps.db, orgId, async (tx) => {
    const row = await tx.runnerTrigger.findFirst({
      where: { id: triggerId },
      include: { runner: { select: { deletedAt: true } } },
    });
    return row;
  });
  if (!t || t.kind !== 'poll') return { skipped: 'trigger deleted', items: [], cursorBefore: null, cursorAfter: null };
  if (t.runner.deletedAt) return { skipped: 'runner deleted', items: [], cursorBefore: null, cursorAfter: null };
  const cursorBefore = (t.pollCursor ?? null) as Cursor;
  if (!t.enabled) return { skipped: 'trigger disabled', items: [], cursorBefore, cursorAfter: cursorBefore };

  const cfg = (t.config as { pollConfig: PollConfig }).pollConfig;
  const plan = pollPlan(cfg.template, cfg.params);
  const args: Record<string, unknown> = { ...plan.arguments };
  if (plan.cursorArgument && cursorBefore !== null) args[plan.cursorArgument] = cursorBefore;

  const conn = await connectMcp(await loadMcpConnectionConfig(deps, orgId, cfg.mcpServerId), { guard, timeoutMs });
  let result: McpToolResult;
  try {
    result = await conn.callTool(plan.toolName, args, { timeoutMs });
  } finally {
    await conn.close().catch(() => undefined);
  }
  if (result.isError)
    throw new PollError(`The poll tool "${plan.toolName}" failed: ${result.text.slice(0, 500)}`, true);
  const { items, cursorAfter, skipped } = extractPollItems(plan, toolResultJson(result), cursorBefore);
  if (skipped) deps.log.warn({ triggerId, skipped }, 'poll items without a usable id were ignored');
  return { items, cursorBefore, cursorAfter };
}

/**
 * Stores the new cursor only if the stored one is still the one the poll started from (a reset
 * through the API in the meantime wins). Returns whether it moved.
 */
export async function advancePollCursor(
  deps: Pick<ServiceDeps, 'db'>,
  orgId: string,
  triggerId: string,
  from: Cursor,
  to: Cursor,
): Promise<boolean> {
  const n = await withOrg(
    deps.db,
    orgId,
    (tx) =>
      tx.$executeRaw`
      UPDATE runner_triggers
         SET poll_cursor = ${to === null ? null : JSON.stringify(to)}::jsonb, last_fired_at = now(), updated_at = now()
       WHERE id = ${triggerId}::uuid
         AND poll_cursor IS NOT DISTINCT FROM ${from === null ? null : JSON.stringify(from)}::jsonb`,
  );
  return n > 0;
}
