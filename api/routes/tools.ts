import type { ServiceDeps } from '../../src/services/deps';
import { createTool, deleteTool, getTool, listTools, updateTool } from '../../src/services/tools';
import { toolCreateSchema, toolResponseSchema, toolUpdateSchema } from '../../src/shared/connection-schemas';
import type { RouteRegistry } from '../route';
import { registerCrudRoutes } from './connections';

/** `/api/tools`: custom HTTP tools (name, description, JSON Schema of arguments, URL, method, masked headers). */
export function registerToolRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  registerCrudRoutes(reg, {
    path: '/api/tools',
    tag: 'tools',
    label: 'Tool',
    createSchema: toolCreateSchema,
    updateSchema: toolUpdateSchema,
    responseSchema: toolResponseSchema,
    create: (orgId, body) => createTool(deps, orgId, body),
    list: (orgId, q) => listTools(deps, orgId, q),
    get: (orgId, id) => getTool(deps, orgId, id),
    update: (orgId, id, body) => updateTool(deps, orgId, id, body),
    remove: (orgId, id) => deleteTool(deps, orgId, id),
  });
}
