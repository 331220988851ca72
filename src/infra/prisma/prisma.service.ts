import { Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { PrismaPg } from '@prisma/adapter-pg';
import { PrismaClient } from '../../generated/prisma/client.js';
import { AppConfig } from '../config/app-config';

/** The one Prisma client of a process, on the `pg` driver adapter (no native engine). */
@Injectable()
export class PrismaService extends PrismaClient implements OnApplicationShutdown {
  constructor(config: AppConfig) {
    super({
      adapter: new PrismaPg({
        connectionString: config.env.DATABASE_URL,
        max: config.env.DATABASE_POOL_MAX,
        connectionTimeoutMillis: 5_000,
      }),
    });
  }

  // The last shutdown phase: jobs drained in beforeApplicationShutdown still need the database.
  async onApplicationShutdown(): Promise<void> {
    await this.$disconnect();
  }
}
