import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import type { Prisma } from '../../generated/prisma/client.js';
import type { PrismaService } from '../prisma/prisma.service';

export interface StoredResponse {
  fingerprint: string;
  statusCode: number;
  responseBody: unknown;
  expiresAt: Date;
}

@Injectable()
export class IdempotencyRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterPrisma<PrismaService>>) {}

  async find(scope: string, key: string): Promise<StoredResponse | null> {
    return this.txHost.tx.idempotencyRecord.findUnique({
      where: { scope_key: { scope, key } },
      select: { fingerprint: true, statusCode: true, responseBody: true, expiresAt: true },
    });
  }

  async store(record: {
    scope: string;
    key: string;
    fingerprint: string;
    statusCode: number;
    responseBody: Prisma.InputJsonValue;
    at: Date;
    expiresAt: Date;
  }): Promise<void> {
    await this.txHost.tx.idempotencyRecord.upsert({
      where: { scope_key: { scope: record.scope, key: record.key } },
      // An expired record under the same key is replaced; a live one never reaches here.
      update: {
        fingerprint: record.fingerprint,
        statusCode: record.statusCode,
        responseBody: record.responseBody,
        createdAt: record.at,
        expiresAt: record.expiresAt,
      },
      create: {
        scope: record.scope,
        key: record.key,
        fingerprint: record.fingerprint,
        statusCode: record.statusCode,
        responseBody: record.responseBody,
        createdAt: record.at,
        expiresAt: record.expiresAt,
      },
    });
  }

  async systemDeleteExpired(now: Date): Promise<number> {
    const { count } = await this.txHost.tx.idempotencyRecord.deleteMany({
      where: { expiresAt: { lt: now } },
    });
    return count;
  }
}
