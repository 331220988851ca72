import { Test, type TestingModule } from '@nestjs/testing';
import { Propagation, TransactionHost } from '@nestjs-cls/transactional';
import { randomUUID } from 'node:crypto';
import { ConfigModule } from '@/infra/config/config.module';
import { isLockConflict, mapPrismaError } from '@/infra/prisma/prisma-errors';
import { PrismaModule, TransactionsModule } from '@/infra/prisma/prisma.module';
import type { PrismaPgTransactionalAdapter } from '@/infra/prisma/prisma-pg-transactional-adapter';
import { PgTxClient } from '@/infra/prisma/pg-tx-client';
import { PrismaService } from '@/infra/prisma/prisma.service';
import { Prisma } from '@/generated/prisma/client';
import { DomainError } from '@/shared/domain-error';
import { testConfig } from '../support/test-env';

/**
 * Raw pg transactions (docs/ARCHITECTURE.md "Raw pg transactions"): a repository's `$queryRaw`
 * reads the same values on either driver, a unit commits or rolls back whole, and its errors are
 * recognised as Prisma's are. Budget: ~2 s.
 */
describe('raw pg transactions (real PostgreSQL)', () => {
  let module: TestingModule;
  let prisma: PrismaService;
  let txHost: TransactionHost<PrismaPgTransactionalAdapter>;
  const pg = { driver: 'pg' } as const;

  beforeAll(async () => {
    module = await Test.createTestingModule({
      imports: [ConfigModule.forRoot(testConfig()), PrismaModule, TransactionsModule],
    }).compile();
    await module.init();
    prisma = module.get(PrismaService);
    txHost = module.get(TransactionHost);
  });

  afterAll(async () => {
    await module.close();
  });

  // Every type the hot path reads, and the ones Prisma decodes differently from pg's defaults.
  const typed = (): Prisma.Sql => Prisma.sql`
    SELECT ${42n}::bigint AS big, ${[1n, -2n]}::bigint[] AS bigs, 7::int AS small, 1.5::float8 AS float,
           12.34::numeric AS decimal, ${new Date('2026-12-06T01:02:03.456Z')}::timestamptz AS at,
           '2026-12-06 01:02:03.456'::timestamp AS local_at, '2026-12-06'::date AS day,
           ${JSON.stringify({ a: [1, 'b'] })}::jsonb AS json, ${['x', 'y"z']}::text[] AS texts,
           ${[randomUUID()]}::uuid[] AS uuids, true AS yes, NULL::text AS nothing,
           ${[new Date('2026-12-06T00:00:00Z')]}::timestamptz[] AS ats`;

  it('reads every column as Prisma does', async () => {
    const query = typed();
    const viaPrisma = await prisma.$queryRaw<Array<Record<string, unknown>>>(query);
    const viaPg = await txHost.withTransaction(Propagation.RequiresNew, pg, () =>
      txHost.tx.$queryRaw<Array<Record<string, unknown>>>(query),
    );
    expect(viaPg).toEqual(viaPrisma);
    const [row] = viaPg;
    expect(row).toMatchObject({
      big: 42n,
      bigs: [1n, -2n],
      small: 7,
      local_at: new Date('2026-12-06T01:02:03.456Z'),
    });
    expect(String(row!.decimal)).toBe('12.34');
  });

  it('commits a unit whole, and rolls it back whole when it throws', async () => {
    const kept = randomUUID();
    const dropped = randomUUID();
    await prisma.$executeRaw`CREATE TABLE IF NOT EXISTS cx_pg_tx_probe (id uuid PRIMARY KEY)`;
    await txHost.withTransaction(Propagation.RequiresNew, pg, async () => {
      expect(await txHost.tx.$executeRaw`INSERT INTO cx_pg_tx_probe (id) VALUES (${kept}::uuid)`).toBe(1);
    });
    await expect(
      txHost.withTransaction(Propagation.RequiresNew, pg, async () => {
        await txHost.tx.$executeRaw`INSERT INTO cx_pg_tx_probe (id) VALUES (${dropped}::uuid)`;
        throw new Error('the unit failed');
      }),
    ).rejects.toThrow('the unit failed');
    const rows = await prisma.$queryRaw<Array<{ id: string }>>`
      SELECT id FROM cx_pg_tx_probe WHERE id IN (${kept}::uuid, ${dropped}::uuid)`;
    expect(rows.map((r) => r.id)).toEqual([kept]);

    // A unique violation maps as Prisma's P2002 does; the connection goes back to the pool usable.
    const duplicate = await txHost
      .withTransaction(
        Propagation.RequiresNew,
        pg,
        () => txHost.tx.$executeRaw`INSERT INTO cx_pg_tx_probe (id) VALUES (${kept}::uuid)`,
      )
      .catch((error: unknown) => error);
    expect(mapPrismaError(duplicate)).toEqual(expect.any(DomainError));
    expect((mapPrismaError(duplicate) as DomainError).code).toBe('CONFLICT');
    await prisma.$executeRaw`DROP TABLE cx_pg_tx_probe`;
  });

  it('recognises a lock timeout as a lock conflict', async () => {
    const id = randomUUID();
    await prisma.$executeRaw`CREATE TABLE IF NOT EXISTS cx_pg_tx_lock (id uuid PRIMARY KEY)`;
    await prisma.$executeRaw`INSERT INTO cx_pg_tx_lock (id) VALUES (${id}::uuid)`;
    try {
      let release!: () => void;
      const held = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = prisma.$transaction(async (tx) => {
        await tx.$executeRaw`SELECT 1 FROM cx_pg_tx_lock WHERE id = ${id}::uuid FOR UPDATE`;
        locked();
        await held;
      });
      await isLocked;
      const conflict = await txHost
        .withTransaction(Propagation.RequiresNew, pg, async () => {
          await txHost.tx.$executeRaw`SELECT set_config('lock_timeout', '50ms', true)`;
          await txHost.tx.$executeRaw`UPDATE cx_pg_tx_lock SET id = id WHERE id = ${id}::uuid`;
        })
        .catch((error: unknown) => error);
      release();
      await holder;
      expect(isLockConflict(conflict)).toBe(true);
    } finally {
      await prisma.$executeRaw`DROP TABLE cx_pg_tx_lock`;
    }
  });

  // The timer alone refuses only the next statement: one in flight (here a sleep, in production a
  // lock wait) would run on, and the unit would then commit past its time.
  it('cancels a statement still running when the unit’s time is up, and answers DATABASE_BUSY', async () => {
    const outcome = await txHost
      .withTransaction(Propagation.RequiresNew, { driver: 'pg', timeout: 200 }, async () => {
        await txHost.tx.$queryRaw`SELECT pg_sleep(30)`;
        return 'committed';
      })
      .catch((error: unknown) => error);
    // query_canceled: the server ended the sleep; without the timeout it would have committed.
    expect(outcome).toMatchObject({ code: '57014' });
    expect(mapPrismaError(outcome)).toMatchObject({
      code: 'SERVICE_UNAVAILABLE',
      details: { reason: 'DATABASE_BUSY' },
    });
    // The connection went back usable: the pool still answers.
    expect(await prisma.$queryRaw<Array<{ one: number }>>`SELECT 1::int AS one`).toEqual([{ one: 1 }]);
  });

  it('refuses what only Prisma’s client has, naming it', async () => {
    await expect(
      txHost.withTransaction(Propagation.RequiresNew, pg, async () => txHost.tx.market.count()),
    ).rejects.toThrow(/market is not available in a raw pg transaction/);
  });

  // BEGIN costs no round trip of its own (docs/ARCHITECTURE.md "Raw pg transactions"): it goes in
  // the first statement's write, after that statement's Parse when the connection has none yet.
  it('opens a transaction with its first statement, in the same round trip', async () => {
    const connection = await prisma.pool.connect();
    const query = connection.query.bind(connection) as (config: unknown) => Promise<unknown>;
    let roundTrips = 0;
    (connection as unknown as { query: (config: unknown) => Promise<unknown> }).query = (config) => {
      roundTrips += 1;
      return query(config);
    };
    const tag = randomUUID();
    const probe = (client: PgTxClient) =>
      client.$queryRaw<Array<{ xid: string; timeout: string }>>`
        SELECT pg_current_xact_id()::text AS xid, current_setting('statement_timeout') AS timeout,
               ${tag}::text AS tag`;
    const unit = async (): Promise<{ first: string; second: string; timeout: string; trips: number }> => {
      const client = new PgTxClient(connection, prisma.statementNames);
      client.beginWithFirstStatement(4_321);
      roundTrips = 0;
      const [first] = await probe(client);
      const trips = roundTrips;
      const [second] = await probe(client);
      expect(await client.inTransaction()).toBe(true);
      await connection.query('COMMIT');
      return { first: first!.xid, second: second!.xid, timeout: first!.timeout, trips };
    };
    try {
      // The statement is new to this connection (its text holds a fresh uuid), then parsed.
      const unparsed = await unit();
      const parsed = await unit();
      for (const run of [unparsed, parsed]) {
        expect(run.trips).toBe(1);
        // One transaction (autocommit would give each statement its own), under the unit's time.
        expect(run.second).toBe(run.first);
        expect(run.timeout).toBe('4321ms');
      }
      expect(parsed.first).not.toBe(unparsed.first);

      // A first statement that fails when it runs leaves an aborted transaction to roll back.
      const divide = (client: PgTxClient) =>
        client.$queryRaw`SELECT 1 / ${0}::int AS never, ${tag}::text AS tag`;
      const failing = new PgTxClient(connection, prisma.statementNames);
      failing.beginWithFirstStatement(1_000);
      await expect(divide(failing)).rejects.toMatchObject({ code: '22012' });
      expect(await failing.inTransaction()).toBe(true);
      await expect(connection.query('SELECT 1')).rejects.toMatchObject({ code: '25P02' });
      await connection.query('ROLLBACK');

      const status = async (): Promise<string> => {
        const { rows } = await connection.query<{ status: string }>(
          `SELECT CASE WHEN pg_current_xact_id_if_assigned() IS NULL AND now() = statement_timestamp()
                  THEN 'none' ELSE 'open' END AS status`,
        );
        return rows[0]!.status;
      };
      // One whose Parse fails opens nothing, and is not taken for parsed: the same text fails alike.
      for (let attempt = 0; attempt < 2; attempt += 1) {
        const broken = new PgTxClient(connection, prisma.statementNames);
        broken.beginWithFirstStatement(1_000);
        await expect(
          broken.$queryRaw`SELECT no_such_column_${Prisma.raw(tag.slice(0, 8))}`,
        ).rejects.toMatchObject({
          code: '42703',
        });
        expect(await status()).toBe('none');
      }

      // A unit that sends nothing opens nothing.
      const idle = new PgTxClient(connection, prisma.statementNames);
      idle.beginWithFirstStatement(1_000);
      expect(await idle.inTransaction()).toBe(false);
      expect(await status()).toBe('none');
    } finally {
      connection.release();
    }
  });

  it('sends statements a unit starts together one at a time, in call order', async () => {
    const connection = await prisma.pool.connect();
    const query = connection.query.bind(connection) as (config: unknown) => Promise<unknown>;
    let inFlight = 0;
    let most = 0;
    // The connection itself, counted: `pg` would queue a second statement on a busy client (a
    // path it deprecates); the client must not hand it one.
    (connection as unknown as { query: (config: unknown) => Promise<unknown> }).query = (config) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      return query(config).finally(() => (inFlight -= 1));
    };
    try {
      const client = new PgTxClient(connection, prisma.statementNames);
      const rows = await Promise.all(
        [30, 0, 10].map(
          (ms, i) =>
            client.$queryRaw<Array<{ i: number; at: Date }>>`
            SELECT ${i}::int AS i, clock_timestamp() AS at FROM pg_sleep(${ms / 1000}::float8)`,
        ),
      );
      expect(most).toBe(1);
      expect(rows.map(([row]) => row!.i)).toEqual([0, 1, 2]);
      const at = rows.map(([row]) => row!.at.getTime());
      expect(at[1]).toBeGreaterThanOrEqual(at[0]!);
      expect(at[2]).toBeGreaterThanOrEqual(at[1]!);
      // A refused statement does not stop the ones after it.
      client.expire('the test expired it');
      await expect(client.$queryRaw`SELECT 1`).rejects.toThrow('the test expired it');
    } finally {
      connection.release();
    }
  });
});
