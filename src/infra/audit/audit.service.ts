import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { Clock } from '@/infra/clock/clock';
import type { JsonObject } from '@/infra/events/event-catalogue';
import { CursorCodec } from '@/infra/pagination/cursor-codec';
import { DomainError } from '@/shared/domain-error';
import { AuditRepository } from './audit.repository';
import type { AuditPageResponse, AuditQuery } from './audit.dto';

/** Every admin mutation records who did what to which object, in the mutation's transaction. */
@Injectable()
export class AuditService {
  constructor(
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
    private readonly cursors: CursorCodec,
  ) {}

  /** GET /admin/audit: newest first, filtered by actor, target, action and time range. */
  async listEntries(query: AuditQuery): Promise<AuditPageResponse> {
    const from = query.from === undefined ? undefined : new Date(query.from);
    const to = query.to === undefined ? undefined : new Date(query.to);
    if (from && to && from >= to) {
      throw new DomainError('VALIDATION_FAILED', 'from must be before to.', { field: 'from' });
    }
    const limit = this.cursors.limit(query.limit);
    const rows = await this.audit.adminListEntries(
      {
        ...(query.actor ? { actorUserId: query.actor } : {}),
        ...(query.targetType ? { targetType: query.targetType } : {}),
        ...(query.targetId ? { targetId: query.targetId } : {}),
        ...(query.action ? { action: query.action } : {}),
        ...(from ? { from } : {}),
        ...(to ? { to } : {}),
      },
      limit,
      this.cursors.decode(query.cursor),
    );
    const emails = await this.audit.adminActorEmails([...new Set(rows.map((row) => row.actorUserId))]);
    return this.cursors.page(rows, limit, (row) => ({
      id: row.id,
      createdAt: row.createdAt.toISOString(),
      actorUserId: row.actorUserId,
      actorEmail: emails.get(row.actorUserId) ?? null,
      action: row.action,
      targetType: row.targetType,
      targetId: row.targetId,
      details: (row.details ?? {}) as Record<string, unknown>,
    }));
  }

  @Transactional(Propagation.Mandatory)
  async record(
    actorUserId: string,
    action: string,
    target: { type: string; id: string },
    details: JsonObject = {},
  ): Promise<void> {
    await this.audit.append({
      actorUserId,
      action,
      targetType: target.type,
      targetId: target.id,
      details,
      at: this.clock.now(),
    });
  }
}
