import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { currentOpenApiDocument } from '../../api/openapi-document';
import { FAILURE_CODE_INFO, FAILURE_CODES, failure, isFailureCode } from './failure-codes';

const ROOT = path.resolve(__dirname, '..', '..');
const SCANNED = ['activities', 'workflows', 'src', 'api'];
const THIS_MODULE = path.join('src', 'shared', 'failure-codes.ts');

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const full = path.join(dir, name);
    if (name === 'node_modules' || name === 'generated') continue;
    if (statSync(full).isDirectory()) out.push(...sourceFiles(full));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts') && !name.endsWith('.d.ts')) out.push(full);
  }
  return out;
}

/** Every way this code base could make a failure code, and what is wrong with each (empty: nothing). */
function failureCodeProblems(file: string, text: string): string[] {
  const problems: string[] = [];
  const line = (index: number) => text.slice(0, index).split('\n').length;
  if (file !== THIS_MODULE) {
    for (const m of text.matchAll(
      /ApplicationFailure\s*\.\s*(create|nonRetryable|retryable|fromError)\s*\(|new\s+ApplicationFailure\s*\(/g,
    )) {
      problems.push(
        `${file}:${line(m.index)} makes an ApplicationFailure directly; use failure() from src/shared/failure-codes.ts`,
      );
    }
  }
  for (const m of text.matchAll(/\bfailure\(\s*'([^']*)'/g)) {
    if (!isFailureCode(m[1])) problems.push(`${file}:${line(m.index)} failure('${m[1]}') is not a failure code`);
  }
  // Run and step errors written as objects (`{code: 'cancelled', message}`); the API's own error codes
  // (AppError, src/errors/codes.ts) are another set and are made with `new AppError(...)`, not here.
  if (!file.startsWith('api')) {
    for (const m of text.matchAll(/\bcode:\s*'([^']*)'/g)) {
      if (m[1] !== 'custom' && !isFailureCode(m[1]))
        problems.push(`${file}:${line(m.index)} code '${m[1]}' is not a failure code`);
    }
  }
  return problems;
}

/** Every `enum` of a `code` property next to a `message` property: the failure objects the document describes. */
function codeEnums(node: unknown, out: unknown[][] = []): unknown[][] {
  if (Array.isArray(node)) node.forEach((n) => codeEnums(n, out));
  else if (node && typeof node === 'object') {
    const props = (node as { properties?: Record<string, { enum?: unknown[] }> }).properties;
    if (props?.code?.enum && props.message) out.push(props.code.enum);
    Object.values(node).forEach((n) => codeEnums(n, out));
  }
  return out;
}

describe('the closed set of failure codes', () => {
  it('is what the OpenAPI document lists for run and step errors', () => {
    const doc = currentOpenApiDocument();
    const run =
      doc.paths['/api/runners/{id}/runs/{runId}']?.get?.responses['200']?.content?.['application/json']?.schema;
    const enums = codeEnums(run);
    // the run's error and each step result's error
    expect(enums.length).toBeGreaterThanOrEqual(2);
    for (const e of enums) expect([...e].sort()).toEqual([...FAILURE_CODES].sort());
    for (const e of codeEnums(doc)) expect([...e].sort()).toEqual([...FAILURE_CODES].sort());
  });

  it('is made only through failure(), and no source file uses a code outside the set', () => {
    const files = SCANNED.flatMap((d) => sourceFiles(path.join(ROOT, d)));
    expect(files.length).toBeGreaterThan(100);
    const problems = files.flatMap((f) => failureCodeProblems(path.relative(ROOT, f), readFileSync(f, 'utf8')));
    expect(problems).toEqual([]);
    // the scan does see the real call sites
    const calls = files.map((f) => readFileSync(f, 'utf8').match(/\bfailure\(\s*'/g)?.length ?? 0);
    expect(calls.reduce((a, b) => a + b, 0)).toBeGreaterThan(20);
  });

  it('the scan catches a failure made another way or with an unknown code', () => {
    const bad = [
      "throw ApplicationFailure.create({ type: 'oops', nonRetryable: true });",
      "throw ApplicationFailure.nonRetryable('x', 'webhook_timeout');",
      "throw new ApplicationFailure('x');",
      "throw failure('not_a_code', 'x');",
      "const error = { code: 'made_up', message: 'x' };",
    ].join('\n');
    expect(failureCodeProblems('activities/x.ts', bad)).toHaveLength(5);
    expect(
      failureCodeProblems('activities/x.ts', "throw failure('webhook_timeout', 'x', { retryable: true });"),
    ).toEqual([]);
  });

  it('makes permanent failures unless told otherwise', () => {
    const f = failure('webhook_http_error', 'HTTP 503', { retryable: true, details: [{ status: 503 }] });
    expect(f.type).toBe('webhook_http_error');
    expect(f.nonRetryable).toBe(false);
    expect(f.details).toEqual([{ status: 503 }]);
    expect(failure('sandbox_timeout', 'slow').nonRetryable).toBe(true);
  });

  it('is documented in docs/failure-codes.md, one row per code', () => {
    const md = readFileSync(path.join(ROOT, 'docs', 'failure-codes.md'), 'utf8');
    const rows = [...md.matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
    expect([...rows].sort()).toEqual([...FAILURE_CODES].sort());
    for (const code of FAILURE_CODES) expect(md).toContain(FAILURE_CODE_INFO[code].meaning);
  });
});
