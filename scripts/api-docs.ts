// `npm run docs:api`: rewrites docs/api.md from the OpenAPI document of the API this checkout builds.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { currentApiReference } from '../api/reference';

const file = path.resolve(__dirname, '..', 'docs', 'api.md');
writeFileSync(file, currentApiReference());
process.stdout.write(`wrote ${path.relative(process.cwd(), file)}\n`);
