#!/usr/bin/env node
// Builds dist/ when it is missing or older than the sources, so `npm start` works straight
// after `npm ci`. A fresh build takes seconds; an up-to-date one costs a directory walk.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync, utimesSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;

// Files tsconfig.build.json leaves out of dist/: editing one must not make dist/ look stale.
const NOT_BUILT = /\.(spec|fixtures)\.ts$/;

function newest(dir) {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) latest = Math.max(latest, newest(path));
    else if (!NOT_BUILT.test(entry.name)) latest = Math.max(latest, statSync(path).mtimeMs);
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
  // An incremental build leaves unchanged outputs as they were, main.js included: mark dist/ as
  // built now, or a source touched without a change (a rebase, a checkout) would rebuild every run.
  const now = new Date();
  utimesSync(join(root, 'dist', 'main.js'), now, now);
}
