import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, describe, expect, it } from '@jest/globals';
import { API_KEY_RE } from '../src/config/env';
import { hashApiKey } from '../src/services/api-keys';
import { request, useTestContext } from './harness';

/**
 * The real entry points as real processes: the bootstrap key, the CLI that mints keys, and the
 * one-line fail-fast start-up errors.
 */
describe('API keys and start-up (real processes)', () => {
  const ctx = useTestContext();

  const REPO_ROOT = path.resolve(__dirname, '..');
  const TSX = path.join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
  const children = new Set<ChildProcess>();

  afterAll(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) killGroup(c, 'SIGKILL');
  });

  function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
    try {
      process.kill(-(child.pid as number), signal); // the tsx relay and the program it runs
    } catch {
      // already gone
    }
  }

  /**
   * A clean environment: nothing of the developer's FLAPJACK_/TEMPORAL_/DATABASE_ settings leaks in. The test
   * stack's FLAPJACK_SECRET_KEY is set unless `vars` overrides it ('' unsets it).
   */
  function childEnv(vars: Record<string, string>): NodeJS.ProcessEnv {
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (/^(FLAPJACK_|TEMPORAL_|DATABASE_URL$|PORT$|NODE_OPTIONS$|LOG_LEVEL$)/.test(k)) continue;
      env[k] = v;
    }
    return { ...env, LOG_LEVEL: 'warn', FLAPJACK_SECRET_KEY: ctx.env.secretKey, ...vars };
  }

  interface Started {
    child: ChildProcess;
    stdout: () => string;
    stderr: () => string;
    exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>;
  }

  function start(script: string, args: string[], vars: Record<string, string>): Started {
    const began = Date.now();
    const child = spawn(TSX, [script, ...args], {
      cwd: REPO_ROOT,
      env: childEnv(vars),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.add(child);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number }>((resolve) => {
      child.once('close', (code, signal) => resolve({ code, signal, ms: Date.now() - began }));
    });
    return { child, stdout: () => out, stderr: () => err, exited };
  }

  async function runToExit(script: string, args: string[], vars: Record<string, string>, timeoutMs: number) {
    const s = start(script, args, vars);
    const timer = setTimeout(() => killGroup(s.child, 'SIGKILL'), timeoutMs);
    const r = await s.exited;
    clearTimeout(timer);
    return { ...r, stdout: s.stdout(), stderr: s.stderr(), timedOut: r.ms >= timeoutMs };
  }

  async function stop(s: Started): Promise<void> {
    killGroup(s.child, 'SIGTERM');
    const timer = setTimeout(() => killGroup(s.child, 'SIGKILL'), 10_000);
    await s.exited;
    clearTimeout(timer);
  }

  async function freePort(): Promise<number> {
    return new Promise((resolve, reject) => {
      const srv = net.createServer();
      srv.once('error', reject);
      srv.listen(0, '127.0.0.1', () => {
        const { port } = srv.address() as net.AddressInfo;
        srv.close(() => resolve(port));
      });
    });
  }

  /** GET without keep-alive, so the server can stop at once. */
  function get(
    port: number,
    p: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.get({ host: '127.0.0.1', port, path: p, headers, agent: false, timeout: 5_000 }, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
    });
  }

  async function startApi(vars: Record<string, string>, port: number): Promise<Started> {
    const s = start('src/bin/api.ts', [], { ...vars, PORT: String(port) });
    const deadline = Date.now() + 30_000;
    for (;;) {
      const exit = await Promise.race([s.exited, new Promise<null>((r) => setTimeout(() => r(null), 200))]);
      if (exit) throw new Error(`api exited early (${exit.code}): ${s.stderr()}${s.stdout()}`);
      const h = await get(port, '/healthz').catch(() => null);
      if (h?.status === 200) return s;
      if (Date.now() > deadline) {
        await stop(s);
        throw new Error(`api did not become healthy: ${s.stderr()}${s.stdout()}`);
      }
    }
  }

  const goodDeps = () => ({
    DATABASE_URL: ctx.env.databaseUrl,
    TEMPORAL_ADDRESS: ctx.env.temporalAddress,
    TEMPORAL_NAMESPACE: ctx.env.namespace,
  });

  describe('FLAPJACK_BOOTSTRAP_API_KEY', () => {
    it('makes the key work for org "default", idempotently across restarts', async () => {
      const key = `fj_live_${randomBytes(24).toString('base64url')}`;
      expect(key).toMatch(API_KEY_RE);
      const vars = { ...goodDeps(), FLAPJACK_BOOTSTRAP_API_KEY: key };
      const port = await freePort();

      const first = await startApi(vars, port);
      try {
        const r = await get(port, '/api/runners', { Authorization: `Bearer ${key}` });
        expect(r.status).toBe(200);
        expect(JSON.parse(r.body)).toEqual(expect.objectContaining({ data: expect.any(Array), nextCursor: null }));
        expect((await get(port, '/api/runners')).status).toBe(401);
      } finally {
        await stop(first);
      }

      const second = await startApi(vars, port);
      try {
        const r = await get(port, '/api/runners', { Authorization: `Bearer ${key}` });
        expect(r.status).toBe(200);
      } finally {
        await stop(second);
      }

      const rows = await ctx.systemDb.apiKey.findMany({ where: { secretHash: hashApiKey(key) } });
      expect(rows).toHaveLength(1);
      const org = await ctx.systemDb.org.findUnique({ where: { name: 'default' } });
      expect(rows[0]?.orgId).toBe(org?.id);
    }, 90_000);
  });

  describe('npm run cli -- api-keys create', () => {
    it('prints a key once, stores only its SHA-256, and the key authenticates', async () => {
      const orgName = `cli-org-${randomUUID()}`;
      const r = await runToExit(
        'src/bin/cli.ts',
        ['api-keys', 'create', '--org', orgName],
        { DATABASE_URL: ctx.env.databaseUrl },
        30_000,
      );
      expect(r.code).toBe(0);
      const lines = r.stdout.split('\n').filter(Boolean);
      expect(lines).toHaveLength(1);
      const key = lines[0] as string;
      expect(key).toMatch(/^fj_live_[A-Za-z0-9_-]{24,}$/);
      expect(r.stderr).not.toContain(key);

      const org = await ctx.systemDb.org.findUnique({ where: { name: orgName } });
      expect(org).not.toBeNull();
      const rows = await ctx.systemDb.$queryRaw<
        Record<string, unknown>[]
      >`SELECT * FROM api_keys WHERE org_id = ${org?.id}::uuid`;
      expect(rows).toHaveLength(1);
      const row = rows[0] as Record<string, unknown>;
      expect(row.secret_hash).toBe(hashApiKey(key));
      expect(row.secret_hash).toMatch(/^[0-9a-f]{64}$/);
      const secret = key.slice('fj_live_'.length);
      for (const [column, value] of Object.entries(row)) {
        const text = value instanceof Date ? value.toISOString() : (JSON.stringify(value) ?? '');
        expect(text).not.toContain(key);
        expect(text).not.toContain(secret);
      }

      const ok = await request(ctx.app).get('/api/runners').set('Authorization', `Bearer ${key}`);
      expect(ok.status).toBe(200);
      const created = await request(ctx.app)
        .post('/api/runners')
        .set('Authorization', `Bearer ${key}`)
        .send({ name: 'via cli key' });
      expect(created.status).toBe(201);
      expect((await ctx.systemDb.runner.findUnique({ where: { id: created.body.id } }))?.orgId).toBe(org?.id);
    }, 60_000);
  });

  function expectOneErrorLine(r: { code: number | null; stderr: string }, names: RegExp): void {
    expect(r.code).not.toBe(0);
    expect(r.code).not.toBeNull();
    const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toMatch(names);
    expect(r.stderr).not.toMatch(/^\s{4}at /m);
  }

  describe('fail-fast start-up, timed', () => {
    // Alone, so the 10 s bound measures the program rather than the machine's load.
    it('api: an unreachable database is one line naming the database, within 10 s', async () => {
      const r = await runToExit(
        'src/bin/api.ts',
        [],
        { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/x', TEMPORAL_ADDRESS: ctx.env.temporalAddress },
        15_000,
      );
      expect(r.ms).toBeLessThan(10_000);
      expectOneErrorLine(r, /database/i);
    }, 30_000);
  });

  // Independent processes: run side by side.
  describe('fail-fast start-up', () => {
    it('api: an unreachable Temporal is one line naming Temporal', async () => {
      const r = await runToExit(
        'src/bin/api.ts',
        [],
        { DATABASE_URL: ctx.env.databaseUrl, TEMPORAL_ADDRESS: '127.0.0.1:1' },
        30_000,
      );
      expect(r.timedOut).toBe(false);
      expectOneErrorLine(r, /Temporal/);
      expect(r.stderr).toContain('127.0.0.1:1');
    }, 40_000);

    it('api: a non-PostgreSQL DATABASE_URL is one line naming DATABASE_URL', async () => {
      const r = await runToExit(
        'src/bin/api.ts',
        [],
        { DATABASE_URL: 'mysql://x', TEMPORAL_ADDRESS: ctx.env.temporalAddress },
        15_000,
      );
      expectOneErrorLine(r, /DATABASE_URL/);
    }, 30_000);

    it('api: a malformed FLAPJACK_BOOTSTRAP_API_KEY is one line naming it', async () => {
      const r = await runToExit('src/bin/api.ts', [], { ...goodDeps(), FLAPJACK_BOOTSTRAP_API_KEY: 'short' }, 15_000);
      expectOneErrorLine(r, /FLAPJACK_BOOTSTRAP_API_KEY/);
      expect(r.stderr).not.toContain('short'); // the value itself is not echoed
    }, 30_000);

    it.each(['src/bin/api.ts', 'src/bin/worker.ts'])(
      '%s: without FLAPJACK_SECRET_KEY stops at start-up with one line naming it',
      async (script) => {
        const r = await runToExit(script, [], { ...goodDeps(), FLAPJACK_SECRET_KEY: '' }, 20_000);
        expect(r.timedOut).toBe(false);
        expect(r.code).toBe(1);
        expectOneErrorLine(r, /FLAPJACK_SECRET_KEY is not set/);
      },
      30_000,
    );

    it('api: an unusable FLAPJACK_SECRET_KEY is one line naming it, without echoing it', async () => {
      const r = await runToExit('src/bin/api.ts', [], { ...goodDeps(), FLAPJACK_SECRET_KEY: 'tiny-key' }, 20_000);
      expect(r.code).toBe(1);
      expectOneErrorLine(r, /FLAPJACK_SECRET_KEY is too short/);
      expect(r.stderr).not.toContain('tiny-key');
    }, 30_000);

    it('worker: an unreachable Temporal is one line naming Temporal', async () => {
      const r = await runToExit(
        'src/bin/worker.ts',
        [],
        { DATABASE_URL: ctx.env.databaseUrl, TEMPORAL_ADDRESS: '127.0.0.1:1' },
        30_000,
      );
      expect(r.timedOut).toBe(false);
      expectOneErrorLine(r, /Temporal/);
    }, 40_000);

    it('worker: an unreachable database is one line naming the database', async () => {
      const r = await runToExit(
        'src/bin/worker.ts',
        [],
        { DATABASE_URL: 'postgresql://postgres@127.0.0.1:1/x', TEMPORAL_ADDRESS: ctx.env.temporalAddress },
        20_000,
      );
      expect(r.timedOut).toBe(false);
      expectOneErrorLine(r, /database/i);
    }, 30_000);
  });
});
