import type { z } from 'zod';
import { AppError, type FieldIssue } from '../src/errors/app-error';

/** zod issues → the contract's 422 `details` (each bad field with its dotted path). */
export function zodIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((i) => {
    const keys = 'keys' in i && Array.isArray(i.keys) ? i.keys : null;
    const base = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    if (keys && keys.length > 0) {
      return {
        path: [base, keys[0]].filter(Boolean).join('.'),
        message: `unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}`,
      };
    }
    return { path: base, message: i.message };
  });
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw AppError.validation(zodIssues(r.error, prefix));
  const nul = nulIssues(r.data, prefix ? [prefix] : []);
  if (nul.length) throw AppError.validation(nul);
  return r.data;
}

/**
 * PostgreSQL text and jsonb cannot hold U+0000: a NUL in any string or key of a request is a 422, not a
 * 500. Iterative, so a deeply nested body cannot overflow the stack.
 */
export function nulIssues(value: unknown, path: string[] = []): FieldIssue[] {
  type Node = { key: string; parent: Node | null } | null;
  const out: FieldIssue[] = [];
  const at = (n: Node, last?: string) => {
    const keys: string[] = last === undefined ? [] : [last];
    for (let c = n; c; c = c.parent) keys.push(c.key);
    return [...path, ...keys.reverse()].join('.') || 'body';
  };
  // a path is materialised only for a bad field, so a deep body costs linear time
  const todo: [unknown, Node][] = [[value, null]];
  while (todo.length && out.length < 20) {
    const [v, n] = todo.pop() as [unknown, Node];
    if (typeof v === 'string') {
      if (v.includes('\u0000')) out.push({ path: at(n), message: 'must not contain NUL (\\u0000) characters' });
    } else if (Array.isArray(v)) {
      v.forEach((x, i) => todo.push([x, { key: String(i), parent: n }]));
    } else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k.includes('\u0000'))
          out.push({ path: at(n, k), message: 'field names must not contain NUL (\\u0000) characters' });
        else todo.push([x, { key: k, parent: n }]);
      }
    }
  }
  return out;
}
