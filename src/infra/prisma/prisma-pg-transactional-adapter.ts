import type { TransactionalAdapter } from '@nestjs-cls/transactional';
import { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import type { PoolClient } from 'pg';
import { PgTxClient } from './pg-tx-client';
import { PrismaService } from './prisma.service';

type PrismaAdapter = TransactionalAdapterPrisma<PrismaService>;
type PrismaTxClient = PrismaAdapter extends TransactionalAdapter<PrismaService, infer T, unknown> ? T : never;
type PrismaTxOptions = NonNullable<PrismaAdapter['defaultTxOptions']>;

/**
 * A unit of work's options: Prisma's (the default driver), or `driver: 'pg'` for a raw `pg`
 * transaction on the same pool (docs/ARCHITECTURE.md "Raw pg transactions").
 */
export type TxOptions =
  | (PrismaTxOptions & { driver?: 'prisma' })
  | {
      driver: 'pg';
      /**
       * Past it, the unit's next statement fails and it rolls back; default
       * DATABASE_TX_TIMEOUT_MS. PostgreSQL cancels any one statement that runs longer
       * (`statement_timeout`, set with BEGIN), so a statement in flight at that time (waiting on
       * a lock, say) ends too, and the unit lasts at most about twice its time.
       */
      timeout?: number;
      /**
       * No BEGIN: each statement commits by itself. Only for a unit of one statement (atomic on
       * its own) that should cost one round trip; a `Propagation.Mandatory` callee would take it
       * for a transaction. Its statements run under the server's `statement_timeout`, not the
       * unit's time.
       */
      autocommit?: boolean;
    };

/**
 * The transaction mechanism (`TransactionsModule`): `@nestjs-cls/transactional`'s Prisma
 * adapter, and beside it raw `pg` transactions on the Prisma client's own pool, chosen per unit
 * of work with `{ driver: 'pg' }`. Inside one, `TransactionHost.tx` is a `PgTxClient`: the
 * repositories' `$queryRaw` / `$executeRaw` run unchanged, as named prepared statements, without
 * Prisma's per-statement work. One connection per unit, BEGIN ... COMMIT, ROLLBACK on any error
 * (a connection whose ROLLBACK fails is closed, never reused).
 */
export class PrismaPgTransactionalAdapter implements TransactionalAdapter<
  PrismaService,
  PrismaTxClient,
  TxOptions
> {
  readonly connectionToken = PrismaService;
  private readonly prisma = new TransactionalAdapterPrisma<PrismaService>({
    prismaInjectionToken: PrismaService,
  });

  readonly optionsFactory = (
    service: PrismaService,
  ): ReturnType<TransactionalAdapter<PrismaService, PrismaTxClient, TxOptions>['optionsFactory']> => {
    const prisma = this.prisma.optionsFactory(service);
    return {
      wrapWithTransaction: (options, fn, setTx) =>
        options?.driver === 'pg'
          ? runOnPg(service, options, fn, setTx)
          : prisma.wrapWithTransaction(withoutDriver(options), fn, setTx),
      getFallbackInstance: () => service,
    };
  };
}

function withoutDriver(options: TxOptions | undefined): PrismaTxOptions {
  if (options === undefined) return {};
  const { driver: _driver, ...prisma } = options as PrismaTxOptions & { driver?: string };
  return prisma;
}

async function runOnPg<T>(
  service: PrismaService,
  options: Extract<TxOptions, { driver: 'pg' }>,
  fn: () => Promise<T>,
  setTx: (client?: PrismaTxClient) => void,
): Promise<T> {
  const connection: PoolClient = await service.pool.connect();
  const client = new PgTxClient(connection, service.statementNames);
  let broken: Error | undefined;
  const timeoutMs = options.timeout ?? service.transactionTimeoutMs;
  const timer = setTimeout(() => client.expire(`the transaction ran past its ${timeoutMs} ms`), timeoutMs);
  try {
    if (options.autocommit) {
      setTx(client.asPrismaClient<PrismaTxClient>());
      return await fn();
    }
    // No round trip of its own: BEGIN goes with the first statement, and with it the unit's time,
    // which bounds each of its statements on the server as well.
    client.beginWithFirstStatement(timeoutMs);
    try {
      setTx(client.asPrismaClient<PrismaTxClient>());
      const result = await fn();
      if (await client.inTransaction()) await connection.query('COMMIT');
      return result;
    } catch (error) {
      // A failed COMMIT has ended the transaction already; ROLLBACK then only warns.
      if (await client.inTransaction()) {
        await connection.query('ROLLBACK').catch((rollback: unknown) => {
          broken = rollback as Error;
        });
      }
      throw error;
    }
  } finally {
    clearTimeout(timer);
    connection.release(broken);
  }
}
