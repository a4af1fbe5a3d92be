import pino, { type Logger } from 'pino';

export type { Logger };

/** Structured logs; secrets are redacted wherever they could appear. */
export function createLogger(level: string = 'info', name = 'flapjack'): Logger {
  return pino({
    name,
    level,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'authorization',
        'apiKey',
        'secret',
        'token',
        'connectionString',
        'env',
        'headers',
        '*.apiKey',
        '*.secret',
        '*.token',
        '*.connectionString',
        '*.webhookHeaders',
      ],
      censor: '[redacted]',
    },
  });
}
