/**
 * Prints the path of a Temporal CLI binary, building it once with `go install` when none is found
 * (see src/dev/temporal-binary.ts for the search order). Progress goes to stderr, the path to stdout:
 *
 *   export TEMPORAL_CLI_PATH="$(npx tsx scripts/ensure-temporal.ts)"
 */
import { resolveTemporalBinary } from '../src/dev/temporal-binary';

resolveTemporalBinary({ log: (msg) => process.stderr.write(`[ensure-temporal] ${msg}\n`) }).then(
  (binary) => {
    process.stdout.write(`${binary}\n`);
  },
  (err: unknown) => {
    process.stderr.write(`[ensure-temporal] ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
