import { describe, expect, it } from '@jest/globals';
import { pollPlan } from '../shared/trigger-schemas';
import { compareCursor, extractPollItems } from './triggers-poll';

describe('poll item extraction', () => {
  const plan = pollPlan('generic', {
    toolName: 'list_events',
    itemsPath: '$.items',
    itemIdPath: '$.id',
    itemCursorPath: '$.seq',
  });
  const result = {
    items: [{ id: 'c', seq: 3 }, { id: 'a', seq: 1 }, { id: 'b', seq: 2 }, { id: 'b', seq: 2 }, { nope: true }],
  };

  it('takes items above the cursor, oldest first, deduplicated, and moves the cursor to the largest taken', () => {
    const r = extractPollItems(plan, result, 1);
    expect(r.items.map((i) => i.id)).toEqual(['b', 'c']);
    expect(r.cursorAfter).toBe(3);
    expect(r.skipped).toBe(1);
  });

  it('takes everything on the first poll and nothing when nothing is newer', () => {
    expect(extractPollItems(plan, result, null).items.map((i) => i.id)).toEqual(['a', 'b', 'c']);
    const none = extractPollItems(plan, result, 3);
    expect(none.items).toEqual([]);
    expect(none.cursorAfter).toBe(3);
  });

  it('github_new_prs: items are the top-level array, ids are PR numbers, cursors their created_at', () => {
    const gh = pollPlan('github_new_prs', { repo: 'octo/hello' });
    expect(gh.arguments).toMatchObject({ owner: 'octo', repo: 'hello', state: 'open' });
    const prs = [
      { number: 12, created_at: '2026-11-29T10:00:00Z', title: 'new' },
      { number: 11, created_at: '2026-11-28T10:00:00Z', title: 'old' },
    ];
    const r = extractPollItems(gh, prs, '2026-11-28T10:00:00Z');
    expect(r.items).toEqual([{ id: '12', input: prs[0] }]);
    expect(r.cursorAfter).toBe('2026-11-29T10:00:00Z');
  });

  it('compares numeric cursors as numbers and others as strings', () => {
    expect(compareCursor('10', '9')).toBeGreaterThan(0);
    expect(compareCursor('0010', '0009')).toBeGreaterThan(0);
    expect(compareCursor('2026-01-02', '2026-01-10')).toBeLessThan(0);
  });
});
