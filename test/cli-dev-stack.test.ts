import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { removeStackInfo, STACK_FILE, writeStackInfo } from '../src/dev/stack-file';
import { useTestContext } from './harness';

/**
 * `npm run cli -- api-keys create --org acme` with no DATABASE_URL: the CLI finds the database of the running
 * dev stack in .data/dev-stack.json (here written for the test stack's database, as `npm start` writes it).
 */
const ctx = useTestContext();
const REPO_ROOT = path.resolve(__dirname, '..');
const TSX = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!/^(FLAPJACK_|TEMPORAL_|DATABASE_URL$|NODE_OPTIONS$)/.test(k)) env[k] = v;
  }
  return new Promise((resolve) => {
    const child = spawn(TSX, ['src/bin/cli.ts', ...args], { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('the CLI against the running dev stack', () => {
  let wrote = false;
  afterAll(async () => {
    if (wrote) await removeStackInfo();
  });

  it('creates a key with no DATABASE_URL, and says how to start the stack when none runs', async () => {
    // Never clobber the file of a dev stack that really runs in this checkout.
    expect(existsSync(STACK_FILE)).toBe(false);

    const none = await cli(['api-keys', 'create', '--org', 'acme']);
    expect(none.code).toBe(1);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
    expect(none.stderr).toContain('npm start');

    await writeStackInfo({
      pid: process.pid,
      databaseUrl: ctx.env.databaseUrl,
      apiUrl: 'http://localhost:3000',
      temporalAddress: ctx.env.temporalAddress,
      temporalNamespace: ctx.env.namespace,
    });
    wrote = true;
    const made = await cli(['api-keys', 'create', '--org', `acme-${Date.now()}`]);
    expect(made.stderr).toContain('Created an API key');
    expect(made.code).toBe(0);
    const key = made.stdout.trim();
    expect(key).toMatch(/^fj_live_[A-Za-z0-9_-]{24,}$/);
    const res = await ctx.as(key).get('/api/runners');
    expect(res.status).toBe(200);
    expect(res.body.data).toEqual([]);
  }, 120_000);
});
