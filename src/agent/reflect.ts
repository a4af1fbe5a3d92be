/**
 * `reflectOnFailure`: after a failed run of a runner that opted in, the model is asked for one short
 * lesson, which is appended to the runner's `learnedInstructions` (so every later agent step reads it).
 *
 * Lessons live in a section of their own at the end of `learnedInstructions`:
 *
 *     <whatever the user wrote>
 *
 *     Lessons from failed runs:
 *     - <lesson>
 *     - <lesson>
 *
 * - one lesson per failed run, at most `LESSON_LIMITS.lessonChars` characters, on one line;
 * - deduplicated: a lesson whose normalized text (case, punctuation and spacing ignored) equals or
 *   contains, or is contained in, an existing lesson is not added;
 * - capped: at most `LESSON_LIMITS.maxLessons` lessons, and the whole field within
 *   `LESSON_LIMITS.totalChars` (the API's own limit); the oldest lessons go first, the user's own text
 *   is never cut.
 *
 * The text stays plain and editable through `PATCH /api/runners/:id` (edit or delete lessons freely; a
 * missing header just starts a new section).
 */

export const LESSONS_HEADER = 'Lessons from failed runs:';
export const LESSON_LIMITS = { lessonChars: 300, maxLessons: 20, totalChars: 50_000 } as const;

export interface FailureFacts {
  runnerName: string;
  stepName?: string | null;
  stepKind?: string | null;
  errorCode: string;
  errorMessage: string;
  stepInput?: unknown;
}

const clipText = (s: string, n: number): string => (s.length > n ? `${s.slice(0, n)}…` : s);

/** The system prompt and user message that ask for one lesson. */
export function reflectionPrompt(
  f: FailureFacts,
  existingLessons: readonly string[],
): { system: string; user: string } {
  const system =
    'You review failed runs of an automated AI pipeline. Reply with exactly one short lesson (one sentence, at most ' +
    `${LESSON_LIMITS.lessonChars - 50} characters): an instruction for the pipeline's AI steps that would help future runs avoid ` +
    'this failure. Reply with the lesson alone, no preface. If nothing useful can be learned, or the lesson is already ' +
    'known, reply NONE.';
  let input = '';
  if (f.stepInput !== undefined) {
    try {
      input = clipText(JSON.stringify(f.stepInput), 2_000);
    } catch {
      input = '(not serializable)';
    }
  }
  const user = [
    `Pipeline: ${f.runnerName}`,
    f.stepName
      ? `Failed step: ${f.stepName}${f.stepKind ? ` (${f.stepKind})` : ''}`
      : 'The run failed before or between steps.',
    `Error: ${f.errorCode}: ${clipText(f.errorMessage, 2_000)}`,
    input ? `Step input: ${input}` : '',
    existingLessons.length ? `Known lessons:\n${existingLessons.map((l) => `- ${l}`).join('\n')}` : '',
  ]
    .filter(Boolean)
    .join('\n');
  return { system, user };
}

/** The lesson in a model's answer: one line, no bullet or quotes, capped; null for NONE or nothing. */
export function cleanLesson(answer: string | null | undefined): string | null {
  if (!answer) return null;
  const line = answer
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '');
  if (!line) return null;
  let s = line
    .replace(/^(?:[-*•]\s+|\d+[.)]\s+)/, '')
    .replace(/^lesson\s*:\s*/i, '')
    .trim()
    .replace(/^["'`“”]+|["'`“”]+$/g, '')
    .trim();
  if (/^none\b[.!]?$/i.test(s) || s === '') return null;
  s = s.replace(/\s+/g, ' ');
  if (s.length > LESSON_LIMITS.lessonChars) s = `${s.slice(0, LESSON_LIMITS.lessonChars - 1).trimEnd()}…`;
  return s;
}

const norm = (s: string): string =>
  s
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/** Splits `learnedInstructions` into the user's own text and the lessons section. */
export function splitLessons(text: string | null | undefined): { head: string; lessons: string[] } {
  const t = text ?? '';
  const at = t.lastIndexOf(LESSONS_HEADER);
  if (at < 0) return { head: t.trim(), lessons: [] };
  const lessons = t
    .slice(at + LESSONS_HEADER.length)
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('- '))
    .map((l) => l.slice(2).trim())
    .filter(Boolean);
  return { head: t.slice(0, at).trim(), lessons };
}

export function isDuplicateLesson(lesson: string, existing: readonly string[]): boolean {
  const n = norm(lesson);
  if (!n) return true;
  return existing.some((e) => {
    const m = norm(e);
    return m === n || (m.length >= 20 && n.includes(m)) || (n.length >= 20 && m.includes(n));
  });
}

/**
 * `learnedInstructions` with `lesson` appended (or unchanged, with `added: false`, when it is a
 * duplicate), within the caps.
 */
export function appendLesson(current: string | null | undefined, lesson: string): { text: string; added: boolean } {
  const { head, lessons } = splitLessons(current);
  if (isDuplicateLesson(lesson, lessons) || (head && norm(head).includes(norm(lesson)))) {
    return { text: current ?? '', added: false };
  }
  const next = [...lessons, lesson];
  const render = (ls: string[]): string =>
    [head, ls.length ? `${LESSONS_HEADER}\n${ls.map((l) => `- ${l}`).join('\n')}` : ''].filter(Boolean).join('\n\n');
  while (next.length > LESSON_LIMITS.maxLessons) next.shift();
  let text = render(next);
  while (text.length > LESSON_LIMITS.totalChars && next.length > 1) {
    next.shift();
    text = render(next);
  }
  if (text.length > LESSON_LIMITS.totalChars) return { text: current ?? '', added: false };
  return { text, added: true };
}
