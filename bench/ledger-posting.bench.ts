/**
 * What one ledger posting costs the database (`npm run bench:ledger`, docs/BENCHMARKS.md): the
 * CPU of the PostgreSQL backend running `LedgerRepository.postTransfers`, the statement every
 * transfer takes, with its triggers and foreign-key checks. One connection, one transaction per
 * batch, on a scratch database migrated by the project's own CLI; the backend's CPU is read from
 * /proc before and after each phase, so other load on the machine does not count.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@/generated/prisma/client';
import { StatementNames } from '@/infra/prisma/statement-names';
import type { Tx } from '@/infra/prisma/tx';
import { LedgerRepository } from '@/modules/billing/ledger/ledger.repository';
import {
  bidHoldTransfer,
  topUpTransfer,
  type TransferDraft,
} from '@/modules/billing/ledger/domain/ledger-rules';

const SERVER = process.env.BENCH_DATABASE_SERVER ?? 'postgresql://postgres@127.0.0.1:5432';
const ORGANISATIONS = Number(process.env.BENCH_ORGANISATIONS ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 400);
const BATCHES = (process.env.BENCH_BATCHES ?? '1,8').split(',').map(Number);
const DATABASE = `compute_exchange_bench_ledger_${randomBytes(3).toString('hex')}`;
const ROOT = join(__dirname, '..', '..', '..');
const TICKS_PER_MS = 100 / 1000; // USER_HZ

function print(line: string): void {
  process.stdout.write(`${line}\n`);
}

function backendCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_MS;
}

async function admin(sql: string): Promise<void> {
  const client = new Client({ connectionString: `${SERVER}/postgres` });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  await admin(`CREATE DATABASE ${DATABASE}`);
  const url = `${SERVER}/${DATABASE}`;
  const client = new PrismaClient({
    adapter: new PrismaPg(
      { connectionString: url, max: 1 },
      { statementNameGenerator: new StatementNames().nameOf },
    ),
  });
  try {
    const migrated = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli', 'db.js'), 'migrate'], {
      env: { ...process.env, DATABASE_URL: url },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    if (migrated.status !== 0) throw new Error('migration failed');

    const buyers = Array.from({ length: ORGANISATIONS }, () => randomUUID());
    const providers = Array.from({ length: ORGANISATIONS }, () => randomUUID());
    await client.$executeRaw`
      INSERT INTO organisations (id, name, role, updated_at)
      SELECT id, 'bench', role::"OrganisationRole", now()
      FROM unnest(${[...buyers, ...providers]}::uuid[], ${[...buyers.map(() => 'BUYER'), ...providers.map(() => 'PROVIDER')]}::text[]) AS o(id, role)`;
    const [backend] = await client.$queryRaw<Array<{ pid: number }>>`SELECT pg_backend_pid() AS pid`;
    const pid = backend!.pid;
    print(
      `bench:ledger: ${DATABASE}, ${ORGANISATIONS} buyers + ${ORGANISATIONS} providers, ${ROUNDS} postings per line, backend ${pid}, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    );
    print(
      '| transfers | entries each | posting statements | backend CPU per statement, ms | per transfer, ms |',
    );
    print('| --- | --- | --- | --- | --- |');

    let n = 0;
    const phase = async (label: string, batch: number, make: (i: number) => TransferDraft): Promise<void> => {
      const before = backendCpuMs(pid);
      for (let round = 0; round < ROUNDS; round += 1) {
        const transfers = Array.from({ length: batch }, () => make(n++));
        const posted = await client.$transaction(async (tx) =>
          new LedgerRepository({ tx } as unknown as Tx).postTransfers(transfers, new Date()),
        );
        if (posted.length !== batch) throw new Error(`posted ${posted.length} of ${batch}`);
      }
      const cpu = backendCpuMs(pid) - before;
      const entries = make(0).entries.length;
      print(
        `| ${batch} ${label} | ${entries} | ${ROUNDS} | ${(cpu / ROUNDS).toFixed(3)} | ${(cpu / ROUNDS / batch).toFixed(3)} |`,
      );
    };
    const buyer = (i: number): string => buyers[i % ORGANISATIONS]!;
    const topUp = (i: number): TransferDraft =>
      topUpTransfer({ topUpId: randomUUID(), organisationId: buyer(i), amount: 1_000_000n, currency: 'CNY' });
    const hold = (i: number): TransferDraft =>
      bidHoldTransfer({ bidId: randomUUID(), organisationId: buyer(i), amount: 100n, currency: 'CNY' });
    // Warm-up: every buyer funded, plans cached on the connection.
    for (let i = 0; i < ORGANISATIONS; i += 50) {
      await client.$transaction(async (tx) =>
        new LedgerRepository({ tx } as unknown as Tx).postTransfers(
          Array.from({ length: 50 }, (_, j) => topUp(i + j)),
          new Date(),
        ),
      );
    }
    for (const batch of BATCHES) {
      await phase('TOPUP (a system account)', batch, topUp);
      await phase('BID_HOLD', batch, hold);
    }
  } finally {
    await client.$disconnect();
    await admin(`DROP DATABASE IF EXISTS ${DATABASE} WITH (FORCE)`);
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:ledger failed: ${String(error)}\n`);
  process.exitCode = 1;
});
