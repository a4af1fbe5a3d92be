// `npm run api`: the REST API alone (its runs are executed by `npm run worker` processes).
import { die } from './startup';
import { runProcess } from './process-roles';

runProcess(new Set(['api'])).catch((e: unknown) => die((e as Error).message));
