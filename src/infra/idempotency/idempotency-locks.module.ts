import { Module } from '@nestjs/common';
import { IdempotencyLocks } from './idempotency-locks';

/** The in-flight locks, shared by the idempotency interceptor and the rate limiter that takes them. */
@Module({ providers: [IdempotencyLocks], exports: [IdempotencyLocks] })
export class IdempotencyLocksModule {}
