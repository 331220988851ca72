import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EnvironmentVariables, SECRET_NAMES } from './app-config';

const ROOT = join(__dirname, '..', '..');

describe('configuration reference (docs/CONFIGURATION.md and .env.example)', () => {
  it('is what npm run docs:config generates from this schema', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'config-reference.mjs'), '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('lists every variable the schema reads', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'CONFIGURATION.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `([A-Z_]+)` +\|/gm)].map((m) => m[1]);
    expect(documented).toEqual(
      expect.arrayContaining([...Object.keys(new EnvironmentVariables()), ...SECRET_NAMES, 'METRICS_TOKEN']),
    );
  });
});
