import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { useTestContext } from './harness';

const ctx = useTestContext();
const REPO = path.resolve(__dirname, '..');
let server: Server;
let baseUrl = '';
let dir = '';
const children = new Set<ReturnType<typeof spawn>>();

beforeAll(async () => {
  server = ctx.app.listen(0, '127.0.0.1');
  await new Promise<void>((r) => server.once('listening', () => r()));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  dir = await mkdtemp(path.join(os.tmpdir(), 'fj-cli-'));
});
afterAll(async () => {
  // Only left when a test timed out: stop npm and the CLI under it (their own process group).
  for (const c of children) if (c.pid) process.kill(-c.pid, 'SIGTERM');
  await new Promise((r) => server.close(r));
  await rm(dir, { recursive: true, force: true });
});

interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `npm run cli -- runs bulk …` as a real child process against the listening API. */
function cli(args: string[], stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '-s', 'cli', '--', 'runs', 'bulk', ...args], {
      cwd: REPO,
      env: { ...process.env, FLAPJACK_BASE_URL: baseUrl, FLAPJACK_API_KEY: ctx.keyA, FORCE_COLOR: '0' },
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    });
    children.add(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      children.delete(child);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin ?? '');
  });
}

async function makeRunner() {
  const r = await ctx.api.post('/api/runners', {
    name: `cli-${Math.random()}`,
    inputSchema: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] },
  });
  expect(r.status).toBe(201);
  const s = await ctx.api.post(`/api/runners/${r.body.id}/steps`, {
    name: 'square',
    kind: 'computer',
    orderIndex: 0,
    computer: {
      runtime: 'javascript',
      code: 'if (input.fail) throw new Error("asked to fail"); return { sq: input.n * input.n };',
    },
  });
  expect(s.status).toBe(201);
  return r.body.id as string;
}

const countRuns = (runnerId: string) => ctx.systemDb.runnerRun.count({ where: { runnerId } });

describe('npm run cli -- runs bulk', () => {
  it('feeds a JSONL file, reports invalid lines, waits for the runs, and a rerun starts nothing new', async () => {
    const runnerId = await makeRunner();
    const lines = Array.from({ length: 150 }, (_, i) => JSON.stringify({ n: i, note: `line ${i + 1}` }));
    lines[41] = '{"n": 41, oops';
    lines[99] = JSON.stringify({ n: 'not a number' });
    const file = path.join(dir, 'items.jsonl');
    await writeFile(file, `${lines.join('\n')}\n\n`);

    const first = await cli(['--runner', runnerId, '--file', file, '--chunk-size', '60', '--wait', '--json']);
    expect(first.code).toBe(1); // two invalid lines
    const summary = JSON.parse(first.stdout);
    expect(summary).toMatchObject({
      items: 150,
      created: 148,
      existing: 0,
      invalid: 2,
      failed: 0,
      completed: 148,
      waited: true,
    });
    expect(summary.invalidItems.map((i: { line: number }) => i.line).sort((a: number, b: number) => a - b)).toEqual([
      42, 100,
    ]);
    expect(summary.invalidItems.find((i: { line: number }) => i.line === 100).field).toBe('input.n');
    expect(summary.runIds).toHaveLength(148);
    // Not a terminal: plain progress lines, one per chunk.
    expect(first.stderr).toMatch(/progress \(\d+%\): 61 items: 60 created, 0 existing, 1 invalid/);
    expect(await countRuns(runnerId)).toBe(148);
    const one = await ctx.api.get(`/api/runners/${runnerId}/runs/${summary.runIds[3]}`);
    expect(one.body).toMatchObject({ status: 'completed', input: { n: 3, note: 'line 4' }, output: { sq: 9 } });

    const rerun = await cli(['--runner', runnerId, '--file', file, '--json']);
    expect(rerun.code).toBe(1);
    expect(JSON.parse(rerun.stdout)).toMatchObject({ items: 150, created: 0, existing: 148, invalid: 2 });
    expect(await countRuns(runnerId)).toBe(148);
  }, 480_000);

  it('feeds a CSV file with keys from a column (also from stdin), exits 0, and a rerun starts nothing new', async () => {
    const runnerId = await makeRunner();
    const rows = ['id,n,city', ...Array.from({ length: 40 }, (_, i) => `row-${i},${i},"Paris, France"`)];
    const file = path.join(dir, 'items.csv');
    await writeFile(file, `${rows.join('\r\n')}\r\n`);

    const first = await cli(['--runner', runnerId, '--file', file, '--key-field', 'id', '--cast', '--wait']);
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/^40 items: 40 created, 0 existing, 0 invalid, 0 failed, 40 completed/);
    const runs = await ctx.systemDb.runnerRun.findMany({ where: { runnerId }, orderBy: { idempotencyKey: 'asc' } });
    expect(runs).toHaveLength(40);
    expect(runs.find((r) => r.idempotencyKey === 'row-7')?.input).toEqual({ id: 'row-7', n: 7, city: 'Paris, France' });

    const again = await cli(
      ['--runner', runnerId, '--file', '-', '--format', 'csv', '--key-field', 'id', '--cast', '--json'],
      rows.join('\n'),
    );
    expect(again.code).toBe(0);
    expect(JSON.parse(again.stdout)).toMatchObject({ items: 40, created: 0, existing: 40, invalid: 0, failed: 0 });
    expect(await countRuns(runnerId)).toBe(40);
  }, 480_000);

  it('exits non-zero with a summary when runs fail, and 2 on usage errors', async () => {
    const runnerId = await makeRunner();
    const file = path.join(dir, 'some-fail.jsonl');
    await writeFile(file, [{ n: 1 }, { n: 2, fail: true }, { n: 3 }].map((o) => JSON.stringify(o)).join('\n'));
    const r = await cli(['--runner', runnerId, '--file', file, '--wait']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/3 items: 3 created, 0 existing, 0 invalid, 1 failed, 2 completed/);

    const usage = await cli(['--file', file]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toMatch(/--runner <id> is required/);
    const unknownRunner = await cli(['--runner', '00000000-0000-4000-8000-000000000000', '--file', file]);
    expect(unknownRunner.code).toBe(2);
    expect(unknownRunner.stderr).toMatch(/404/);
  }, 480_000);
});
