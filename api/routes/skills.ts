import type { ServiceDeps } from '../../src/services/deps';
import { createSkill, deleteSkill, getSkill, listSkills, updateSkill } from '../../src/services/skills';
import { skillCreateSchema, skillResponseSchema, skillUpdateSchema } from '../../src/shared/connection-schemas';
import type { RouteRegistry } from '../route';
import { registerCrudRoutes } from './connections';

/** `/api/skills`: named instructions with optional files, attachable to runners. */
export function registerSkillRoutes(reg: RouteRegistry, deps: ServiceDeps): void {
  registerCrudRoutes(reg, {
    path: '/api/skills',
    tag: 'skills',
    label: 'Skill',
    createSchema: skillCreateSchema,
    updateSchema: skillUpdateSchema,
    responseSchema: skillResponseSchema,
    create: (orgId, body) => createSkill(deps, orgId, body),
    list: (orgId, q) => listSkills(deps, orgId, q),
    get: (orgId, id) => getSkill(deps, orgId, id),
    update: (orgId, id, body) => updateSkill(deps, orgId, id, body),
    remove: (orgId, id) => deleteSkill(deps, orgId, id),
  });
}
