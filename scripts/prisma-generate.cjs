#!/usr/bin/env node
// Generates the Prisma client into src/generated/prisma (run by `npm install` as postinstall).
// Prisma 7 needs no query engine at run time, but its CLI looks for a schema engine binary and tries
// to download one; `generate` never runs it, so any existing file satisfies the check offline.
'use strict';
const { spawnSync } = require('node:child_process');
const path = require('node:path');
const fs = require('node:fs');

const root = path.join(__dirname, '..');
const cli = path.join(root, 'node_modules', 'prisma', 'build', 'index.js');
if (!fs.existsSync(cli)) {
  process.stderr.write('prisma-generate: the prisma CLI is not installed; skipping client generation\n');
  process.exit(0);
}
const env = { ...process.env, PRISMA_HIDE_UPDATE_MESSAGE: '1', CHECKPOINT_DISABLE: '1' };
if (!env.PRISMA_SCHEMA_ENGINE_BINARY) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
const r = spawnSync(process.execPath, [cli, 'generate'], { cwd: root, env, stdio: 'inherit' });
process.exit(r.status ?? 1);
