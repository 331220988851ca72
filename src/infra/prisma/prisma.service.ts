import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@/generated/prisma/client';
import { AppConfig } from '@/infra/config/app-config';
import { BoundedPool } from './bounded-pool';
import { DatabasePool } from './database-pool';
import { StatementNames } from './statement-names';

/** The one Prisma client of a process, on the `pg` driver adapter (no native engine). */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  /** The connections under the client: its gauges (in use, waiting) show load. */
  readonly pool: BoundedPool;
  /** The process's names of prepared statements, shared by the client and raw pg transactions. */
  readonly statementNames: StatementNames;
  /** How long a transaction may take (DATABASE_TX_TIMEOUT_MS). */
  readonly transactionTimeoutMs: number;

  constructor(config: AppConfig, settings: DatabasePool) {
    const pool = new BoundedPool(
      {
        connectionString: config.env.DATABASE_URL,
        max: settings.max,
        // A query outside a transaction waits for a connection as long as a transaction may.
        connectionTimeoutMillis: settings.maxWaitMs,
        // 0: pg never closes an idle connection (its default closes one after 10 s).
        idleTimeoutMillis: settings.idleTimeoutMs,
      },
      settings.queueMax,
    );
    const statementNames = new StatementNames();
    super({
      adapter: new PrismaPg(pool, {
        disposeExternalPool: true,
        // Named statements are planned once per connection, not on every execution.
        statementNameGenerator: statementNames.nameOf,
      }),
      transactionOptions: { maxWait: settings.maxWaitMs, timeout: settings.transactionTimeoutMs },
    });
    this.pool = pool;
    this.statementNames = statementNames;
    this.transactionTimeoutMs = settings.transactionTimeoutMs;
  }

  // The last shutdown phase: jobs drained in beforeApplicationShutdown still need the database.
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
