/* docs/mcp.md example: calling the Flapjack MCP server from code with the MCP SDK's client. Type-checked in CI. */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

export async function overHttp(apiKey: string): Promise<void> {
  const client = new Client({ name: 'my-agent', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL('http://localhost:3000/mcp'), {
      requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
    }),
  );
  const { tools } = await client.listTools();
  console.log(tools.map((t) => t.name)); // flapjack_list_runners, flapjack_create_runner, …

  const created = await client.callTool({ name: 'flapjack_create_runner', arguments: { name: 'Product Discovery' } });
  const runner = created.structuredContent as { id: string };
  const run = await client.callTool({ name: 'flapjack_trigger_run', arguments: { runnerId: runner.id, input: { url: 'https://example.com' } } });
  console.log(run.structuredContent);

  const missing = await client.callTool({ name: 'flapjack_get_runner', arguments: { runnerId: '00000000-0000-4000-8000-000000000000' } });
  if (missing.isError) console.log(missing.content); // [{type: 'text', text: '{"error":{"code":"not_found",…}}'}]
  await client.close();
}

export async function overStdio(apiKey: string): Promise<void> {
  const client = new Client({ name: 'my-agent', version: '1.0.0' });
  await client.connect(
    new StdioClientTransport({
      command: 'npm',
      args: ['run', '--silent', 'mcp'],
      cwd: '/path/to/flapjack-runners',
      env: { FLAPJACK_API_KEY: apiKey, FLAPJACK_BASE_URL: 'http://localhost:3000', PATH: process.env.PATH ?? '' },
    }),
  );
  const page = await client.callTool({ name: 'flapjack_list_runners', arguments: { limit: 10 } });
  console.log(page.structuredContent); // {data: [...], nextCursor}
  await client.close();
}
