/**
 * The `computer` step: run the step's JavaScript in the sandbox. Every sandbox failure (time or memory limit,
 * an exception, a syntax error, non-JSON output) is deterministic, so it is non-retryable.
 */
import { Context } from '@temporalio/activity';
import { failure } from '../src/shared/failure-codes';
import { SandboxError, runJavaScript } from '../src/sandbox/js-sandbox';

export interface ComputerConfig {
  runtime: 'javascript';
  code: string;
  timeoutMs?: number;
  memoryLimitMb?: number;
}

export interface ExecuteComputerStepArgs {
  runId: string;
  /** The run's org: isolates are reused only among runs of one org. */
  orgId?: string;
  stepName: string;
  computer: ComputerConfig;
  input: unknown;
}

const HEARTBEAT_INTERVAL_MS = 1_000;

export function createComputerActivities() {
  async function executeComputerStep(args: ExecuteComputerStepArgs): Promise<unknown> {
    const { computer } = args;
    if ((computer.runtime as string) !== 'javascript') {
      throw failure(
        'sandbox_error',
        `Unsupported computer runtime "${String(computer.runtime)}": only "javascript" is available`,
      );
    }
    const ctx = Context.current();
    const cancellation = ctx.cancellationSignal;
    // Local activities (how the run workflow calls this) cannot heartbeat: cancellation reaches them
    // through the workflow task. As a regular activity, heartbeats carry cancellation in.
    const heartbeat = ctx.info.isLocal ? undefined : setInterval(() => ctx.heartbeat(), HEARTBEAT_INTERVAL_MS);
    try {
      return await runJavaScript({
        code: computer.code,
        input: args.input,
        timeoutMs: computer.timeoutMs,
        memoryLimitMb: computer.memoryLimitMb,
        signal: cancellation,
        poolKey: args.orgId,
      });
    } catch (err) {
      if (cancellation.aborted) throw cancellation.reason;
      if (err instanceof SandboxError) {
        throw failure(err.type, err.message);
      }
      throw err;
    } finally {
      if (heartbeat) clearInterval(heartbeat);
    }
  }

  return { executeComputerStep };
}
