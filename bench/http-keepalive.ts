/**
 * Client CPU per webhook POST with a fresh connection each time (what `postJson` did, `agent: false`) and
 * over a keep-alive connection (`npx tsx bench/http-keepalive.ts`): a local server in a child process, N
 * sequential POSTs per mode, alternating rounds; CPU from process.cpuUsage() of this process (client only).
 */
import { fork } from 'node:child_process';
import http from 'node:http';
import { createEgressGuard } from '../src/net/egress';
import { parseAllowlist } from '../src/net/address-rules';
import { postJson } from '../src/net/http-client';

const N = Number(process.env.N ?? 2000);
const ROUNDS = 4;

if (process.argv[2] === 'serve') {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"items":[1,2,3]}'));
  });
  server.listen(0, '127.0.0.1', () => process.send?.((server.address() as { port: number }).port));
} else {
  void (async () => {
    const child = fork(__filename, ['serve'], { execArgv: ['--import', 'tsx'] });
    const port = await new Promise<number>((r) => child.once('message', (m) => r(Number(m))));
    const url = `http://127.0.0.1:${port}/hook`;
    const guard = createEgressGuard(parseAllowlist('127.0.0.1'));
    const body = { n: 1, text: 'x'.repeat(100) };
    const keepAlive = new http.Agent({ keepAlive: true });
    const raw = (agent: http.Agent | false) => () =>
      new Promise<void>((resolve, reject) => {
        const payload = JSON.stringify(body);
        const req = http.request(
          url,
          {
            method: 'POST',
            agent,
            lookup: guard.lookup,
            headers: { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) },
          },
          (res) => {
            res.resume();
            res.on('end', () => resolve());
          },
        );
        req.on('error', reject);
        req.end(payload);
      });
    const postJsonPooled = () =>
      postJson({ url, body, timeoutMs: 5_000, maxResponseBytes: 1 << 20, guard }).then(() => undefined);
    const modes = { fresh: raw(false), pooled: raw(keepAlive), postJson: postJsonPooled };
    const totals = { fresh: 0, pooled: 0, postJson: 0 };
    for (let round = 0; round < ROUNDS; round++) {
      for (const [name, fn] of Object.entries(modes) as [keyof typeof modes, () => Promise<void>][]) {
        for (let i = 0; i < 100; i++) await fn();
        const before = process.cpuUsage();
        for (let i = 0; i < N; i++) await fn();
        const used = process.cpuUsage(before);
        totals[name] += (used.user + used.system) / 1000 / N;
      }
    }
    process.stdout.write(
      `client CPU per POST (http.request): a fresh connection ${(totals.fresh / ROUNDS).toFixed(3)} ms, ` +
        `keep-alive ${(totals.pooled / ROUNDS).toFixed(3)} ms; postJson (keep-alive, per guard) ` +
        `${(totals.postJson / ROUNDS).toFixed(3)} ms\n`,
    );
    child.kill();
  })();
}
