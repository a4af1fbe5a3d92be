import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { AppError } from '../errors/app-error';
import { toAppError } from '../errors/map';
import type { Logger } from '../config/logger';

/** A tool's arguments: ids at the top level, the request body's fields beside them. */
export interface ToolSpec<I extends z.ZodObject, O extends z.ZodObject> {
  name: string;
  title: string;
  /** What it does, when to use it, and one example call. */
  description: string;
  input: I;
  output: O;
  /** Hints for clients (read-only tools are safe to call without asking). */
  readOnly?: boolean;
  destructive?: boolean;
  idempotent?: boolean;
}

/** zod issues → `{path, message}` per bad argument (the REST API's 422 `details`, argument names as paths). */
function argumentIssues(error: z.ZodError): { path: string; message: string }[] {
  return error.issues.map((i) => {
    const path = i.path.map(String).join('.');
    if (i.code === 'unrecognized_keys')
      return { path: [path, ...i.keys].filter(Boolean).join('.'), message: 'unknown argument' };
    return { path: path || '(arguments)', message: i.message };
  });
}

/**
 * Parses the body part of a tool's arguments with the route's own schema (so refinements such as
 * "a webhook step needs webhookUrl" apply exactly as over REST); a failure is a validation error
 * naming each argument.
 */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw AppError.validation(argumentIssues(r.error));
  return r.data;
}

/** Splits the named id arguments off the rest (the request body). */
export function splitIds<A extends Record<string, unknown>, K extends keyof A>(
  args: A,
  ...ids: K[]
): [Pick<A, K>, Omit<A, K>] {
  const picked = {} as Pick<A, K>;
  const rest = { ...args } as Record<string, unknown>;
  for (const id of ids) {
    (picked as Record<string, unknown>)[id as string] = args[id];
    delete rest[id as string];
  }
  return [picked, rest as Omit<A, K>];
}

/** An API error as a tool result the model can read and act on (`isError`, the contract's error shape). */
export function errorResult(err: unknown, log?: Logger): CallToolResult {
  const e = toAppError(err);
  if (e.status >= 500) log?.error({ err }, 'MCP tool failed');
  const error: { code: string; message: string; status: number; details?: unknown } = {
    code: e.code,
    message: e.message,
    status: e.status,
  };
  if (e.details !== undefined) error.details = e.details;
  return { isError: true, content: [{ type: 'text', text: JSON.stringify({ error }) }] };
}

/** Registers a tool whose handler's result is both `structuredContent` and its JSON text; errors become `isError` results. */
export function defineTool<I extends z.ZodObject, O extends z.ZodObject>(
  server: McpServer,
  spec: ToolSpec<I, O>,
  run: (args: z.infer<I>) => Promise<unknown>,
  log?: Logger,
): void {
  server.registerTool(
    spec.name,
    {
      title: spec.title,
      description: spec.description,
      inputSchema: spec.input,
      outputSchema: spec.output,
      annotations: {
        title: spec.title,
        readOnlyHint: spec.readOnly ?? false,
        destructiveHint: spec.destructive ?? false,
        idempotentHint: spec.idempotent ?? spec.readOnly ?? false,
        openWorldHint: false,
      },
    },
    (async (args: z.infer<I>): Promise<CallToolResult> => {
      try {
        const raw = await run(args);
        // The output schema is the REST response schema: parsing drops fields it does not document
        // (clients validate structuredContent strictly against it).
        const parsed = spec.output.safeParse(raw);
        if (!parsed.success)
          log?.warn(
            { tool: spec.name, issues: parsed.error.issues.slice(0, 5) },
            'MCP tool result does not match its output schema',
          );
        const result = (parsed.success ? parsed.data : raw) as Record<string, unknown>;
        return { structuredContent: result, content: [{ type: 'text', text: JSON.stringify(result) }] };
      } catch (err) {
        return errorResult(err, log);
      }
    }) as never,
  );
}

/* ---------- shared argument and output shapes ---------- */

export const uuidArg = (what: string) =>
  z.uuid({ message: `must be ${what} id (a UUID)` }).describe(`${what} id (UUID)`);
export const listArgs = {
  limit: z.number().int().min(1).max(200).optional().describe('page size, 1-200 (default 50)'),
  cursor: z.string().max(500).optional().describe('nextCursor of the previous page; omit for the first page'),
};
export const deletedOutput = z.object({ deleted: z.literal(true), id: z.string() });
export function listOutput<T extends z.ZodType>(item: T) {
  return z.object({
    data: z.array(item),
    nextCursor: z.string().nullable().describe('pass as cursor to get the next page; null on the last page'),
  });
}
