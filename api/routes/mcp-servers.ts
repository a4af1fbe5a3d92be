import type { ServiceDeps } from '../../src/services/deps';
import {
  createMcpServer,
  deleteMcpServer,
  getMcpServer,
  listMcpServers,
  updateMcpServer,
} from '../../src/services/mcp-servers';
import {
  mcpServerCreateSchema,
  mcpServerResponseSchema,
  mcpServerUpdateSchema,
} from '../../src/shared/connection-schemas';
import type { RouteRegistry } from '../route';
import { registerCrudRoutes } from './connections';

/** `/api/mcp-servers`: stdio (command, args, env) or http (url, headers); env and header values are masked. */
export function registerMcpServerRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  registerCrudRoutes(reg, {
    path: '/api/mcp-servers',
    tag: 'mcp-servers',
    label: 'MCP server',
    createSchema: mcpServerCreateSchema,
    updateSchema: mcpServerUpdateSchema,
    responseSchema: mcpServerResponseSchema,
    create: (orgId, body) => createMcpServer(deps, orgId, body),
    list: (orgId, q) => listMcpServers(deps, orgId, q),
    get: (orgId, id) => getMcpServer(deps, orgId, id),
    update: (orgId, id, body) => updateMcpServer(deps, orgId, id, body),
    remove: (orgId, id) => deleteMcpServer(deps, orgId, id),
  });
}
