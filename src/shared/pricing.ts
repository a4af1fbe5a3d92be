/**
 * The price table of LLM calls: pure data and two pure functions, safe inside workflows (the budget
 * check reserves a call's worst-case cost with it) and in activities (the cost ledger).
 *
 * Prices are USD per million tokens, from the providers' public price lists on the date of
 * `PRICE_TABLE_VERSION` (standard tier, prompts under the long-context threshold). Operators
 * override or add models with `FLAPJACK_MODEL_PRICES` (JSON, parsed once in `main`, see
 * `parsePriceOverrides`). A model with no price is `null`: its calls are recorded with cost `null`
 * and flagged on the step, never counted as 0.
 *
 * Usage convention (`costOf`): `inputTokens` counts every prompt token, cached ones included;
 * `cachedTokens` is the part of them read from the provider's prompt cache (billed at the cached rate).
 */

export const PRICE_TABLE_VERSION = '2026-11-29';

export interface ModelPrice {
  /** USD per million prompt tokens. */
  input: number;
  /** USD per million prompt tokens read from the cache (defaults to `input` when a provider has none). */
  cachedInput: number;
  /** USD per million output tokens (reasoning tokens included). */
  output: number;
}

/** Operator overrides: model name (exact, or as normalized by `priceOf`) → price. */
export type PriceOverrides = Readonly<Record<string, ModelPrice>>;

const p = (input: number, cachedInput: number, output: number): ModelPrice =>
  Object.freeze({ input, cachedInput, output });

/** The built-in table. Keys are canonical model names (no provider prefix, no date suffix). */
export const PRICE_TABLE: Readonly<Record<string, ModelPrice>> = Object.freeze({
  // OpenAI — GPT-5.5 / 5.4 family
  'gpt-5.5': p(5, 0.5, 30),
  'gpt-5.5-pro': p(30, 30, 180),
  'gpt-5.4': p(2.5, 0.25, 15),
  'gpt-5.4-mini': p(0.75, 0.075, 4.5),
  'gpt-5.4-nano': p(0.2, 0.02, 1.25),
  'gpt-5.4-pro': p(30, 30, 180),
  // OpenAI — GPT-5.2 / 5.1 / 5
  'gpt-5.2': p(1.75, 0.175, 14),
  'gpt-5.2-pro': p(21, 21, 168),
  'gpt-5.1': p(1.25, 0.125, 10),
  'gpt-5': p(1.25, 0.125, 10),
  'gpt-5-mini': p(0.25, 0.025, 2),
  'gpt-5-nano': p(0.05, 0.005, 0.4),
  'gpt-5-pro': p(15, 15, 120),
  // OpenAI — GPT-4.1 / 4o
  'gpt-4.1': p(2, 0.5, 8),
  'gpt-4.1-mini': p(0.4, 0.1, 1.6),
  'gpt-4.1-nano': p(0.1, 0.025, 0.4),
  'gpt-4o': p(2.5, 1.25, 10),
  'gpt-4o-mini': p(0.15, 0.075, 0.6),
  // OpenAI — reasoning models
  o1: p(15, 7.5, 60),
  'o1-mini': p(1.1, 0.55, 4.4),
  'o1-pro': p(150, 150, 600),
  o3: p(2, 0.5, 8),
  'o3-mini': p(1.1, 0.55, 4.4),
  'o3-pro': p(20, 20, 80),
  'o4-mini': p(1.1, 0.275, 4.4),
  // Anthropic — Claude 4.x (cache reads at 10% of input)
  'claude-opus-4-8': p(5, 0.5, 25),
  'claude-opus-4-7': p(5, 0.5, 25),
  'claude-opus-4-6': p(5, 0.5, 25),
  'claude-opus-4-5': p(5, 0.5, 25),
  'claude-opus-4-1': p(15, 1.5, 75),
  'claude-opus-4-0': p(15, 1.5, 75),
  'claude-opus-4': p(15, 1.5, 75),
  'claude-sonnet-4-6': p(3, 0.3, 15),
  'claude-sonnet-4-5': p(3, 0.3, 15),
  'claude-sonnet-4-0': p(3, 0.3, 15),
  'claude-sonnet-4': p(3, 0.3, 15),
  'claude-haiku-4-5': p(1, 0.1, 5),
  // Anthropic — Claude 3.x still served
  'claude-3-7-sonnet': p(3, 0.3, 15),
  'claude-3-5-haiku': p(0.8, 0.08, 4),
  'claude-3-haiku': p(0.25, 0.03, 1.25),
});

/** `openai/gpt-5.4` → `gpt-5.4`; `claude-sonnet-4-5-20250929` → `claude-sonnet-4-5`; `gpt-4o-2024-08-06` → `gpt-4o`. */
export function canonicalModelName(model: string): string {
  let m = model.trim().toLowerCase();
  const slash = m.indexOf('/');
  if (slash > 0 && (m.startsWith('openai/') || m.startsWith('anthropic/'))) m = m.slice(slash + 1);
  m = m.replace(/-latest$/, '');
  m = m.replace(/-\d{4}-\d{2}-\d{2}$/, '').replace(/-\d{8}$/, '');
  return m;
}

function lookup(table: Readonly<Record<string, ModelPrice>>, name: string): ModelPrice | null {
  return Object.prototype.hasOwnProperty.call(table, name) ? (table[name] ?? null) : null;
}

/**
 * The price of `model`, or null when neither the overrides nor the table know it. Overrides win, by
 * the exact name first, then by the canonical name.
 */
export function priceOf(model: string, overrides?: PriceOverrides): ModelPrice | null {
  if (!model) return null;
  const canonical = canonicalModelName(model);
  if (overrides) {
    const o = lookup(overrides, model) ?? lookup(overrides, model.trim().toLowerCase()) ?? lookup(overrides, canonical);
    if (o) return o;
  }
  return lookup(PRICE_TABLE, canonical);
}

/** USD cost of one call's usage (rounded to 1e-8, the ledger's precision). */
export function costOf(
  price: ModelPrice,
  usage: { inputTokens: number; outputTokens: number; cachedTokens: number },
): number {
  const cached = Math.max(0, Math.min(usage.cachedTokens, usage.inputTokens));
  const fresh = Math.max(0, usage.inputTokens - cached);
  const usd =
    (fresh * price.input + cached * price.cachedInput + Math.max(0, usage.outputTokens) * price.output) / 1_000_000;
  return Math.round(usd * 1e8) / 1e8;
}

/** Worst case of a call before it is made: every prompt token uncached, every allowed output token used. */
export function worstCaseCostOf(
  price: ModelPrice | null,
  promptTokens: number,
  maxOutputTokens: number,
): number | null {
  return price ? costOf(price, { inputTokens: promptTokens, outputTokens: maxOutputTokens, cachedTokens: 0 }) : null;
}

/**
 * Parses `FLAPJACK_MODEL_PRICES`: a JSON object of model → `{input, output, cachedInput?}` (USD per
 * million tokens, non-negative). Throws an Error naming the bad entry.
 */
export function parsePriceOverrides(raw: string | undefined): PriceOverrides {
  if (!raw || !raw.trim()) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    throw new Error(`FLAPJACK_MODEL_PRICES is not valid JSON: ${(e as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new Error('FLAPJACK_MODEL_PRICES must be a JSON object of model name → {input, output, cachedInput?}');
  }
  const out: Record<string, ModelPrice> = {};
  const num = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
  for (const [model, v] of Object.entries(parsed as Record<string, unknown>)) {
    const e = v as { input?: unknown; output?: unknown; cachedInput?: unknown } | null;
    if (
      !e ||
      typeof e !== 'object' ||
      !num(e.input) ||
      !num(e.output) ||
      (e.cachedInput !== undefined && !num(e.cachedInput))
    ) {
      throw new Error(
        `FLAPJACK_MODEL_PRICES["${model}"] must be {input, output, cachedInput?} with non-negative numbers (USD per million tokens)`,
      );
    }
    out[model.trim().toLowerCase()] = p(e.input, num(e.cachedInput) ? e.cachedInput : e.input, e.output);
  }
  return Object.freeze(out);
}
