/**
 * Database CLI: `node dist/cli/db.js <migrate | migration:new <name> | check-drift>`.
 * Prints one line per error, no stack; exit 0 success, 1 failure or drift, 2 usage.
 */
import { relative } from 'node:path';
import { loadEnvironment } from '@/config/app-config';
import { applyMigrations, checkDrift, createMigration, ensureDatabase } from '@/infra/database/migrator';
import { describeConnection, parseDatabaseUrl } from '@/infra/database/schema-engine';

const USAGE = 'usage: db <migrate | migration:new <name> | check-drift>';

const out = (line: string): void => void process.stdout.write(`${line}\n`);
const fail = (line: string): void => void process.stderr.write(`db: ${line}\n`);

async function main(args: string[]): Promise<number> {
  const [command, ...rest] = args;
  if (command === '-h' || command === '--help') {
    out(USAGE);
    return 0;
  }
  const arity: Record<string, number> = { migrate: 0, 'migration:new': 1, 'check-drift': 0 };
  if (command === undefined || !Object.hasOwn(arity, command)) {
    fail(command === undefined ? USAGE : `unknown command "${command}"; ${USAGE}`);
    return 2;
  }
  if (arity[command] !== rest.length) {
    fail(USAGE);
    return 2;
  }

  const url = loadEnvironment(undefined, { requireSecrets: false }).DATABASE_URL;
  const target = describeConnection(parseDatabaseUrl(url));

  if (command === 'migrate') {
    const started = performance.now();
    if (await ensureDatabase(url)) out(`created database ${target}`);
    const applied = await applyMigrations(url);
    for (const name of applied) out(`applied ${name}`);
    const ms = Math.round(performance.now() - started);
    out(
      applied.length === 0
        ? `${target} is up to date (${ms} ms)`
        : `applied ${applied.length} migration(s) to ${target} (${ms} ms)`,
    );
    return 0;
  }

  if (command === 'migration:new') {
    const created = await createMigration(url, rest[0] ?? '');
    out(`created ${relative(process.cwd(), created.path)}`);
    return 0;
  }

  const drift = await checkDrift(url);
  if (drift === '') {
    out('no drift: the migrations reproduce prisma/schema.prisma');
    return 0;
  }
  process.stdout.write(drift);
  fail('drift: the migrations do not reproduce prisma/schema.prisma (SQL above); run migration:new');
  return 1;
}

// Exit through exitCode, not process.exit: every connection is closed, so node ends by itself.
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    const message = error instanceof Error ? error.message : String(error);
    fail(message.split('\n')[0] ?? 'unknown error');
    process.exitCode = 1;
  },
);

// The wasm schema engine can abort outside any promise (seen: "RuntimeError: unreachable" while
// introspecting CHECK constraints); report it as one line instead of a raw wasm stack.
process.on('uncaughtException', (error) => {
  fail(`schema engine crashed: ${error.message.split('\n')[0] ?? 'unknown error'}`);
  process.exit(1);
});
