/*
 * The SDK example of the spec (shared/seed/runners-spec.txt, "SDK"), as written, inside a function
 * whose parameters are the spec's placeholders ('fj_live_...', 'agent-uuid', 'https://hooks.slack.com/...',
 * 'mcp-server-uuid', 'integration-uuid'). test/sdk-spec-example.test.ts runs it against a live stack;
 * `npm run typecheck --workspace @flapjack/sdk` type-checks it.
 */
import { FlapjackClient } from '../src/index.js';

export interface SpecPlaceholders {
  apiKey: string;
  agentUuid: string;
  slackHookUrl: string;
  mcpServerUuid: string;
  integrationUuid: string;
}

export async function specExample(p: SpecPlaceholders) {
  const fj = new FlapjackClient({ apiKey: p.apiKey });

  // Create a runner
  const runner = await fj.createRunner({
    name: 'Product Discovery',
    inputSchema: { type: 'object', properties: { url: { type: 'string' } } },
  });

  // Add steps
  await fj.addRunnerStep(runner.id, {
    name: 'discovery',
    kind: 'agent',
    orderIndex: 0,
    agentId: p.agentUuid,
    inputMapping: { source: '$.input.url' },
    outputSchema: { type: 'object', properties: { products: { type: 'array' } } },
  });

  await fj.addRunnerStep(runner.id, {
    name: 'notify',
    kind: 'webhook',
    orderIndex: 1,
    webhookUrl: p.slackHookUrl,
    inputMapping: { count: '$.steps.discovery.output.products.length' },
  });

  // Add a cron trigger
  await fj.addRunnerTrigger(runner.id, {
    kind: 'cron',
    cronExpression: '0 9 * * 1',
  });

  // Trigger manually
  const run = await fj.triggerRun(runner.id, { input: { url: 'https://example.com' } });

  // Poll for completion
  const result = await fj.getRun(runner.id, run.id);
  console.log(result.status, result.output);

  // --- Runner Connections ---

  // Attach MCP servers directly to the runner
  await fj.attachRunnerMcp(runner.id, p.mcpServerUuid);

  // Attach a database integration
  await fj.attachRunnerIntegration(runner.id, p.integrationUuid);

  // Enable web tools for the runner
  await fj.updateRunnerWebConfig(runner.id, { enabled: true });

  // Enable plans for the runner
  await fj.updateRunnerPlanConfig(runner.id, { enabled: true });

  // List attached MCPs
  const mcps = await fj.listRunnerMcps(runner.id);

  return { fj, runner, run, result, mcps };
}
