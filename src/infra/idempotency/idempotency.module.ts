import { Module } from '@nestjs/common';
import { APP_INTERCEPTOR } from '@nestjs/core';
import { IdempotencyInterceptor } from './idempotency.interceptor';
import { IdempotencyRecordsModule } from './idempotency-records.module';

/** The HTTP side: the global interceptor enforcing Idempotency-Key on @Idempotent() routes. */
@Module({
  imports: [IdempotencyRecordsModule],
  providers: [{ provide: APP_INTERCEPTOR, useClass: IdempotencyInterceptor }],
})
export class IdempotencyModule {}
