import type { PrismaClient } from '../src/db/client';
import type { SecretBox } from '../src/crypto/secret-box';
import { createEgressGuard } from '../src/net/egress';
import { parseAllowlist } from '../src/net/address-rules';
import { createComputerActivities } from './computer';
import { createPersistenceActivities } from './persistence';
import { createStepActivities } from './steps';
import type { RunActivities } from './types';
import { createWebhookActivities } from './webhook';

export interface ActivityDeps {
  db: PrismaClient;
  /** Hosts/IPs/CIDRs that webhook steps may reach although private or loopback (FLAPJACK_EGRESS_ALLOWLIST). */
  egressAllowlist: string[];
  webhookTimeoutMs?: number;
  /** Opens stored secrets (webhook step headers); built from FLAPJACK_SECRET_KEY. */
  secrets?: SecretBox;
}

/** Builds every activity the worker registers, from injected dependencies. */
export function createActivities(deps: ActivityDeps): RunActivities {
  const guard = createEgressGuard(parseAllowlist(deps.egressAllowlist.join(',')));
  const webhook = createWebhookActivities({ guard, timeoutMs: deps.webhookTimeoutMs });
  const computer = createComputerActivities();
  const persistence = createPersistenceActivities({ db: deps.db });
  return {
    ...persistence,
    ...createStepActivities({
      db: deps.db,
      secrets: deps.secrets,
      persistRun: persistence.persistRun,
      executors: {
        executeWebhookStep: webhook.executeWebhookStep,
        executeComputerStep: computer.executeComputerStep,
      },
    }),
  };
}

export type { RunActivities } from './types';
