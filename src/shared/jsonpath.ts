import { JSONPath } from 'jsonpath-plus';

/**
 * JSONPath over the run context (`{input, steps: {<name>: {output, status}}}`), with the contract's
 * semantics: one match gives the value, none gives `null`, several give the array of matches; a
 * trailing `.length` on an array (or string) gives its length. Pure: used by workflows and the API.
 */

export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
}

const LENGTH_SUFFIX = /\.length$/;

/** Returns an error message when `expr` is not a usable JSONPath, or null when it is fine. */
export function checkJsonPath(expr: unknown): string | null {
  if (typeof expr !== 'string' || expr.trim() === '') return 'must be a non-empty JSONPath string';
  if (!expr.startsWith('$')) return 'must start with "$"';
  if (expr.length > 1000) return 'must be at most 1000 characters';
  if (/[()]/.test(expr.replace(/\[\?\(.*?\)\]/g, ''))) return 'script expressions are not allowed';
  if (/\?\(|\(@/.test(expr)) return 'filter and script expressions are not allowed';
  if (!balanced(expr)) return 'has unbalanced brackets or quotes';
  try {
    JSONPath({ path: expr, json: {}, wrap: true, eval: false });
  } catch (e) {
    return `is not a valid JSONPath: ${(e as Error).message}`;
  }
  return null;
}

function balanced(expr: string): boolean {
  let depth = 0;
  let quote: string | null = null;
  for (const ch of expr) {
    if (quote) {
      if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '[') depth++;
    else if (ch === ']' && --depth < 0) return false;
  }
  return depth === 0 && quote === null;
}

function query(expr: string, json: unknown): unknown[] {
  const result: unknown = JSONPath({ path: expr, json: json as object, wrap: true, eval: false });
  return Array.isArray(result) ? result : [];
}

/** Evaluates one expression with the contract's one/none/many and `.length` rules. */
export function evaluatePath(expr: string, context: unknown): unknown {
  const matches = query(expr, context);
  if (matches.length === 0 && LENGTH_SUFFIX.test(expr)) {
    const base = evaluatePath(expr.replace(LENGTH_SUFFIX, ''), context);
    if (Array.isArray(base) || typeof base === 'string') return base.length;
    return null;
  }
  if (matches.length === 0) return null;
  if (matches.length === 1) return matches[0] ?? null;
  return matches;
}

/** The first match of `expr`, as a condition step uses it (no match → undefined). */
export function firstMatch(expr: string, context: unknown): unknown {
  const matches = query(expr, context);
  if (matches.length === 0 && LENGTH_SUFFIX.test(expr)) return evaluatePath(expr, context);
  return matches[0];
}

/** The contract's falsiness: no match, false, 0, "", null. */
export function isTruthyConditionValue(v: unknown): boolean {
  return !(v === undefined || v === null || v === false || v === 0 || v === '' || Number.isNaN(v));
}

/** Builds a step's input: the object of the mapping's values, or the run input without a mapping. */
export function resolveInput(mapping: Record<string, string> | null | undefined, context: { input: unknown }): unknown {
  if (!mapping || Object.keys(mapping).length === 0) return context.input;
  const out: Record<string, unknown> = {};
  for (const [key, expr] of Object.entries(mapping)) out[key] = evaluatePath(expr, context);
  return out;
}
