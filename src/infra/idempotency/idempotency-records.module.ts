import { Module } from '@nestjs/common';
import { IdempotencyRepository } from './idempotency.repository';

/** The stored responses, for the API interceptor and the worker's pruning job alike. */
@Module({ providers: [IdempotencyRepository], exports: [IdempotencyRepository] })
export class IdempotencyRecordsModule {}
