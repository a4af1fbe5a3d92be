/** The result of a chaos scenario: facts (counts, timings) and checks, printed as one Markdown table. */

export interface Check {
  what: string;
  value: string | number;
  /** What a correct system shows; empty for plain facts. */
  expected?: string | number;
  ok?: boolean;
}

export interface ScenarioReport {
  title: string;
  command: string;
  rows: Check[];
  /** Every check held. */
  passed: boolean;
}

/** A check that holds when `value` equals `expected`. */
export const expectEq = (what: string, value: number, expected: number): Check => ({
  what,
  value,
  expected,
  ok: value === expected,
});

/** A fact: shown, never failing. */
export const fact = (what: string, value: string | number): Check => ({ what, value });

export function report(title: string, command: string, rows: Check[]): ScenarioReport {
  return { title, command, rows, passed: rows.every((r) => r.ok !== false) };
}

/** The table as Markdown (readable in a terminal, pasted as is into docs/RELIABILITY.md). */
export function formatReport(r: ScenarioReport): string {
  const cell = (v: unknown) => String(v ?? '').replace(/\|/g, '\\|');
  const lines = [
    `### ${r.title} — ${r.passed ? 'PASS' : 'FAIL'}`,
    '',
    `\`${r.command}\``,
    '',
    '| check | value | expected | ok |',
    '| --- | ---: | ---: | :---: |',
    ...r.rows.map(
      (c) =>
        `| ${cell(c.what)} | ${cell(c.value)} | ${cell(c.expected ?? '')} | ${c.ok === undefined ? '' : c.ok ? 'yes' : '**NO**'} |`,
    ),
  ];
  return lines.join('\n');
}
