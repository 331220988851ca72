import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyLocksModule } from './idempotency-locks.module';
import { IdempotencyRecordsModule } from './idempotency-records.module';

/** The HTTP side: the global interceptor enforcing Idempotency-Key on @Idempotent() routes. */
@Module({
  imports: [IdempotencyRecordsModule, IdempotencyLocksModule],
  providers: [{ provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor }],
})
export class IdempotencyModule {}
