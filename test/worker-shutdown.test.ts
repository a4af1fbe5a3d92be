import { randomUUID } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { NativeConnection, Worker } from '@temporalio/worker';
import { createRunWorker, installTemporalRuntime } from '../src/bin/worker-runtime';
import { createLogger } from '../src/config/logger';
import { createRun } from '../src/services/runs';
import type { RunWorkflow } from '../src/shared/workflow-defs';
import { connectFakeLlm, type FakeLlmRemote } from './fixtures/fake-llm';
import { MCP_STDIO_FIXTURE } from './fixtures/mcp-test-server';
import { useTestContext, waitFor } from './harness';

/**
 * A worker that stops closes what its agent steps kept open: an MCP server over stdio is a child process,
 * kept between calls (idle up to a minute); when the worker's run ends it is closed with it, instead of
 * outliving the worker (and keeping its process alive).
 */
const ctx = useTestContext();
const taskQueue = `shutdown-${randomUUID()}`;
let openai: FakeLlmRemote;
let worker: Worker;
let connection: NativeConnection;
let running: Promise<void>;

/** Pids of the processes whose command line contains `tag`. */
async function processesWith(tag: string): Promise<number[]> {
  const pids: number[] = [];
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const cmdline = await readFile(`/proc/${name}/cmdline`, 'utf8').catch(() => '');
    if (cmdline.includes(tag)) pids.push(Number(name));
  }
  return pids;
}

beforeAll(async () => {
  openai = connectFakeLlm(ctx.env.fakeOpenAiOrigin, '/v1');
  installTemporalRuntime(createLogger('error', 'test-shutdown-worker'), 'ERROR');
  ({ worker, connection } = await createRunWorker({
    db: ctx.db,
    temporal: { address: ctx.env.temporalAddress, namespace: ctx.env.namespace, taskQueue },
    egressAllowlist: ['127.0.0.1'],
    secrets: ctx.services.secrets,
    agent: { llm: { openai: { apiKey: 'sk-test', baseUrl: openai.url } } },
  }));
  running = worker.run();
}, 120_000);

afterAll(async () => {
  if (worker?.getState() === 'RUNNING') worker.shutdown();
  await running?.catch(() => undefined);
  await connection?.close();
}, 60_000);

describe('a worker that stops', () => {
  it('closes the stdio MCP server its agent step kept open', async () => {
    const token = `shutdown-${randomUUID()}`;
    const slug = `sd-${token.slice(9, 17)}`;
    const runner = await ctx.api.post('/api/runners', { name: token, defaultModel: 'gpt-5.4' });
    const server = await ctx.api.post('/api/mcp-servers', {
      slug,
      transport: 'stdio',
      command: MCP_STDIO_FIXTURE.command,
      // The tag only marks this test's server process, so it can be found among the others.
      args: [...MCP_STDIO_FIXTURE.args, `--tag=${token}`],
    });
    expect(server.status).toBe(201);
    expect((await ctx.api.post(`/api/runners/${runner.body.id}/mcps`, { mcpServerId: server.body.id })).status).toBe(
      201,
    );
    const step = await ctx.api.post(`/api/runners/${runner.body.id}/steps`, {
      name: 'add',
      kind: 'agent',
      orderIndex: 0,
      preambleOverride: `Add the numbers. (${token})`,
    });
    expect(step.status).toBe(201);
    await openai.script(token, [
      { toolCalls: [{ name: `${slug}__add`, arguments: { a: 2, b: 3 } }] },
      { text: 'The sum is 5.' },
    ]);

    const deps = { ...ctx.services, temporal: { ...ctx.services.temporal, taskQueue } };
    const { run } = await createRun(deps, ctx.orgA, runner.body.id as string, { input: {} });
    const result = await ctx.client.workflow.getHandle<RunWorkflow>(run.id).result();
    expect(result).toMatchObject({ status: 'completed', output: { text: 'The sum is 5.' } });

    // The connection is kept for the next call: the server is still running.
    expect((await processesWith(token)).length).toBeGreaterThan(0);
    worker.shutdown();
    await running;
    const left = await waitFor(
      () => processesWith(token),
      (pids) => pids.length === 0,
      10_000,
      100,
    );
    expect(left).toEqual([]);
  }, 120_000);
});
