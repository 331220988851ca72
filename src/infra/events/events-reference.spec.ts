import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EVENT_TYPES } from './event-catalogue';

const ROOT = join(__dirname, '..', '..', '..');

describe('event payload reference (docs/EVENTS.md)', () => {
  it('is what npm run docs:events generates from event-payloads.ts', () => {
    const run = spawnSync(process.execPath, [join(ROOT, 'scripts', 'events-reference.mjs'), '--check'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('lists every event type of the catalogue, in its order', () => {
    const doc = readFileSync(join(ROOT, 'docs', 'EVENTS.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `([a-z_]+\.[a-z_]+)` +\|/gm)].map((m) => m[1]);
    expect(documented).toEqual([...EVENT_TYPES]);
  });
});
