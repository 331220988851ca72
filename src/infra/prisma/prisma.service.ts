import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '@/generated/prisma/client';
import { AppConfig } from '@/infra/config/app-config';
import { DatabasePool } from './database-pool';
import { StatementNames } from './statement-names';

/** The one Prisma client of a process, on the `pg` driver adapter (no native engine). */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(config: AppConfig, pool: DatabasePool) {
    super({
      adapter: new PrismaPg(
        {
          connectionString: config.env.DATABASE_URL,
          max: pool.max,
          // A query outside a transaction waits for a connection as long as a transaction may.
          connectionTimeoutMillis: pool.maxWaitMs,
        },
        // Named statements are planned once per connection, not on every execution.
        { statementNameGenerator: new StatementNames().nameOf },
      ),
      transactionOptions: { maxWait: pool.maxWaitMs, timeout: pool.transactionTimeoutMs },
    });
  }

  // The last shutdown phase: jobs drained in beforeApplicationShutdown still need the database.
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
