import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { specExample } from '../sdk/examples/spec-example';
import { startWebhookServer } from './fixtures/webhook-server';
import { useTestContext, waitFor } from './harness';

/**
 * The spec's SDK example, exactly as written (sdk/examples/spec-example.ts), against the live stack,
 * with real ids for its placeholders: an agent, an MCP server and an integration of the org, and a
 * local webhook for 'https://hooks.slack.com/...'. The client finds the API through FLAPJACK_BASE_URL,
 * as `new FlapjackClient({ apiKey })` does for a user.
 */

const ctx = useTestContext();
let api: Server;
let hooks: Awaited<ReturnType<typeof startWebhookServer>>;
const savedBaseUrl = process.env.FLAPJACK_BASE_URL;

beforeAll(async () => {
  api = createServer(ctx.app);
  await new Promise<void>((r) => api.listen(0, '127.0.0.1', r));
  process.env.FLAPJACK_BASE_URL = `http://127.0.0.1:${(api.address() as AddressInfo).port}`;
  hooks = await startWebhookServer({
    '/slack': (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
    },
  });
});

afterAll(async () => {
  if (savedBaseUrl === undefined) delete process.env.FLAPJACK_BASE_URL;
  else process.env.FLAPJACK_BASE_URL = savedBaseUrl;
  await hooks.close();
  api.closeAllConnections();
  await new Promise((r) => api.close(r));
});

describe("the spec's SDK example", () => {
  it('runs as written with real ids substituted', async () => {
    const agent = (
      await ctx.api.post('/api/agents', { name: 'Discovery agent', preamble: 'List the products on the page.' })
    ).body;
    const mcp = (
      await ctx.api.post('/api/mcp-servers', { slug: 'catalog', transport: 'http', url: 'https://mcp.example.com/mcp' })
    ).body;
    const integration = (
      await ctx.api.post('/api/integrations', {
        name: 'warehouse',
        kind: 'postgres',
        connectionString: 'postgres://reader:pw@db.example.com/w',
      })
    ).body;
    const log = jest.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const out = await specExample({
        apiKey: ctx.keyA,
        agentUuid: agent.id,
        slackHookUrl: hooks.url('/slack'),
        mcpServerUuid: mcp.id,
        integrationUuid: integration.id,
      });
      expect(log).toHaveBeenCalledWith(out.result.status, out.result.output);
      expect(out.result.id).toBe(out.run.id);
      expect(out.mcps.data.map((m) => m.mcpServerId)).toEqual([mcp.id]);

      const runner = (await ctx.api.get(`/api/runners/${out.runner.id}`)).body;
      expect(runner.name).toBe('Product Discovery');
      expect(runner.steps.map((s: { name: string; kind: string }) => [s.name, s.kind])).toEqual([
        ['discovery', 'agent'],
        ['notify', 'webhook'],
      ]);
      expect(runner.steps[0].agentId).toBe(agent.id);
      expect(runner.triggers).toEqual([expect.objectContaining({ kind: 'cron', cronExpression: '0 9 * * 1' })]);
      expect((await ctx.api.get(`/api/runners/${out.runner.id}/integrations`)).body.data[0].integrationId).toBe(
        integration.id,
      );
      expect((await ctx.api.get(`/api/runners/${out.runner.id}/web-config`)).body.enabled).toBe(true);
      expect((await ctx.api.get(`/api/runners/${out.runner.id}/plan-config`)).body.enabled).toBe(true);

      // the run it triggered is a real run of that runner, with the example's input and both steps
      const settled = await waitFor(
        () => out.fj.getRun(out.runner.id, out.run.id),
        (r) => !['pending', 'running'].includes(r.status),
        120_000,
        250,
      );
      expect(settled.input).toEqual({ url: 'https://example.com' });
      expect(settled.steps.map((s) => s.name)).toEqual(['discovery', 'notify']);
    } finally {
      log.mockRestore();
    }
  }, 180_000);
});
