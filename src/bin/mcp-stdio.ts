import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { loadEnvOrDie } from './startup';

/**
 * `npm run mcp`: the Flapjack MCP server over stdio, for MCP clients that launch a command.
 *
 * It is a bridge to the API's Streamable HTTP endpoint (`$FLAPJACK_BASE_URL/mcp`, default
 * http://localhost:3000) with `FLAPJACK_API_KEY` as the bearer key: every message read on stdin is
 * POSTed there and every answer written to stdout. So the stdio server needs no database or Temporal
 * credentials, resolves the key exactly as the API does (it *is* the API doing it), and runs the same
 * tools (`src/mcp/server.ts`, thin calls of `src/services`). Logs go to stderr only: stdout is the
 * protocol.
 */
function log(message: string): void {
  process.stderr.write(`[flapjack-mcp] ${message}\n`);
}

function isRequest(m: JSONRPCMessage): m is JSONRPCMessage & { id: string | number; method: string } {
  return 'method' in m && 'id' in m && m.id !== undefined;
}

async function main(): Promise<void> {
  const env = loadEnvOrDie();
  const apiKey = env.FLAPJACK_API_KEY;
  if (!apiKey) {
    log('FLAPJACK_API_KEY is not set: give the MCP server an API key (fj_live_…) of the org it should act for');
    process.exit(1);
  }
  const baseUrl = (env.FLAPJACK_BASE_URL ?? 'http://localhost:3000').replace(/\/+$/, '');
  const endpoint = new URL(`${baseUrl}/mcp`);

  const upstream = new StreamableHTTPClientTransport(endpoint, {
    requestInit: { headers: { Authorization: `Bearer ${apiKey}` } },
  });
  const stdio = new StdioServerTransport();

  stdio.onmessage = (message) => {
    upstream.send(message).catch((e: unknown) => {
      const reason = (e as Error)?.message ?? String(e);
      log(`request to ${endpoint.href} failed: ${reason}`);
      if (isRequest(message)) {
        const unauthorized = (e as { code?: unknown }).code === 401 || /\b401\b|unauthorized/i.test(reason);
        void stdio.send({
          jsonrpc: '2.0',
          id: message.id,
          error: {
            code: -32603,
            message: unauthorized
              ? `The Flapjack API at ${baseUrl} refused FLAPJACK_API_KEY (401): check the key`
              : `Could not reach the Flapjack API at ${baseUrl}: ${reason}`,
          },
        });
      }
    });
  };
  upstream.onmessage = (message) => {
    // Later requests carry the negotiated protocol version, as an MCP client's transport does.
    const result = (message as { result?: { protocolVersion?: unknown } }).result;
    if (result && typeof result.protocolVersion === 'string') upstream.setProtocolVersion(result.protocolVersion);
    void stdio.send(message);
  };
  upstream.onerror = (e) => log(`upstream: ${e.message}`);
  stdio.onerror = (e) => log(`stdio: ${e.message}`);
  stdio.onclose = () => {
    void upstream.close().finally(() => process.exit(0));
  };
  process.stdin.on('end', () => {
    void upstream.close().finally(() => process.exit(0));
  });

  await upstream.start();
  await stdio.start();
  log(`ready: stdio ↔ ${endpoint.href}`);
}

main().catch((e: unknown) => {
  log((e as Error)?.message ?? String(e));
  process.exit(1);
});
