import type { ServiceDeps } from '../../src/services/deps';
import {
  createIntegration,
  deleteIntegration,
  getIntegration,
  listIntegrations,
  updateIntegration,
} from '../../src/services/integrations';
import {
  integrationCreateSchema,
  integrationResponseSchema,
  integrationUpdateSchema,
} from '../../src/shared/connection-schemas';
import type { RouteRegistry } from '../route';
import { registerCrudRoutes } from './connections';

/** `/api/integrations`: database integrations; the connection string is stored encrypted and shown masked. */
export function registerIntegrationRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  registerCrudRoutes(reg, {
    path: '/api/integrations',
    tag: 'integrations',
    label: 'Integration',
    createSchema: integrationCreateSchema,
    updateSchema: integrationUpdateSchema,
    responseSchema: integrationResponseSchema,
    create: (orgId, body) => createIntegration(deps, orgId, body),
    list: (orgId, q) => listIntegrations(deps, orgId, q),
    get: (orgId, id) => getIntegration(deps, orgId, id),
    update: (orgId, id, body) => updateIntegration(deps, orgId, id, body),
    remove: (orgId, id) => deleteIntegration(deps, orgId, id),
  });
}
