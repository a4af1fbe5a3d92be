import type { z } from 'zod';
import { AppError, type FieldIssue } from '../src/errors/app-error';

/** zod issues → the contract's 422 `details` (each bad field with its dotted path). */
export function zodIssues(error: z.ZodError, prefix = ''): FieldIssue[] {
  return error.issues.map((i) => {
    const keys = 'keys' in i && Array.isArray(i.keys) ? i.keys : null;
    const base = [prefix, ...i.path.map(String)].filter(Boolean).join('.');
    if (keys && keys.length > 0) {
      return { path: [base, keys[0]].filter(Boolean).join('.'), message: `unknown field${keys.length > 1 ? 's' : ''}: ${keys.join(', ')}` };
    }
    return { path: base, message: i.message };
  });
}

export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, prefix = ''): z.infer<S> {
  const r = schema.safeParse(value);
  if (!r.success) throw AppError.validation(zodIssues(r.error, prefix));
  return r.data;
}
