import { describe, expect, it } from '@jest/globals';
import {
  appendLesson,
  cleanLesson,
  isDuplicateLesson,
  LESSON_LIMITS,
  LESSONS_HEADER,
  reflectionPrompt,
  splitLessons,
} from './reflect';

describe('cleanLesson', () => {
  it('keeps the first non-empty line without bullets, labels or quotes', () => {
    expect(cleanLesson('\n- "Check that the URL is absolute before calling the API."\nmore')).toBe(
      'Check that the URL is absolute before calling the API.',
    );
    expect(cleanLesson('Lesson: Retry with a smaller page size')).toBe('Retry with a smaller page size');
    expect(cleanLesson('2) Use ISO dates')).toBe('Use ISO dates');
  });
  it('treats NONE and empty answers as no lesson', () => {
    expect(cleanLesson('NONE')).toBeNull();
    expect(cleanLesson('none.')).toBeNull();
    expect(cleanLesson('   ')).toBeNull();
    expect(cleanLesson(null)).toBeNull();
  });
  it('caps a long lesson', () => {
    const out = cleanLesson('x'.repeat(1000));
    expect(out?.length).toBe(LESSON_LIMITS.lessonChars);
    expect(out?.endsWith('…')).toBe(true);
  });
});

describe('appendLesson', () => {
  it('starts a lessons section after the user text', () => {
    const r = appendLesson('Always answer in French.', 'Validate the order id first.');
    expect(r.added).toBe(true);
    expect(r.text).toBe(`Always answer in French.\n\n${LESSONS_HEADER}\n- Validate the order id first.`);
    expect(appendLesson(null, 'A lesson here').text).toBe(`${LESSONS_HEADER}\n- A lesson here`);
  });
  it('appends to an existing section and round-trips through splitLessons', () => {
    const one = appendLesson('Base.', 'First lesson.').text;
    const two = appendLesson(one, 'Second lesson.').text;
    expect(splitLessons(two)).toEqual({ head: 'Base.', lessons: ['First lesson.', 'Second lesson.'] });
  });
  it('skips duplicates, ignoring case, punctuation and spacing', () => {
    const one = appendLesson('', 'Validate the order id before the lookup.').text;
    const again = appendLesson(one, '  validate THE order-id before the lookup!! ');
    expect(again.added).toBe(false);
    expect(again.text).toBe(one);
    expect(
      isDuplicateLesson('Validate the order id before the lookup, always', ['Validate the order id before the lookup']),
    ).toBe(true);
    expect(isDuplicateLesson('Use metric units', ['Use imperial units'])).toBe(false);
  });
  it('keeps at most maxLessons, dropping the oldest, never the user text', () => {
    let text: string = 'User rule.';
    for (let i = 0; i < LESSON_LIMITS.maxLessons + 5; i++)
      text = appendLesson(text, `Lesson number ${i} about topic ${i * 7}`).text;
    const { head, lessons } = splitLessons(text);
    expect(head).toBe('User rule.');
    expect(lessons).toHaveLength(LESSON_LIMITS.maxLessons);
    expect(lessons[0]).toBe('Lesson number 5 about topic 35');
  });
  it('stays within the total cap', () => {
    const head = 'h'.repeat(LESSON_LIMITS.totalChars - 400);
    let text = head;
    for (let i = 0; i < 5; i++) text = appendLesson(text, `${'Lesson '.repeat(20)}${i}`).text;
    expect(text.length).toBeLessThanOrEqual(LESSON_LIMITS.totalChars);
    expect(text.startsWith(head)).toBe(true);
    expect(splitLessons(text).lessons.at(-1)?.endsWith('4')).toBe(true);
  });
});

describe('reflectionPrompt', () => {
  it('names the step, the error and the known lessons', () => {
    const p = reflectionPrompt(
      {
        runnerName: 'Orders',
        stepName: 'lookup',
        stepKind: 'agent',
        errorCode: 'output_schema_mismatch',
        errorMessage: 'missing total',
        stepInput: { id: 7 },
      },
      ['Be careful'],
    );
    expect(p.system).toMatch(/one short lesson/);
    expect(p.user).toContain('Failed step: lookup (agent)');
    expect(p.user).toContain('output_schema_mismatch: missing total');
    expect(p.user).toContain('{"id":7}');
    expect(p.user).toContain('- Be careful');
  });
});
