/**
 * What one ledger posting costs the database (`npm run bench:ledger`, docs/BENCHMARKS.md): the
 * CPU of the PostgreSQL backend running `LedgerRepository.postTransfers`, the statement every
 * transfer takes, with its triggers and foreign-key checks. One connection, one transaction per
 * batch, on a scratch database migrated by the project's own CLI; the backend's CPU is read from
 * /proc before and after each phase, so other load on the machine does not count.
 *
 * Each line runs twice in the same run: through `ledger_post_transfers` (what the exchange does)
 * and, as the baseline, the same statement sent inline as the repository sent it before
 * migration `ledger_posting_function` (planned at every execution). Both fire the same triggers.
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

type Posting = (client: PrismaClient, transfers: TransferDraft[], at: Date) => Promise<string[]>;

/** What the exchange runs: `LedgerRepository.postTransfers`, one transaction per posting. */
const viaFunction: Posting = (client, transfers, at) =>
  client.$transaction(async (tx) =>
    new LedgerRepository({ tx } as unknown as Tx).postTransfers(transfers, at),
  );

/** The baseline: the posting statement sent inline, as before migration `ledger_posting_function`. */
const inline: Posting = async (client, transfers, at) => {
  const entries = transfers.flatMap((t) => t.entries.map((entry) => ({ key: t.key, entry })));
  const rows = await client.$transaction(
    async (tx) => tx.$queryRaw<Array<{ key: string }>>`
      WITH input AS (
        SELECT * FROM unnest(
          ${transfers.map((t) => t.key)}::text[], ${transfers.map((t) => t.kind)}::text[],
          ${transfers.map((t) => t.currency)}::text[], ${transfers.map((t) => t.organisationId ?? '')}::text[],
          ${transfers.map((t) => t.bidId ?? '')}::text[], ${transfers.map((t) => t.leaseId ?? '')}::text[],
          ${transfers.map((t) => t.topUpId ?? '')}::text[], ${transfers.map((t) => t.memo ?? '')}::text[])
          AS i(key, kind, currency, organisation_id, bid_id, lease_id, top_up_id, memo)),
      posted AS (
        INSERT INTO ledger_transfers
          (id, key, kind, currency, organisation_id, bid_id, lease_id, top_up_id, memo, created_at)
        SELECT gen_random_uuid(), key, kind::"LedgerTransferKind", currency, NULLIF(organisation_id, '')::uuid,
               NULLIF(bid_id, '')::uuid, NULLIF(lease_id, '')::uuid, NULLIF(top_up_id, '')::uuid,
               NULLIF(memo, ''), ${at}
        FROM input
        ON CONFLICT (key) DO NOTHING
        RETURNING id, key, currency),
      lines AS (
        SELECT * FROM unnest(
          ${entries.map((e) => e.key)}::text[], ${entries.map((e) => e.entry.account.organisationId ?? '')}::text[],
          ${entries.map((e) => e.entry.account.kind)}::text[], ${entries.map((e) => e.entry.amount.toString())}::bigint[])
          AS l(key, organisation_id, kind, amount)),
      written AS (
        INSERT INTO ledger_entries (transfer_id, account_id, amount, created_at)
        SELECT posted.id, a.id, lines.amount, ${at}
        FROM lines
        JOIN posted ON posted.key = lines.key
        CROSS JOIN LATERAL (
          SELECT o.id FROM ledger_accounts o
          WHERE o.organisation_id = NULLIF(lines.organisation_id, '')::uuid
            AND o.kind = lines.kind::"LedgerAccountKind" AND o.currency = posted.currency
          UNION ALL
          SELECT s.id FROM ledger_accounts s
          WHERE lines.organisation_id = '' AND s.organisation_id IS NULL
            AND s.kind = lines.kind::"LedgerAccountKind" AND s.currency = posted.currency) a
        ORDER BY a.id
        RETURNING transfer_id)
      SELECT posted.key FROM posted WHERE EXISTS (SELECT 1 FROM written WHERE written.transfer_id = posted.id)`,
  );
  return rows.map((row) => row.key);
};

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
      '| transfers | entries each | posting statements | statement | backend CPU per statement, ms | per transfer, ms |',
    );
    print('| --- | --- | --- | --- | --- | --- |');

    let n = 0;
    // The two ways take turns round by round, so a change in the machine's load weighs on both.
    const phase = async (label: string, batch: number, make: (i: number) => TransferDraft): Promise<void> => {
      const ways: Array<[string, Posting]> = [
        ['inline (baseline)', inline],
        ['function', viaFunction],
      ];
      const cpu = [0, 0];
      for (let round = 0; round < ROUNDS; round += 1) {
        for (let k = 0; k < 2; k += 1) {
          const way = (round + k) % 2;
          const transfers = Array.from({ length: batch }, () => make(n++));
          const before = backendCpuMs(pid);
          const posted = await ways[way]![1](client, transfers, new Date());
          cpu[way]! += backendCpuMs(pid) - before;
          if (posted.length !== batch) throw new Error(`posted ${posted.length} of ${batch}`);
        }
      }
      const entries = make(0).entries.length;
      ways.forEach(([statement], way) =>
        print(
          `| ${batch} ${label} | ${entries} | ${ROUNDS} | ${statement} | ${(cpu[way]! / ROUNDS).toFixed(3)} | ${(cpu[way]! / ROUNDS / batch).toFixed(3)} |`,
        ),
      );
    };
    const buyer = (i: number): string => buyers[i % ORGANISATIONS]!;
    const topUp = (i: number): TransferDraft =>
      topUpTransfer({ topUpId: randomUUID(), organisationId: buyer(i), amount: 1_000_000n, currency: 'CNY' });
    const hold = (i: number): TransferDraft =>
      bidHoldTransfer({ bidId: randomUUID(), organisationId: buyer(i), amount: 100n, currency: 'CNY' });
    // Warm-up: every buyer funded. Through the function only: five inline postings of 50 would
    // make the inline statement's plan cache judge its generic plan cheap and keep it, which the
    // exchange's postings of 1-20 transfers do not (bench:e2e: about 70% of them were planned).
    for (let i = 0; i < ORGANISATIONS; i += 50) {
      await viaFunction(
        client,
        Array.from({ length: 50 }, (_, j) => topUp(i + j)),
        new Date(),
      );
    }
    for (const batch of BATCHES) {
      for (const [label, make] of [
        ['TOPUP (a system account)', topUp],
        ['BID_HOLD', hold],
      ] as const) {
        await phase(label, batch, make);
      }
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
