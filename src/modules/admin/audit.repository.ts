import { Injectable } from '@nestjs/common';
import { TransactionHost } from '@nestjs-cls/transactional';
import type { TransactionalAdapterPrisma } from '@nestjs-cls/transactional-adapter-prisma';
import type { PrismaService } from '../../infra/prisma/prisma.service';
import type { JsonObject } from '../events/domain/event-catalogue';

@Injectable()
export class AuditRepository {
  constructor(private readonly txHost: TransactionHost<TransactionalAdapterPrisma<PrismaService>>) {}

  async append(entry: {
    actorUserId: string;
    action: string;
    targetType: string;
    targetId: string;
    details: JsonObject;
    at: Date;
  }): Promise<void> {
    await this.txHost.tx.auditLogEntry.create({
      data: {
        actorUserId: entry.actorUserId,
        action: entry.action,
        targetType: entry.targetType,
        targetId: entry.targetId,
        details: entry.details,
        createdAt: entry.at,
      },
    });
  }
}
