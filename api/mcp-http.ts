import { WebStandardStreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js';
import type { NextFunction, Request, Response, Router } from 'express';
import { AppError } from '../src/errors/app-error';
import { createMcpServer, type McpServerDeps } from '../src/mcp/server';
import type { Principal } from '../src/services/deps';

/**
 * `POST /mcp`: the MCP server over Streamable HTTP, stateless (a fresh server and transport per
 * request, JSON answers, no sessions), authenticated by the API's bearer keys: the key's org is the
 * org every tool acts in. `GET`/`DELETE /mcp` (server-sent streams, sessions) are not offered: 405.
 *
 * The web-standard transport is driven directly with the body express already parsed (the SDK's
 * Node wrapper would drain and then destroy keep-alive sockets whose body was consumed upstream).
 */
export function registerMcpHttpRoutes(router: Router, deps: Omit<McpServerDeps, 'principal'>): void {
  router.post('/mcp', (req: Request, res: Response, next: NextFunction) => {
    const principal = res.locals.principal as Principal | undefined;
    if (!principal) {
      res.setHeader('WWW-Authenticate', 'Bearer');
      next(new AppError('unauthorized', 'Missing or invalid API key: send Authorization: Bearer fj_live_…'));
      return;
    }
    void (async () => {
      const server = createMcpServer({ ...deps, principal });
      const transport = new WebStandardStreamableHTTPServerTransport({
        sessionIdGenerator: undefined,
        enableJsonResponse: true,
      });
      try {
        await server.connect(transport);
        const headers = new Headers();
        for (const [k, v] of Object.entries(req.headers)) {
          if (typeof v === 'string') headers.set(k, v);
          else if (Array.isArray(v)) headers.set(k, v.join(', '));
        }
        const webRequest = new Request(`http://localhost${req.originalUrl}`, { method: 'POST', headers });
        const answer = await transport.handleRequest(webRequest, { parsedBody: req.body as unknown });
        res.status(answer.status);
        answer.headers.forEach((value, key) => res.setHeader(key, value));
        const body = Buffer.from(await answer.arrayBuffer());
        res.setHeader('Content-Length', String(body.length));
        // MCP clients cancel the (empty) body of a 202 without reading it, which can leave the socket
        // unusable for their next request: do not keep it alive.
        if (answer.status === 202) res.setHeader('Connection', 'close');
        res.end(body);
      } finally {
        await transport.close().catch(() => undefined);
        await server.close().catch(() => undefined);
      }
    })().catch(next);
  });
  const notAllowed = (_req: Request, res: Response) => {
    res.setHeader('Allow', 'POST');
    res.setHeader('Connection', 'close'); // clients drop this answer unread
    res.status(405).json({
      jsonrpc: '2.0',
      error: { code: -32000, message: 'Method not allowed: this MCP endpoint is stateless, use POST' },
      id: null,
    });
  };
  router.get('/mcp', notAllowed);
  router.delete('/mcp', notAllowed);
}
