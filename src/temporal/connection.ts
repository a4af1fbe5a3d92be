import { readFile } from 'node:fs/promises';
import { Client, Connection, type ConnectionOptions } from '@temporalio/client';
import type { Env } from '../config/env';

export const DEFAULT_TEMPORAL_ADDRESS = '127.0.0.1:7233';

export interface TemporalSettings {
  address: string;
  namespace: string;
  taskQueue: string;
  tls?: ConnectionOptions['tls'];
  apiKey?: string;
}

/**
 * Turns the env into connection settings: TLS when asked (`TEMPORAL_TLS`), when an API key is set (Temporal
 * Cloud) or when certificate files are given; a client certificate needs both its cert and key files, a CA
 * file alone pins the server's root. The one place that reads these variables (API, worker, dev stack).
 */
export async function temporalSettingsFromEnv(env: Env): Promise<TemporalSettings> {
  const read = (p: string | undefined) => (p ? readFile(p) : Promise.resolve(undefined));
  const [crt, key, ca] = await Promise.all([
    read(env.TEMPORAL_TLS_CERT_PATH),
    read(env.TEMPORAL_TLS_KEY_PATH),
    read(env.TEMPORAL_TLS_CA_PATH),
  ]);
  let tls: ConnectionOptions['tls'] = undefined;
  if ((crt && key) || ca) {
    tls = {
      ...(crt && key ? { clientCertPair: { crt, key } } : {}),
      ...(ca ? { serverRootCACertificate: ca } : {}),
    };
  } else if (env.TEMPORAL_TLS || env.TEMPORAL_API_KEY || crt) {
    tls = true;
  }
  return {
    address: env.TEMPORAL_ADDRESS ?? DEFAULT_TEMPORAL_ADDRESS,
    namespace: env.TEMPORAL_NAMESPACE,
    taskQueue: env.TEMPORAL_TASK_QUEUE,
    tls,
    apiKey: env.TEMPORAL_API_KEY,
  };
}

/** Connects a Temporal client; fails within `timeoutMs` when the server does not answer. */
export async function connectTemporalClient(
  s: TemporalSettings,
  timeoutMs = 5_000,
): Promise<{ connection: Connection; client: Client }> {
  const connection = await Connection.connect({
    address: s.address,
    tls: s.tls,
    apiKey: s.apiKey,
    connectTimeout: timeoutMs,
    // gRPC backs off up to 120 s between reconnects by default: after a long outage the API would
    // stay unable to reach Temporal for minutes after it came back. Cap the backoff at 5 s.
    channelArgs: { 'grpc.max_reconnect_backoff_ms': 5_000, 'grpc.initial_reconnect_backoff_ms': 500 },
  });
  return { connection, client: new Client({ connection, namespace: s.namespace }) };
}
