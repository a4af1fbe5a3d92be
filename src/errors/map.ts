import { AppError } from './app-error';

const CONNECTION_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EHOSTUNREACH',
  '57P01',
  '57P03',
]);

function findCode(e: unknown, depth = 0): string | undefined {
  if (!e || typeof e !== 'object' || depth > 4) return undefined;
  const o = e as { code?: unknown; cause?: unknown; errno?: unknown };
  if (typeof o.code === 'string' && (CONNECTION_CODES.has(o.code) || /^P1\d{3}$/.test(o.code))) return o.code;
  return findCode(o.cause, depth + 1);
}

/** The message of a body the JSON parser refused: valid JSON that is not an object or array says so. */
function parseFailure(body: unknown): string {
  if (typeof body === 'string') {
    try {
      const v: unknown = JSON.parse(body);
      return `Request body must be a JSON object or array, not ${v === null ? 'null' : typeof v}`;
    } catch {
      // not JSON at all
    }
  }
  return 'Request body is not valid JSON';
}

/**
 * Maps anything thrown to an AppError: body-parser errors, Prisma known errors, database and Temporal
 * connectivity, and finally an opaque `internal` error whose message says nothing about internals.
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as { type?: string; status?: number; code?: string; name?: string; message?: string };
  if (e?.type === 'entity.parse.failed')
    return new AppError('invalid_json', parseFailure((err as { body?: unknown }).body));
  if (e?.type === 'entity.too.large') return new AppError('payload_too_large', 'Request body is too large');
  if (e?.type === 'encoding.unsupported' || e?.type === 'charset.unsupported')
    return new AppError('unsupported_media_type', 'Unsupported request encoding');
  if (e?.name === 'PrismaClientKnownRequestError') {
    if (e.code === 'P2002') return new AppError('conflict', 'A resource with these unique fields already exists');
    if (e.code === 'P2025') return new AppError('not_found', 'Resource not found');
    if (e.code === 'P2003') return new AppError('not_found', 'A referenced resource was not found');
    if (e.code === 'P2024' || /^P1\d{3}$/.test(e.code ?? '')) return AppError.unavailable('The database', err);
  }
  if (e?.name === 'PrismaClientInitializationError' || e?.name === 'DriverAdapterError' || findCode(err)) {
    return AppError.unavailable('The database', err);
  }
  if (e?.name === 'ServiceError' || e?.name === 'TransportError') return AppError.unavailable('Temporal', err);
  if (
    typeof e?.message === 'string' &&
    /Can't reach database|Connection terminated|connect ECONNREFUSED|timeout exceeded when trying to connect/i.test(
      e.message,
    )
  ) {
    return AppError.unavailable('The database', err);
  }
  return new AppError('internal', 'Internal server error', { cause: err });
}
