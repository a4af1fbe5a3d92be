import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { parseAllowlist } from '../src/net/address-rules';
import { createEgressGuard } from '../src/net/egress';
import { EXCEEDED_LOCAL_BOUND } from '../src/shared/step-placement';
import { createWebhookActivities } from './webhook';

/** Activity failures are expected here; keep the SDK's per-failure warnings out of the test output. */
const quietLogger = {
  log: () => undefined,
  trace: () => undefined,
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};
const newEnv = (): MockActivityEnvironment => new MockActivityEnvironment(undefined, { logger: quietLogger });

interface Seen {
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

describe('executeWebhookStep', () => {
  let server: http.Server;
  let base: string;
  const seen: Seen[] = [];
  let hangingRequestClosed: Promise<void> = Promise.resolve();
  let hangingRequestArrived: () => void = () => undefined;

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
        switch (req.url) {
          case '/json':
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify({ ok: true, echo: JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown }));
            return;
          case '/no-content':
            res.writeHead(204);
            res.end();
            return;
          case '/html':
            res.writeHead(200, { 'content-type': 'text/html' });
            res.end('<html>hello</html>');
            return;
          case '/server-error':
            res.writeHead(500, { 'content-type': 'application/json' });
            res.end('{"error":"boom"}');
            return;
          case '/redirect':
            res.writeHead(301, { location: 'http://169.254.169.254/' });
            res.end();
            return;
          case '/slow':
            setTimeout(() => res.end('{}'), 5_000).unref();
            return;
          case '/hang':
            hangingRequestClosed = new Promise<void>((resolve) => res.on('close', () => resolve()));
            hangingRequestArrived();
            return;
          default:
            res.writeHead(404, { 'content-type': 'text/plain' });
            res.end('no such hook');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const guard = createEgressGuard(parseAllowlist('127.0.0.1'));
  const { executeWebhookStep } = createWebhookActivities({ guard });

  const run = (args: Partial<Parameters<typeof executeWebhookStep>[0]> & { url: string }, env = newEnv()) =>
    env.run(executeWebhookStep, { runId: 'run-1', stepName: 'notify', input: { a: 1 }, ...args });

  const failure = async (promise: Promise<unknown>): Promise<ApplicationFailure> => {
    const err: unknown = await promise.then(
      () => {
        throw new Error('expected the activity to fail');
      },
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ApplicationFailure);
    return err as ApplicationFailure;
  };

  it('returns the parsed JSON body of a 2xx answer', async () => {
    await expect(run({ url: `${base}/json`, input: { x: [1, 2] } })).resolves.toEqual({
      ok: true,
      echo: { x: [1, 2] },
    });
  });

  it('returns null for a 204 with no body', async () => {
    await expect(run({ url: `${base}/no-content` })).resolves.toBeNull();
  });

  it('sends Idempotency-Key <runId>:<stepName> and the custom headers, which cannot override protected ones', async () => {
    await run({
      url: `${base}/json`,
      runId: 'run-42',
      stepName: 'charge',
      headers: {
        Authorization: 'Bearer s3cret',
        'X-Trace': 'abc',
        'idempotency-key': 'forged',
        'Content-Type': 'text/plain',
        Host: 'evil.example',
      },
    });
    const req = seen.at(-1);
    expect(req?.headers['idempotency-key']).toBe('run-42:charge');
    expect(req?.headers.authorization).toBe('Bearer s3cret');
    expect(req?.headers['x-trace']).toBe('abc');
    expect(req?.headers['content-type']).toBe('application/json');
    expect(req?.headers.host).toBe(new URL(base).host);
  });

  it('fails a 2xx non-JSON answer as non-retryable webhook_invalid_response', async () => {
    const err = await failure(run({ url: `${base}/html` }));
    expect(err.type).toBe('webhook_invalid_response');
    expect(err.nonRetryable).toBe(true);
  });

  it('fails a 404 as non-retryable webhook_http_error with the status', async () => {
    const err = await failure(run({ url: `${base}/missing` }));
    expect(err.type).toBe('webhook_http_error');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('404');
    expect(err.details?.[0]).toMatchObject({ status: 404 });
  });

  it('fails a 500 as retryable webhook_http_error', async () => {
    const err = await failure(run({ url: `${base}/server-error` }));
    expect(err.type).toBe('webhook_http_error');
    expect(err.nonRetryable).toBe(false);
    expect(err.details?.[0]).toMatchObject({ status: 500 });
  });

  it('does not follow a redirect and fails it as non-retryable', async () => {
    const err = await failure(run({ url: `${base}/redirect` }));
    expect(err.type).toBe('webhook_http_error');
    expect(err.nonRetryable).toBe(true);
    expect(err.message).toContain('301');
  });

  it('fails a timeout as retryable webhook_timeout', async () => {
    const { executeWebhookStep: quick } = createWebhookActivities({ guard, timeoutMs: 200 });
    const err = await failure(newEnv().run(quick, { runId: 'r', stepName: 's', url: `${base}/slow`, input: {} }));
    expect(err.type).toBe('webhook_timeout');
    expect(err.nonRetryable).toBe(false);
  });

  it('stops a local attempt at its bound with exceeded_local_bound, so the workflow continues it as an activity', async () => {
    const started = Date.now();
    const err = await failure(run({ url: `${base}/slow`, boundMs: 200 }));
    expect(err.type).toBe(EXCEEDED_LOCAL_BOUND);
    expect(err.nonRetryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('keeps a genuine timeout a webhook_timeout when the webhook timeout is shorter than the bound', async () => {
    const { executeWebhookStep: quick } = createWebhookActivities({ guard, timeoutMs: 200 });
    const err = await failure(
      newEnv().run(quick, { runId: 'r', stepName: 's', url: `${base}/slow`, input: {}, boundMs: 5_000 }),
    );
    expect(err.type).toBe('webhook_timeout');
  });

  it('fails an answer above the size cap as non-retryable', async () => {
    const { executeWebhookStep: capped } = createWebhookActivities({ guard, maxResponseBytes: 10 });
    const err = await failure(
      newEnv().run(capped, { runId: 'r', stepName: 's', url: `${base}/json`, input: { long: 'x'.repeat(50) } }),
    );
    expect(err.type).toBe('webhook_invalid_response');
    expect(err.nonRetryable).toBe(true);
  });

  it('fails a network error as retryable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(run({ url: `http://127.0.0.1:${port}/` }));
    expect(err.type).toBe('webhook_http_error');
    expect(err.nonRetryable).toBe(false);
  });

  it('refuses a private target that is not allowlisted as non-retryable egress_refused', async () => {
    const { executeWebhookStep: strict } = createWebhookActivities({ guard: createEgressGuard([]) });
    const env = newEnv();
    const metadata = await failure(
      env.run(strict, { runId: 'r', stepName: 's', url: 'http://169.254.169.254/latest/meta-data/', input: {} }),
    );
    expect(metadata.type).toBe('egress_refused');
    expect(metadata.nonRetryable).toBe(true);
    expect(metadata.message).toContain('169.254.169.254');

    const port = new URL(base).port;
    const local = await failure(
      env.run(strict, { runId: 'r', stepName: 's', url: `http://localhost:${port}/json`, input: {} }),
    );
    expect(local.type).toBe('egress_refused');
    expect(local.message).toContain('localhost');
  });

  it('heartbeats while the request is in flight', async () => {
    const { executeWebhookStep: fast } = createWebhookActivities({ guard, timeoutMs: 400, heartbeatIntervalMs: 50 });
    const env = newEnv();
    let beats = 0;
    env.on('heartbeat', () => beats++);
    await failure(env.run(fast, { runId: 'r', stepName: 's', url: `${base}/slow`, input: {} }));
    expect(beats).toBeGreaterThanOrEqual(3);
  });

  it('aborts the in-flight request on cancellation and lets the CancelledFailure propagate', async () => {
    const env = newEnv();
    const arrived = new Promise<void>((resolve) => {
      hangingRequestArrived = resolve;
    });
    const pending = run({ url: `${base}/hang` }, env);
    pending.catch(() => undefined);
    await arrived;
    env.cancel();
    const err: unknown = await pending.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(CancelledFailure);
    // The server sees its socket close: the request really was aborted.
    await expect(
      Promise.race([hangingRequestClosed.then(() => 'closed'), sleep(2_000).then(() => 'open')]),
    ).resolves.toBe('closed');
  });
});

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
