import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from '@jest/globals';
import { currentApiReference } from './reference';

describe('docs/api.md', () => {
  it('is the reference of the routes this checkout serves (run `npm run docs:api` after changing a route)', () => {
    const onDisk = readFileSync(path.resolve(__dirname, '..', 'docs', 'api.md'), 'utf8');
    expect(onDisk).toBe(currentApiReference());
  });

  it('links nothing outside the repository', () => {
    const text = currentApiReference();
    expect(text).not.toMatch(/\]\((https?:|\.\.\/)/);
    expect(text).toContain('`POST /api/runners`');
    expect(text).toContain('`GET /healthz` **public**');
  });
});
