import { Injectable } from '@nestjs/common';
import { Propagation, Transactional } from '@nestjs-cls/transactional';
import { Clock } from '../../infra/clock/clock';
import type { JsonObject } from '../events/domain/event-catalogue';
import { AuditRepository } from './audit.repository';

/** Every admin mutation records who did what to which object, in the mutation's transaction. */
@Injectable()
export class AuditService {
  constructor(
    private readonly audit: AuditRepository,
    private readonly clock: Clock,
  ) {}

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
