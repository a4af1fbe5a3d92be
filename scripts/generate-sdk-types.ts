import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { GENERATED_TYPES_PATH, loadOpenApiDocument, renderSdkTypes } from './sdk-types';

/** `npm run sdk:types`: rewrites sdk/src/generated/api-types.ts from the API's zod schemas. */
async function main(): Promise<void> {
  const text = renderSdkTypes(await loadOpenApiDocument());
  const file = path.join(__dirname, '..', GENERATED_TYPES_PATH);
  writeFileSync(file, text);
  process.stdout.write(`wrote ${GENERATED_TYPES_PATH}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`${(e as Error).stack ?? String(e)}\n`);
  process.exit(1);
});
