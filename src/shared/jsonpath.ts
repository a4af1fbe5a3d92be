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

/**
 * How filter expressions (`$.items[?(@.price > 10)]`) are evaluated: jsonpath-plus's safe evaluator (its own
 * interpreter of an expression AST: no `eval`, no `Function`, no prototype access), with evaluation errors
 * counted as "no match" (an item without `@.a` does not match `@.a.b > 1`). Script expressions
 * (`$[(@.length-1)]`) are refused, and so are calls and assignments inside filters (checked at save time),
 * so a filter is a pure comparison of the data and runs the same inside the workflow sandbox.
 */
const EVAL = { eval: 'safe', ignoreEvalErrors: true } as const;

/** Returns an error message when `expr` is not a usable JSONPath, or null when it is fine. */
export function checkJsonPath(expr: unknown): string | null {
  if (typeof expr !== 'string' || expr.trim() === '') return 'must be a non-empty JSONPath string';
  if (!expr.startsWith('$')) return 'must start with "$"';
  if (expr.length > 1000) return 'must be at most 1000 characters';
  if (!balanced(expr)) return 'has unbalanced brackets or quotes';
  const split = splitFilters(expr);
  if (typeof split === 'string') return split;
  if (/[()]/.test(split.rest)) return 'script expressions are not allowed (filter expressions [?(...)] are)';
  for (const body of split.filters) {
    const problem = checkFilter(body);
    if (problem) return problem;
  }
  try {
    JSONPath({ path: expr, json: {}, wrap: true, ...EVAL });
  } catch (e) {
    return `is not a valid JSONPath: ${(e as Error).message}`;
  }
  return null;
}

/** The bodies of the `[?(...)]` filters of `expr`, and `expr` without them (quoted names removed). */
function splitFilters(expr: string): { filters: string[]; rest: string } | string {
  const filters: string[] = [];
  let rest = '';
  let i = 0;
  while (i < expr.length) {
    const ch = expr[i] as string;
    if (ch === "'" || ch === '"') {
      const end = expr.indexOf(ch, i + 1);
      if (end < 0) return 'has unbalanced brackets or quotes';
      rest += ch + ch; // a quoted member name may contain anything, parentheses included
      i = end + 1;
    } else if (expr.startsWith('[?(', i)) {
      const end = filterEnd(expr, i + 3);
      if (end < 0) return 'has an unterminated filter expression (expected "[?( ... )]")';
      filters.push(expr.slice(i + 3, end));
      rest += '[?]';
      i = end + 2;
    } else {
      rest += ch;
      i++;
    }
  }
  return { filters, rest };
}

/** The index of the `)` that closes a filter opened just before `from` (followed by `]`), or -1. */
function filterEnd(expr: string, from: number): number {
  let depth = 1;
  let quote: string | null = null;
  for (let i = from; i < expr.length; i++) {
    const ch = expr[i];
    if (quote) {
      if (ch === '\\') i++;
      else if (ch === quote) quote = null;
    } else if (ch === "'" || ch === '"') quote = ch;
    else if (ch === '(') depth++;
    else if (ch === ')' && --depth === 0) return expr[i + 1] === ']' ? i : -1;
  }
  return -1;
}

/** Refuses what would make a filter more than a comparison: calls, assignments, several statements. */
function checkFilter(body: string): string | null {
  if (body.trim() === '') return 'has an empty filter expression';
  const code = body.replace(/'(?:\\.|[^'\\])*'|"(?:\\.|[^"\\])*"/g, '""');
  if (/[\w$@\])]\s*\(/.test(code)) return 'filter expressions may not call functions';
  if (/(^|[^=!<>])=(?!=)/.test(code) || /\+\+|--/.test(code)) return 'filter expressions may not assign';
  if (/[;,{}`]/.test(code)) return 'filter expressions must be a single comparison';
  try {
    // Compiles the filter (a syntax error throws here) by running it once on a probe.
    JSONPath({ path: `$[?(${body})]`, json: [{}], wrap: true, ...EVAL });
  } catch (e) {
    return `has an invalid filter expression: ${(e as Error).message}`;
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
  const result: unknown = JSONPath({ path: expr, json: json as object, wrap: true, ...EVAL });
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
