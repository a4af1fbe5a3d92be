import { describe, expect, it } from '@jest/globals';
import { cronProblem, nextFireTimes } from './triggers-cron';

describe('cron expressions', () => {
  it('shows next fire times in the trigger zone, with the DST change visible in the offsets', () => {
    // New York springs forward on 2027-03-14: 02:30 does not exist that day.
    const times = nextFireTimes('30 9 * * *', 'America/New_York', 3, new Date('2027-03-13T00:00:00Z'));
    expect(times).toEqual(['2027-03-13T09:30:00-05:00', '2027-03-14T09:30:00-04:00', '2027-03-15T09:30:00-04:00']);
    // Paris falls back on 2026-10-25.
    const paris = nextFireTimes('0 9 * * 1', 'Europe/Paris', 2, new Date('2026-10-20T00:00:00Z'));
    expect(paris).toEqual(['2026-10-26T09:00:00+01:00', '2026-11-02T09:00:00+01:00']);
    expect(nextFireTimes('0 9 * * 1', 'Europe/Paris', 1, new Date('2026-10-13T00:00:00Z'))).toEqual([
      '2026-10-19T09:00:00+02:00',
    ]);
  });

  it('says why an expression is refused', () => {
    expect(cronProblem('* * *')).toMatch(/5 fields.*got 3/);
    expect(cronProblem('61 * * * *')).toMatch(/61/);
    expect(cronProblem('0 0 31 2 *')).toMatch(/day of month/);
    expect(cronProblem('0 0 L * *')).toMatch(/day-of-month field "L"/);
    expect(cronProblem('*/5 * * * *')).toBeNull();
    expect(cronProblem('0 9 * * MON-FRI')).toBeNull();
    expect(cronProblem('@daily')).toBeNull();
  });
});
