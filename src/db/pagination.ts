import { AppError } from '../errors/app-error';

/** Opaque keyset cursor over (createdAt, id), newest first. */
export interface Cursor {
  createdAt: Date;
  id: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(`${c.createdAt.toISOString()}|${c.id}`).toString('base64url');
}

export function decodeCursor(raw: string | undefined): Cursor | undefined {
  if (!raw) return undefined;
  const [at, id] = Buffer.from(raw, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (!id || Number.isNaN(createdAt.getTime()) || !/^[0-9a-f-]{36}$/i.test(id)) {
    throw AppError.validation([{ path: 'query.cursor', message: 'is not a valid cursor' }]);
  }
  return { createdAt, id };
}

/** Prisma `where` fragment for rows after the cursor in (createdAt desc, id desc) order. */
export function afterCursor(c: Cursor | undefined) {
  if (!c) return {};
  return { OR: [{ createdAt: { lt: c.createdAt } }, { createdAt: c.createdAt, id: { lt: c.id } }] };
}

export const newestFirst = [{ createdAt: 'desc' as const }, { id: 'desc' as const }];

/** Takes limit+1 rows; returns the page and the cursor of the next one. */
export function page<T extends { createdAt: Date; id: string }, R>(rows: T[], limit: number, map: (r: T) => R) {
  const hasMore = rows.length > limit;
  const items = hasMore ? rows.slice(0, limit) : rows;
  const last = items[items.length - 1];
  return { data: items.map(map), nextCursor: hasMore && last ? encodeCursor(last) : null };
}
