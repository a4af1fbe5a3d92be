import { z } from 'zod';

const API_KEY_RE = /^fj_live_[A-Za-z0-9_-]{24,}$/;

const csv = z
  .string()
  .optional()
  .transform((v) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );

/** Every environment variable the processes read, parsed once in each `main`. */
export const envSchema = z.object({
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  DATABASE_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || /^postgres(ql)?:\/\//.test(v), {
      message: 'must be a postgres:// or postgresql:// URL',
    }),
  TEMPORAL_ADDRESS: z.string().optional(),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('flapjack-runs'),
  TEMPORAL_API_KEY: z.string().optional(),
  TEMPORAL_TLS: z
    .enum(['true', 'false'])
    .optional()
    .transform((v) => v === 'true'),
  TEMPORAL_TLS_CERT_PATH: z.string().optional(),
  TEMPORAL_TLS_KEY_PATH: z.string().optional(),
  TEMPORAL_TLS_CA_PATH: z.string().optional(),
  TEMPORAL_UI_URL: z.string().optional(),
  FLAPJACK_BOOTSTRAP_API_KEY: z
    .string()
    .optional()
    .refine((v) => v === undefined || API_KEY_RE.test(v), {
      message: 'must be fj_live_ followed by at least 24 characters of [A-Za-z0-9_-]',
    }),
  FLAPJACK_EGRESS_ALLOWLIST: csv,
  FLAPJACK_SECRET_KEY: z.string().optional(),
  FLAPJACK_PUBLIC_URL: z.string().url().optional(),
  /** What `src/bin/server.ts` runs: `api`, `worker` or both (default) in one process (docs/run-shape.md). */
  FLAPJACK_ROLES: z.string().optional(),
  /** Per-API-key request rate limit of the API (token bucket): sustained requests/s and burst. */
  FLAPJACK_RATE_LIMIT_PER_SEC: z.coerce.number().positive().default(200),
  FLAPJACK_RATE_LIMIT_BURST: z.coerce.number().int().positive().default(1000),
  FLAPJACK_RECONCILE_INTERVAL_MS: z.coerce.number().int().min(100).default(15_000),
  /**
   * `false` behind a transaction-mode pooler (PgBouncer `pool_mode = transaction`): the run path's statements
   * are then sent in full every time instead of prepared once per connection (src/db/sql-batch.ts).
   */
  FLAPJACK_DB_PREPARED_STATEMENTS: z
    .enum(['true', 'false'])
    .default('true')
    .transform((v) => v === 'true'),
  /**
   * Workflow executions the worker keeps in memory between their tasks (LRU; the rest replay from
   * history when they next have work). Bounds the memory of idle runs, e.g. runs paused on their budget.
   */
  FLAPJACK_WORKER_MAX_CACHED_WORKFLOWS: z.coerce.number().int().min(0).max(100_000).default(1000),
  /** How often the worker logs its memory and cached workflow count (`worker stats`, info); 0: never. */
  FLAPJACK_WORKER_STATS_INTERVAL_MS: z.coerce.number().int().min(0).default(60_000),
  /** Embedding model for knowledge vector search (OpenAI-compatible `/embeddings` at OPENAI_BASE_URL). */
  FLAPJACK_EMBEDDING_MODEL: z.string().min(1).optional(),
  /** A SearXNG-compatible JSON search endpoint for the agents' web tools; unset: no web tools offered. */
  FLAPJACK_WEB_SEARCH_URL: z.string().url().optional(),

  /** Where the MCP stdio server (and the SDK) find the API, and the key they use. */
  FLAPJACK_BASE_URL: z.string().url().optional(),
  FLAPJACK_API_KEY: z.string().optional(),
  OPENAI_API_KEY: z.string().optional(),
  OPENAI_BASE_URL: z.string().url().optional(),
  ANTHROPIC_API_KEY: z.string().optional(),
  ANTHROPIC_BASE_URL: z.string().url().optional(),
  /** JSON object of model → {input, output, cachedInput?} in USD per million tokens (see src/shared/pricing.ts). */
  FLAPJACK_MODEL_PRICES: z.string().optional(),
  /** Model calls allowed per agent step. */
  FLAPJACK_AGENT_MAX_ITERATIONS: z.coerce.number().int().min(1).max(200).default(10),
  /** `max_tokens` of each model call of an agent step. */
  FLAPJACK_AGENT_MAX_TOKENS: z.coerce.number().int().min(16).max(1_000_000).default(4096),
});

export type Env = z.infer<typeof envSchema>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses the environment; throws a ConfigError whose message names every bad variable on one line. */
export function loadEnv(source: NodeJS.ProcessEnv = process.env): Env {
  const cleaned: Record<string, string | undefined> = {};
  for (const [k, v] of Object.entries(source)) cleaned[k] = v === '' ? undefined : v;
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const parts = parsed.error.issues.map((i) => `${i.path.join('.')} ${i.message}`);
    throw new ConfigError(`Invalid environment: ${parts.join('; ')}`);
  }
  return parsed.data;
}

export { API_KEY_RE };
