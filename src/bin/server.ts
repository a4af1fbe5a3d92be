// `npm run serve` (and what `npm start` runs): the roles in FLAPJACK_ROLES, default `api,worker` in one
// process, where the API starts runs eagerly on the worker's connection.
import { die, loadEnvOrDie } from './startup';
import { parseRoles, runProcess } from './process-roles';

const env = loadEnvOrDie();
let roles;
try {
  roles = parseRoles(env.FLAPJACK_ROLES);
} catch (e) {
  die((e as Error).message);
}
runProcess(roles, env).catch((e: unknown) => die((e as Error).message));
