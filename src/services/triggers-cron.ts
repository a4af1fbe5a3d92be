import { CronExpressionParser } from 'cron-parser';
import { AppError } from '../errors/app-error';
import { checkCronExpression, normalizeCron } from '../shared/trigger-schemas';

/** Cron expressions beyond their shape: parsed with cron-parser, and their next fire times in a zone. */

/** Why an expression is unusable (shape, then cron-parser's verdict), or null. */
export function cronProblem(expr: string): string | null {
  const shape = checkCronExpression(expr);
  if (shape) return shape;
  try {
    CronExpressionParser.parse(normalizeCron(expr), { tz: 'UTC', strict: false });
  } catch (e) {
    return `is not a valid cron expression: ${(e as Error).message}`;
  }
  return null;
}

/** 422 naming `cronExpression` and saying why, when the expression is unusable. */
export function assertCronExpression(expr: string): void {
  const problem = cronProblem(expr);
  if (problem) throw AppError.validation([{ path: 'cronExpression', message: problem }]);
}

/** `2026-03-08T03:00:00-04:00`: an instant written in the wall-clock time and offset of `tz`. */
export function formatInZone(d: Date, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    timeZoneName: 'longOffset',
  }).formatToParts(d);
  const get = (t: string) => parts.find((p) => p.type === t)?.value ?? '';
  const off = get('timeZoneName').replace(/^GMT/, '');
  const offset = off === '' ? '+00:00' : off;
  return `${get('year')}-${get('month')}-${get('day')}T${get('hour')}:${get('minute')}:${get('second')}${offset}`;
}

/** The next `count` fire times after `from`, in the trigger's zone (DST shows in the offsets). */
export function nextFireTimes(expr: string, tz: string, count = 5, from: Date = new Date()): string[] {
  const it = CronExpressionParser.parse(normalizeCron(expr), { tz, currentDate: from });
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(formatInZone(it.next().toDate(), tz));
  return out;
}
