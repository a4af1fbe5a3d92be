/** jest's globalTeardown for the integration project: stops what test/global-setup.ts started. */
export default async function teardown(): Promise<void> {
  const stop = (globalThis as { __flapjackTeardown?: () => Promise<void> }).__flapjackTeardown;
  if (stop) await stop();
}
