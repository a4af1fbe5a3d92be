import { z } from 'zod';
import { RUN_STATUSES } from './status';

/** Most items one bulk request may carry. */
export const BULK_MAX_ITEMS = 10_000;

/**
 * The envelope only: each item is checked on its own by the service (an invalid item is reported with
 * its index, never a reason to refuse the valid ones).
 */
export const bulkRunCreateSchema = z
  .object({
    items: z
      .array(z.unknown().describe('{input, idempotencyKey?} — the body of POST /api/runners/:id/runs'))
      .min(1)
      .max(BULK_MAX_ITEMS, `at most ${BULK_MAX_ITEMS} items per request`),
  })
  .strict();

export const bulkRunResponseSchema = z.object({
  data: z.array(z.object({ id: z.string(), status: z.enum(RUN_STATUSES), idempotencyKey: z.string().nullable() })),
  created: z.number().int(),
  existing: z.number().int(),
  invalid: z.array(z.object({ index: z.number().int(), field: z.string(), message: z.string() })),
});

export const BULK_STATUS_MAX_IDS = 1_000;

export const bulkRunStatusQuerySchema = z.object({ ids: z.array(z.uuid()).min(1).max(BULK_STATUS_MAX_IDS) }).strict();

export const bulkRunStatusResponseSchema = z.object({
  data: z.array(
    z.object({
      id: z.string(),
      status: z.enum(RUN_STATUSES),
      error: z.unknown().nullable(),
      completedAt: z.string().nullable(),
    }),
  ),
});
