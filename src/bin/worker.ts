// `npm run worker`: the run worker alone (and the reconciler that starts runs a dead API left pending).
import { die } from './startup';
import { runProcess } from './process-roles';

runProcess(new Set(['worker'])).catch((e: unknown) => die((e as Error).message));
