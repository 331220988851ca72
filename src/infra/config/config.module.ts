import { DynamicModule, Global, Module } from '@nestjs/common';
import { DatabasePool } from '@/infra/prisma/database-pool';
import { AppConfig } from './app-config';

@Global()
@Module({})
export class ConfigModule {
  /** `roles` size the database pool; without them it fits a process running both. */
  static forRoot(config: AppConfig, roles = { api: true, worker: true }): DynamicModule {
    return {
      module: ConfigModule,
      providers: [
        { provide: AppConfig, useValue: config },
        { provide: DatabasePool, useValue: DatabasePool.of(config, roles) },
      ],
      exports: [AppConfig, DatabasePool],
    };
  }
}
