/**
 * The real stack every integration test talks to, started once per `npm test` by test/global-setup.ts:
 * a Temporal dev server, a fresh migrated PostgreSQL database and one run worker on `taskQueue`.
 */
export interface TestEnv {
  databaseUrl: string;
  temporalAddress: string;
  namespace: string;
  taskQueue: string;
  /** FLAPJACK_SECRET_KEY shared by the test worker and every test app (so they can open each other's secrets). */
  secretKey: string;
  /** Origins of the scripted fake LLM servers the test worker's providers point at (script them with `connectFakeLlm`). */
  fakeOpenAiOrigin: string;
  fakeAnthropicOrigin: string;
}

/** The variable through which global-setup hands the stack's addresses to every test worker process. */
export const TEST_ENV_VAR = 'FLAPJACK_TEST_ENV';

/** The stack's addresses; throws when the file runs outside the integration project (no global setup). */
export function testEnv(): TestEnv {
  const raw = process.env[TEST_ENV_VAR];
  if (!raw) throw new Error(`${TEST_ENV_VAR} is not set: integration tests run through jest's "integration" project`);
  return JSON.parse(raw) as TestEnv;
}
