#!/usr/bin/env node
// Builds dist/ when it is missing or older than the sources, so `npm start` works straight
// after `npm ci`. A fresh build takes seconds; an up-to-date one costs a directory walk.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

const built = mtime(join(root, 'dist', 'main.js'));
const sources = Math.max(
  newest(join(root, 'src')),
  mtime(join(root, 'tsconfig.build.json')),
  mtime(join(root, 'tsconfig.json')),
);
if (built === 0 || sources > built) {
  process.stderr.write('building dist/ ...\n');
  // tsc emits `@/…` imports as written; tsc-alias turns them into relative paths node can load.
  for (const bin of [join('typescript', 'bin', 'tsc'), join('tsc-alias', 'dist', 'bin', 'index.js')]) {
    const result = spawnSync(
      process.execPath,
      [join(root, 'node_modules', bin), '-p', 'tsconfig.build.json'],
      {
        cwd: root,
        stdio: 'inherit',
      },
    );
    if (result.status !== 0) process.exit(result.status ?? 1);
  }
}
