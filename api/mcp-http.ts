import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { Request, Response, Router } from 'express';
import { AppError } from '../src/errors/app-error';
import { createMcpServer, type McpServerDeps } from '../src/mcp/server';
import type { Principal } from '../src/services/deps';

/**
 * `POST /mcp`: the MCP server over Streamable HTTP, stateless (a fresh server and transport per
 * request, JSON responses), authenticated by the API's bearer keys: the key's org is the org every
 * tool acts in. `GET`/`DELETE /mcp` (server-sent streams, sessions) are not offered: 405.
 */
export function registerMcpHttpRoutes(router: Router, deps: Omit<McpServerDeps, 'principal'>): void {
  router.post('/mcp', (req: Request, res: Response, next) => {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      next(new AppError('unauthorized', 'Missing or invalid API key: send Authorization: Bearer fj_live_…'));
      return;
    }
    const server = createMcpServer({ ...deps, principal });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on('close', () => {
      void transport.close();
      void server.close();
    });
    server
      .connect(transport)
      .then(() => transport.handleRequest(req, res, req.body))
      .catch(next);
  });
  const notAllowed = (_req: Request, res: Response) => {
    res.setHeader('Allow', 'POST');
    res.status(405).json({ jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless, use POST' }, id: null });
  };
  router.get('/mcp', notAllowed);
  router.delete('/mcp', notAllowed);
}
