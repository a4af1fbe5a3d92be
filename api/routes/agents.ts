import type { ServiceDeps } from '../../src/services/deps';
import { createAgent, deleteAgent, getAgent, listAgents, updateAgent } from '../../src/services/agents';
import { agentCreateSchema, agentResponseSchema, agentUpdateSchema } from '../../src/shared/connection-schemas';
import type { RouteRegistry } from '../route';
import { registerCrudRoutes } from './connections';

/** `/api/agents`: an agent's preamble, model, and its own MCP servers, integrations, tools and web config. */
export function registerAgentRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  registerCrudRoutes(reg, {
    path: '/api/agents',
    tag: 'agents',
    label: 'Agent',
    createSchema: agentCreateSchema,
    updateSchema: agentUpdateSchema,
    responseSchema: agentResponseSchema,
    create: (orgId, body) => createAgent(deps, orgId, body),
    list: (orgId, q) => listAgents(deps, orgId, q),
    get: (orgId, id) => getAgent(deps, orgId, id),
    update: (orgId, id, body) => updateAgent(deps, orgId, id, body),
    remove: (orgId, id) => deleteAgent(deps, orgId, id),
    deleteConflict: 'A step of a runner still uses the agent',
  });
}
