import path from 'node:path';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { describe, expect, it } from '@jest/globals';

/** A logger that keeps webpack's report (the bundler logs it) instead of printing it. */
function capturingLogger() {
  const lines: string[] = [];
  return { lines, logger: new DefaultLogger('INFO', (entry) => void lines.push(entry.message)) };
}

describe('workflow bundle (the determinism guard of DESIGN habit 1)', () => {
  it('bundles workflows/index.ts, the worker’s workflowsPath, into real code', async () => {
    const { logger } = capturingLogger();
    const { code } = await bundleWorkflowCode({ workflowsPath: path.join(__dirname, 'index.ts'), logger });
    expect(code.length).toBeGreaterThan(50_000);
    expect(code).toContain('runRunnerWorkflow');
  });

  it('fails to bundle a workflow that imports a Node built-in, naming the module', async () => {
    const { lines, logger } = capturingLogger();
    const err = await bundleWorkflowCode({
      workflowsPath: path.join(__dirname, '__fixtures__', 'bad-workflow.ts'),
      logger,
    }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    // `node:fs` is refused by webpack (no handler for the node: scheme); a bare `fs` by the SDK's
    // disallowed-modules check. Either way the failure names the module.
    expect(err?.message).toMatch(/Webpack finished with errors|disallowed modules/);
    expect(`${err?.message}\n${lines.join('\n')}`).toMatch(/ERROR in node:fs|'fs'/);
  });
});
