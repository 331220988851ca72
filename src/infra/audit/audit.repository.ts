import { Injectable } from '@nestjs/common';
import { afterPosition, NEWEST_FIRST, type KeysetPosition } from '@/infra/pagination/cursor-codec';
import type { JsonObject } from '@/infra/events/event-catalogue';
import { Tx } from '@/infra/prisma/tx';

export interface AuditRecord {
  id: string;
  actorUserId: string;
  action: string;
  targetType: string;
  targetId: string;
  details: unknown;
  createdAt: Date;
}

export interface AuditFilter {
  actorUserId?: string;
  targetType?: string;
  targetId?: string;
  action?: string;
  from?: Date;
  to?: Date;
}

@Injectable()
export class AuditRepository {
  constructor(private readonly txHost: Tx) {}

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

  /** The audit log across every admin, newest first (admin read). */
  async adminListEntries(
    filter: AuditFilter,
    limit: number,
    after: KeysetPosition | undefined,
  ): Promise<AuditRecord[]> {
    const createdAt = {
      ...(filter.from ? { gte: filter.from } : {}),
      ...(filter.to ? { lt: filter.to } : {}),
    };
    return this.txHost.tx.auditLogEntry.findMany({
      where: {
        ...(filter.actorUserId ? { actorUserId: filter.actorUserId } : {}),
        ...(filter.targetType ? { targetType: filter.targetType } : {}),
        ...(filter.targetId ? { targetId: filter.targetId } : {}),
        ...(filter.action ? { action: filter.action } : {}),
        ...(filter.from || filter.to ? { createdAt } : {}),
        ...afterPosition(after),
      },
      orderBy: NEWEST_FIRST,
      take: limit + 1,
    });
  }

  /** Emails of the admins of a page of entries, by user id. */
  async adminActorEmails(userIds: readonly string[]): Promise<Map<string, string>> {
    if (userIds.length === 0) return new Map();
    const users = await this.txHost.tx.user.findMany({
      where: { id: { in: [...userIds] } },
      select: { id: true, email: true },
    });
    return new Map(users.map((user) => [user.id, user.email]));
  }
}
